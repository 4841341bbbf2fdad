// Package bindtest starts a real BIND named on loopback for tests, the demo
// and the benchmarks: a free port, a temporary directory, generated TSIG
// keys, and dynamic primary zones whose update-policy grants every key the
// SRV RRset at _vlmcs._tcp.<zone>, and nothing else.
//
// The instance is named's own: `named -g -4 -c DIR/named.conf -p PORT`
// without -u, logging to DIR/named.log, with every file it reads or writes
// in DIR. Because named binds its port with SO_REUSEPORT, a second named
// on the same port would start silently and share the queries; each
// instance therefore serves a random sentinel zone, and Launch only returns
// once that zone, and every configured zone, is answered with authority.
package bindtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Defaults of Options.
const (
	// DefaultKey is the key generated when Options.Keys is empty.
	DefaultKey = "srvctl-test"
	// DefaultAlgorithm is the TSIG algorithm when Options.Algorithm is "".
	DefaultAlgorithm = "hmac-sha256"
	// DefaultPolicy is the least-privilege grant srvctl needs: the SRV
	// RRset at exactly _vlmcs._tcp.<zone>. {key} is a key name, {zone}
	// the absolute zone name (trailing dot).
	DefaultPolicy = `grant "{key}" name _vlmcs._tcp.{zone} SRV;`
)

// How long things may take.
const (
	startTimeout = 30 * time.Second // Launch, all attempts together
	stopTimeout  = 5 * time.Second  // SIGTERM to SIGKILL
	queryTimeout = 5 * time.Second  // Query, SRV, Serial
	nsupdateTime = 30 * time.Second // one NSUpdate
	maxAttempts  = 5                // ports tried when another named answers
)

// installHint says how to get the BIND binaries.
const installHint = "apt-get install -y bind9 bind9-dnsutils"

// Options describe the named instance. The zero value serves no zone of
// its own (only the sentinel) and knows one key, DefaultKey.
type Options struct {
	// Zones are dynamic primary zones, with or without the trailing dot.
	// Each has its own file and journal in Dir, an SOA, NS ns.<zone> and
	// ns.<zone> A 127.0.0.1.
	Zones []string
	// Keys are the TSIG keys to generate (32 random bytes each); default
	// {DefaultKey}. Every key gets the Policy grant in every zone of
	// Zones.
	Keys []string
	// Algorithm of every key; default DefaultAlgorithm.
	Algorithm string
	// Policy is the update-policy rule written once per key and zone,
	// with {key} and {zone} placeholders; "" means DefaultPolicy. It may
	// hold several rules. A template without {key} (e.g. a grant for one
	// key of Keys, so that the others are known to named but not allowed)
	// is written once per zone.
	Policy string
	// Records are extra RRs per zone (of Zones or Static; the map key
	// with or without the trailing dot), in zone-file syntax with
	// absolute owner names, e.g. "www.corp.example.com. 300 IN A
	// 192.0.2.1". They are in the zone file named loads at start.
	Records map[string][]string
	// Static zones are served without update-policy or allow-update:
	// every update to them is refused.
	Static []string
	// Options are extra statements for named's options block, e.g.
	// "minimal-responses yes;", to play servers configured otherwise.
	Options []string
	// Conf are extra top-level statements written verbatim at the end of
	// named.conf, e.g. a zone block for a static zone whose file the
	// caller wrote, or a secondary zone. Start does not wait for their
	// zones: poll with Query.
	Conf []string
	// Rndc opens named's control channel on another free loopback port
	// with a generated key, for Server.Rndc and Server.RndcConf.
	Rndc bool
}

// Server is a running named. Its methods may be called concurrently.
type Server struct {
	Addr      string            // "127.0.0.1:PORT", TCP and UDP
	Port      int               // PORT
	Dir       string            // named.conf, named.log, keys/, zones/
	Secrets   map[string]string // key name (no trailing dot) -> base64 secret
	Algorithm string            // the keys' algorithm, e.g. "hmac-sha256"
	// RndcConf is the rndc.conf (key, server, port) for `rndc -c
	// RndcConf ...`, when Options.Rndc was set; "" otherwise.
	RndcConf string

	proc     *process // the named process that passed the readiness check
	ownDir   bool     // Stop removes Dir (Launch, not Start)
	stopOnce sync.Once
	stopErr  error
}

// NamedPath finds the named binary: in PATH, else in /usr/sbin or
// /usr/local/sbin (often not in a user's PATH).
func NamedPath() (string, error) {
	return findBinary("named")
}

