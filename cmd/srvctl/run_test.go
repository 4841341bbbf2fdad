package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/kmstest"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// TestMain removes the srvctl binary the signal tests build.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// srvctlBinary builds srvctl once for the tests that send it signals.
func srvctlBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "srvctl-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "srvctl")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// lockedBuffer is a bytes.Buffer safe for a writer and readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemon is a srvctl run process.
type daemon struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's error, set before exited is closed
}

func startDaemon(t *testing.T, srv *bindtest.Server, args ...string) *daemon {
	t.Helper()
	d := &daemon{stderr: &lockedBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(srvctlBinary(t), args...)
	d.cmd.Env = append(env, "SRVCTL_LOG_FORMAT=json")
	d.cmd.Stdout = io.Discard
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			d.cmd.Process.Kill()
			<-d.exited
		}
		for name, secret := range srv.Secrets {
			if strings.Contains(d.stderr.String(), secret) {
				t.Errorf("the secret of key %s appears in srvctl run's log", name)
			}
		}
		if t.Failed() {
			t.Logf("srvctl run log:\n%s", d.stderr.String())
		}
	})
	return d
}

func (d *daemon) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to exit (at most a minute) and returns its
// exit status.
func (d *daemon) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-d.exited:
		var ee *exec.ExitError
		if errors.As(d.err, &ee) {
			return ee.ExitCode()
		}
		if d.err != nil {
			t.Fatal(d.err)
		}
		return 0
	case <-time.After(time.Minute):
		t.Fatal("srvctl run did not exit within a minute of the signal")
		return -1
	}
}

// waitFor polls cond every 100ms for at most a minute (a bound on a wait,
// not a speed requirement).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the line of the sample named (labels included) in the
// Prometheus text, or "".
func metric(text, name string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name+" ") {
			return sc.Text()
		}
	}
	return ""
}

// runWorld: a named with a.test, b.test and c.test (empty) and hosts.test,
// a live KMS responder for kms1.hosts.test, and a config writer.
type runWorld struct {
	srv     *bindtest.Server
	kmsPort int
	listen  string
	dir     string
	keyfile string
}

