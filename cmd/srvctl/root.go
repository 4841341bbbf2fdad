package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/srvctl/srvctl/config"
)

// Exit statuses.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // plan --detailed-exitcode: changes pending
)

// exitStatus is an error that carries the exit status it should cause. A
// nil err means the status is not a failure (e.g. changes pending).
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// globals are the flags every command shares, and what is built from them.
type globals struct {
	args       []string // the command line, for errors found before flags are parsed
	configPath string
	env        []string
	stdout     io.Writer
	stderr     io.Writer
	level      zap.AtomicLevel // the logger's level, set by load
}

// run executes srvctl with args and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) int {
	g := &globals{args: args, stdout: stdout, stderr: stderr, env: env}
	root := &cobra.Command{
		Use:   "srvctl",
		Short: "Publish and audit the DNS SRV records of Microsoft KMS hosts",
		Long: `srvctl keeps the _vlmcs._tcp SRV records that let Windows clients find their
KMS hosts right in every DNS zone where clients look, through TSIG-signed
RFC 2136 dynamic updates.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&g.configPath, "config", "c", "", "config file (default $SRVCTL_CONFIG, else /etc/srvctl/srvctl.yaml)")
	pf.String("log-level", "", "log level: debug, info, warn, error (default info)")
	pf.String("log-format", "", "log format: console or json (default console on a terminal, json otherwise)")

	root.AddCommand(newValidateCmd(g), newPlanCmd(g, false), newPlanCmd(g, true), newAuditCmd(g), newADCmd(g), newRunCmd(g), newRenderCmd(g), newVersionCmd(g))

	err := root.ExecuteContext(ctx)
	var es *exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &es):
		if es.err != nil {
			fmt.Fprintf(stderr, "srvctl: %v\n", es.err)
		}
		return es.code
	default:
		fmt.Fprintf(stderr, "srvctl: %v\n", err)
		return exitError
	}
}

// load reads the config named by the flags and environment and builds the
// logger it asks for.
func (g *globals) load(cmd *cobra.Command, noSecrets bool) (*config.Config, *zap.Logger, error) {
	return g.loadWith(cmd, config.LoadOptions{NoSecrets: noSecrets})
}

// loadWith is load with more LoadOptions (Path, Flags and Env are set
// here).
func (g *globals) loadWith(cmd *cobra.Command, opts config.LoadOptions) (*config.Config, *zap.Logger, error) {
	opts.Path, opts.Flags, opts.Env = g.configPath, cmd.Flags(), g.env
	cfg, err := config.Load(opts)
	if err != nil {
		return nil, nil, err
	}
	g.level = zap.NewAtomicLevel()
	log, err := newLogger(g.stderr, g.level, cfg.LogLevel, cfg.LogFormat, journalStream(g.stderr, g.env))
	if err != nil {
		return nil, nil, err
	}
	return cfg, log, nil
}

// loadConfig reads the config named by the flags and environment.
func (g *globals) loadConfig(cmd *cobra.Command, noSecrets bool) (*config.Config, error) {
	return config.Load(config.LoadOptions{
		Path:      g.configPath,
		Flags:     cmd.Flags(),
		Env:       g.env,
		NoSecrets: noSecrets,
	})
}

// newLogger builds the one logger of the process, at the level held by lvl
// (set here to level, and changeable later): JSON for machines (journald,
// log shippers), console for a person at a terminal. When journal is true
// (stderr is systemd's journal stream), each line starts with its syslog
// priority, <3> to <7>, which journald strips and keeps as PRIORITY, so
// journalctl -p works.
func newLogger(w io.Writer, lvl zap.AtomicLevel, level, format string, journal bool) (*zap.Logger, error) {
	if err := setLevel(lvl, level); err != nil {
		return nil, err
	}
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "console"
		}
	}
	var enc zapcore.Encoder
	switch format {
	case "json":
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		if !isTerminal(w) {
			ec.EncodeLevel = zapcore.CapitalLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("log format %q: want console or json", format)
	}
	out := zapcore.Lock(zapcore.AddSync(w))
	if !journal {
		return zap.New(zapcore.NewCore(enc, out, lvl)), nil
	}
	// One core per syslog priority; zap writes each entry in one Write.
	var cores []zapcore.Core
	for _, p := range []struct {
		prefix string
		match  func(zapcore.Level) bool
	}{
		{"<7>", func(l zapcore.Level) bool { return l == zapcore.DebugLevel }},
		{"<6>", func(l zapcore.Level) bool { return l == zapcore.InfoLevel }},
		{"<4>", func(l zapcore.Level) bool { return l == zapcore.WarnLevel }},
		{"<3>", func(l zapcore.Level) bool { return l >= zapcore.ErrorLevel }},
	} {
		enable := zap.LevelEnablerFunc(func(l zapcore.Level) bool { return p.match(l) && lvl.Enabled(l) })
		cores = append(cores, zapcore.NewCore(enc.Clone(), prefixWriter{p.prefix, out}, enable))
	}
	return zap.New(zapcore.NewTee(cores...)), nil
}

// setLevel sets lvl from a config's log_level ("" = info).
func setLevel(lvl zap.AtomicLevel, level string) error {
	l, err := zapcore.ParseLevel(level)
	if level == "" {
		l, err = zapcore.InfoLevel, nil
	}
	if err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	lvl.SetLevel(l)
	return nil
}

// prefixWriter writes prefix before each write (each log entry).
type prefixWriter struct {
	prefix string
	w      zapcore.WriteSyncer
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (p prefixWriter) Sync() error { return p.w.Sync() }

// journalStream reports whether w is the journal stream systemd gave the
// service: $JOURNAL_STREAM names its device and inode.
func journalStream(w io.Writer, env []string) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	var js string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "JOURNAL_STREAM="); ok {
			js = v
		}
	}
	if js == "" {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return js == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
