package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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

	root.AddCommand(newValidateCmd(g), newPlanCmd(g, false), newPlanCmd(g, true), newAuditCmd(g), newRenderCmd(g), newVersionCmd(g))

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
	cfg, err := config.Load(config.LoadOptions{
		Path:      g.configPath,
		Flags:     cmd.Flags(),
		Env:       g.env,
		NoSecrets: noSecrets,
	})
	if err != nil {
		return nil, nil, err
	}
	log, err := newLogger(g.stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return nil, nil, err
	}
	return cfg, log, nil
}

// newLogger builds the one logger of the process: JSON for machines
// (journald, log shippers), console for a person at a terminal.
func newLogger(w io.Writer, level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if level == "" {
		lvl, err = zapcore.InfoLevel, nil
	}
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
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
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