// findBinary looks a BIND binary up in PATH and the sbin/bin directories
// Debian and a source build install to.
func findBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("bindtest: %s (BIND 9) is not installed; install it with `%s` (or run `make test` as root)", name, installHint)
}

// RequireNamed returns the path of named for a test that needs it. Without
// named the test fails when CI=true (a missing dependency must never pass
// CI) and is skipped, loudly, otherwise.
func RequireNamed(tb testing.TB) string {
	tb.Helper()
	named, err := NamedPath()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true and a real named is needed: %v", err)
		}
		tb.Skipf("SKIPPED: this test needs a real BIND named on loopback. %v", err)
	}
	return named
}

// Start launches named for a test or benchmark in tb.TempDir and stops it
// when the test ends. Without named the test fails when CI=true and is
// skipped, with a message saying how to install BIND, otherwise. Any other
// failure to start is fatal and shows the tail of named.log.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	named := RequireNamed(tb)
	s, err := launch(opts, tb.TempDir(), named)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("bindtest: stopping named: %v", err)
		}
	})
	return s
}

// Launch starts named like Start, outside a test: in a new temporary
// directory that Stop removes. The caller must call Stop.
func Launch(opts Options) (*Server, error) {
	named, err := NamedPath()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bindtest-")
	if err != nil {
		return nil, fmt.Errorf("bindtest: %w", err)
	}
	s, err := launch(opts, dir, named)
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	s.ownDir = true
	return s, nil
}

// launch writes keys, zones and named.conf into dir and starts named on a
// free port, trying other ports while another named answers on the one it
// got, until every zone is served or startTimeout has passed.
func launch(opts Options, dir, named string) (*Server, error) {
	cfg, err := newLayout(opts, dir)
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Secrets: make(map[string]string, len(cfg.keys)), Algorithm: cfg.algorithm}
	if err := cfg.writeFiles(s.Secrets); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(startTimeout)
	var errs []error
	copied := false
	for attempt := 1; attempt <= maxAttempts && time.Now().Before(deadline); attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, errors.Join(append(errs, err)...)
		}
		p, err := startNamed(cfg, named, port, deadline)
		if err == nil {
			s.proc, s.Port, s.Addr = p, p.port, p.addr
			if cfg.rndc {
				s.RndcConf = cfg.rndcConfFile()
			}
			return s, nil
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
		switch {
		case errors.Is(err, errPortTaken):
			// A new port on the next attempt.
		case errors.Is(err, errDenied) && !copied:
			// AppArmor confines /usr/sbin/named to its own directories; a
			// copy of the binary is not confined.
			if named, err = copyBinary(named, filepath.Join(dir, "named")); err != nil {
				return nil, errors.Join(append(errs, err)...)
			}
			copied = true
		default:
			return nil, errors.Join(errs...)
		}
	}
	return nil, errors.Join(append(errs, fmt.Errorf("bindtest: named did not start in %d attempts within %v", maxAttempts, startTimeout))...)
}

// Stop terminates named with SIGTERM, kills it if it has not exited after
// 5 s, waits for it, and removes Dir if Launch created it. It is
// idempotent: later calls return the first call's result. It reports named
// having died before Stop, or having to be killed.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if s.proc != nil {
			errs = append(errs, s.proc.stop())
		}
		if s.ownDir {
			errs = append(errs, os.RemoveAll(s.Dir))
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// KeyFile is the path of the mode-0600 file holding the key in
// tsig-keygen format (key "name" { algorithm ...; secret "..."; };),
// written at start. named includes the same file.
func (s *Server) KeyFile(name string) string {
	return keyFile(s.Dir, strings.TrimSuffix(name, "."))
}

// LogTail returns the last n lines of named.log.
func (s *Server) LogTail(n int) string {
	return logTail(filepath.Join(s.Dir, "named.log"), n)
}

// process is one named process.
type process struct {
	cmd  *exec.Cmd
	port int
	addr string
	log  string        // path of named.log
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, kills after stopTimeout, and waits.
func (p *process) stop() error {
	if p.exited() {
		return fmt.Errorf("bindtest: named on %s had exited before Stop (%v):\n%s", p.addr, p.err, logTail(p.log, 20))
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.exited() {
		return fmt.Errorf("bindtest: SIGTERM to named: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = p.cmd.Process.Kill() // fails only if named has just exited: done tells
	<-p.done
	return fmt.Errorf("bindtest: named on %s ignored SIGTERM for %v and was killed:\n%s", p.addr, stopTimeout, logTail(p.log, 20))
}

// logTail returns the last n lines of the file at path.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