func newRunWorld(t *testing.T) *runWorld {
	t.Helper()
	kms := kmstest.Start(t)
	srv := bindtest.Start(t, bindtest.Options{
		Zones:   []string{"a.test", "b.test", "c.test"},
		Static:  []string{"hosts.test"},
		Keys:    []string{key},
		Records: map[string][]string{"hosts.test": {"kms1.hosts.test. 300 IN A 127.0.0.1"}},
	})
	w := &runWorld{srv: srv, kmsPort: int(kms.Port), listen: fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir: t.TempDir()}
	data, err := os.ReadFile(srv.KeyFile(key))
	if err != nil {
		t.Fatal(err)
	}
	w.keyfile = filepath.Join(w.dir, "srvctl.key")
	if err := os.WriteFile(w.keyfile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// write writes the config (atomically, as an editor's save would) for the
// zones named and returns its path.
func (w *runWorld) write(t *testing.T, zoneNames ...string) string {
	t.Helper()
	var zs strings.Builder
	for _, z := range zoneNames {
		fmt.Fprintf(&zs, "  - name: %s\n    server: %s\n    key: %s\n    audit_servers: [%s]\n", z, w.srv.Addr, key, w.srv.Addr)
	}
	body := fmt.Sprintf(`schedule: "@every 1s"
listen: %s
hosts:
  - name: kms1.hosts.test
    port: %d
    weight: 10
keys:
  - name: %s
    secret_file: srvctl.key
audit:
  resolver: %s
  timeout: 1s
  state_file: %s
zones:
%s`, w.listen, w.kmsPort, key, w.srv.Addr, filepath.Join(w.dir, "state.json"), zs.String())
	return w.writeRaw(t, body)
}

func (w *runWorld) writeRaw(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(w.dir, "srvctl.yaml")
	if err := os.WriteFile(path+".new", []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunController is srvctl run end to end: it publishes, serves
// /healthz, /readyz and /metrics, picks up a new zone on SIGHUP, keeps
// the old config when the new one is invalid, and exits 0 on SIGTERM.
func TestRunController(t *testing.T) {
	w := newRunWorld(t)
	cfg := w.write(t, "a.test", "b.test")
	d := startDaemon(t, w.srv, "-c", cfg, "run")
	base := "http://" + w.listen
	want := []string{fmt.Sprintf("0 10 %d kms1.hosts.test.", w.kmsPort)}

	waitFor(t, "/readyz to report a successful run", func() bool {
		code, body := httpGet(base + "/readyz")
		return code == 200 && strings.Contains(body, "succeeded")
	})
	for _, z := range []string{"a.test", "b.test"} {
		if got := served(t, w.srv, z); !equal(got, want) {
			t.Errorf("%s serves %q, want %q", z, got, want)
		}
	}
	if code, body := httpGet(base + "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	_, m := httpGet(base + "/metrics")
	for _, name := range []string{`srvctl_zone_last_success_timestamp_seconds{zone="a.test."}`, "srvctl_live_targets", "process_open_fds", "go_goroutines"} {
		if metric(m, name) == "" {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if got := metric(m, `srvctl_changes_applied_total{action="add"}`); got != `srvctl_changes_applied_total{action="add"} 2` {
		t.Errorf("changes: %q, want 2 adds", got)
	}

	// SIGHUP with c.test added: published.
	w.write(t, "a.test", "b.test", "c.test")
	d.signal(t, syscall.SIGHUP)
	waitFor(t, "c.test published after SIGHUP", func() bool { return equal(served(t, w.srv, "c.test"), want) })
	_, m = httpGet(base + "/metrics")
	if got := metric(m, `srvctl_config_reloads_total{result="ok"}`); !strings.HasSuffix(got, " 1") {
		t.Errorf("reloads ok: %q, want 1", got)
	}

	// SIGHUP with an invalid config: logged, counted, the old one runs on.
	w.writeRaw(t, "hosts: []\nttl: forever\n")
	d.signal(t, syscall.SIGHUP)
	waitFor(t, "the failed reload in /metrics", func() bool {
		_, m := httpGet(base + "/metrics")
		return metric(m, `srvctl_config_reloads_total{result="failed"}`) == `srvctl_config_reloads_total{result="failed"} 1` &&
			metric(m, "srvctl_config_last_reload_success") == "srvctl_config_last_reload_success 0"
	})
	if !strings.Contains(d.stderr.String(), `"msg":"config reload failed: the previous config keeps running"`) ||
		!strings.Contains(d.stderr.String(), `ttl: \"forever\" is not a number`) {
		t.Errorf("the log does not say the reload failed and why")
	}
	// Runs go on with the old config: a record deleted by hand comes back.
	if err := w.srv.NSUpdate(key, "update delete _vlmcs._tcp.a.test. SRV\nsend\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a.test restored by the old config", func() bool { return equal(served(t, w.srv, "a.test"), want) })
	if code, _ := httpGet(base + "/readyz"); code != 200 {
		t.Errorf("/readyz after a failed reload: %d, want 200 (the old config runs fine)", code)
	}

	d.signal(t, syscall.SIGTERM)
	if code := d.wait(t); code != 0 {
		t.Errorf("exit status after SIGTERM: %d, want 0", code)
	}
	if !strings.Contains(d.stderr.String(), `"msg":"controller stopped"`) {
		t.Error("the log does not say the controller stopped")
	}
}

// TestRunStopMidRun sends SIGTERM while a run is applying 300 zones: srvctl
// exits 0 and every zone is either fully old (empty) or fully new (both
// records): an update is never half applied.
func TestRunStopMidRun(t *testing.T) {
	const n = 300
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("z%03d.test", i)
	}
	srv := bindtest.Start(t, bindtest.Options{Zones: names, Keys: []string{key}})
	var zs strings.Builder
	for _, z := range names {
		fmt.Fprintf(&zs, "  - name: %s\n    server: {server}\n    key: %s\n", z, key)
	}
	cfg := writeConfig(t, srv, fmt.Sprintf(`schedule: "@every 1h"
concurrency: 2
hosts:
  - name: kms1.example.com
  - name: kms2.example.com
keys:
  - name: %s
    secret_file: {keyfile}
audit:
  probe: none
  state_file: %s
zones:
%s`, key, filepath.Join(t.TempDir(), "state.json"), zs.String()))
	d := startDaemon(t, srv, "-c", cfg, "--log-level", "info", "run")
	waitFor(t, "the first zone applied", func() bool { return strings.Contains(d.stderr.String(), `"msg":"zone applied"`) })
	d.signal(t, syscall.SIGTERM)
	if code := d.wait(t); code != 0 {
		t.Fatalf("exit status after SIGTERM mid-run: %d, want 0", code)
	}
	var fresh, old int
	for _, z := range names {
		switch got := served(t, srv, z); len(got) {
		case 0:
			old++
		case 2:
			fresh++
		default:
			t.Errorf("%s holds %q: half applied", z, got)
		}
	}
	applied := strings.Count(d.stderr.String(), `"msg":"zone applied"`)
	t.Logf("SIGTERM mid-run: %d zones new, %d old, %d logged as applied", fresh, old, applied)
	if fresh != applied {
		t.Errorf("%d zones hold the new records but %d were logged as applied", fresh, applied)
	}
	if fresh == 0 {
		t.Error("no zone was applied before the stop")
	}
}

// TestRunOnce is the one-shot (srvctl-apply.service): one audit and apply,
// the textfile for node_exporter, exit 0; a failing zone makes it exit 1
// after the others were applied.
func TestRunOnce(t *testing.T) {
	w := newRunWorld(t)
	cfg := w.write(t, "a.test", "b.test")
	prom := filepath.Join(w.dir, "srvctl.prom")
	r := srvctl(t, w.srv, "-c", cfg, "run", "--once", "--prometheus-file", prom)
	if r.code != 0 {
		t.Fatalf("run --once: exit %d\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{`srvctl_runs_total{result="ok"} 1`, "srvctl_live_targets 1", `srvctl_changes_applied_total{action="add"} 2`, "srvctl_last_run_success 1"} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("textfile lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "go_goroutines") {
		t.Error("the one-shot textfile has the Go runtime's metrics")
	}

	cfg = w.write(t, "a.test", "nowhere.test", "c.test")
	r = srvctl(t, w.srv, "-c", cfg, "run", "--once")
	if r.code != 1 || !strings.Contains(r.stderr, "the run failed: 1 zone failed (nowhere.test)") {
		t.Errorf("run --once with a zone the server lacks: exit %d\n%s", r.code, r.stderr)
	}
	if got := served(t, w.srv, "c.test"); len(got) != 1 {
		t.Errorf("c.test holds %q: the failing zone stopped the others", got)
	}
}

// TestApplyPrometheusFile checks the one-shot apply's textfile.
func TestApplyPrometheusFile(t *testing.T) {
	srv := startThree(t, nil)
	cfg := writeConfig(t, srv, strings.ReplaceAll(threeZones, "{prune}", "none"))
	prom := filepath.Join(t.TempDir(), "apply.prom")
	r := srvctl(t, srv, "-c", cfg, "apply", "--prometheus-file", prom)
	if r.code != 0 {
		t.Fatalf("apply: %d\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`srvctl_changes_applied_total{action="add"} 6`, `srvctl_zone_last_run_success{zone="lab.example.org."} 1`, `srvctl_runs_total{result="ok"} 1`} {
		if !strings.Contains(string(data), want+"\n") {
			t.Errorf("textfile lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "srvctl_live_targets") {
		t.Error("apply's textfile has audit figures, but apply does not audit")
	}
}

// TestRenderSystemd checks the CLI side of render systemd: this config's
// key is read directly (an absolute secret_file), which the unit says.
func TestRenderSystemd(t *testing.T) {
	srv := startThree(t, nil)
	cfg := writeConfig(t, srv, strings.ReplaceAll(threeZones, "{prune}", "none"))
	r := srvctl(t, srv, "-c", cfg, "render", "systemd", "--binary", "/usr/local/bin/srvctl", "--on-calendar", "daily")
	if r.code != 0 {
		t.Fatalf("render systemd: %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"# ==> srvctl.service <==\n",
		"# ==> srvctl-apply.service <==\n",
		"# ==> srvctl-apply.timer <==\n",
		"ExecStart=/usr/local/bin/srvctl run --config " + cfg + "\n",
		"ExecStart=/usr/local/bin/srvctl run --once --config " + cfg + "\n",
		"# key srvctl-test: secret_file " + filepath.Join(filepath.Dir(cfg), "srvctl.key") + " is read directly",
		"OnCalendar=daily\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("render systemd lacks %q:\n%s", want, r.stdout)
		}
	}
	r = srvctl(t, srv, "-c", cfg, "render", "systemd", "--binary", "srvctl")
	if r.code != 1 || !strings.Contains(r.stderr, `binary "srvctl": systemd needs an absolute path`) {
		t.Errorf("relative --binary: %d %s", r.code, r.stderr)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
