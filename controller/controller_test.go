package controller

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/srvctl/srvctl/auditor/state"
	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/kmstest"
)

// silentPeer accepts TCP connections and never answers: a KMS probe of it
// waits for the audit timeout.
func silentPeer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

// world is a named serving hosts.test (kms1 and slow at 127.0.0.1) and
// the empty zones a.test and b.test, a live KMS responder for kms1 and a
// silent peer for slow.
type world struct {
	srv           *bindtest.Server
	dir           string
	kmsPort, slow int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	kms := kmstest.Start(t)
	srv := bindtest.Start(t, bindtest.Options{
		Zones:  []string{"a.test", "b.test"},
		Static: []string{"hosts.test"},
		Keys:   []string{"srvctl-test"},
		Records: map[string][]string{
			"hosts.test": {"kms1.hosts.test. 300 IN A 127.0.0.1", "slow.hosts.test. 300 IN A 127.0.0.1"},
		},
	})
	w := &world{srv: srv, dir: t.TempDir(), kmsPort: int(kms.Port), slow: silentPeer(t)}
	key, err := os.ReadFile(srv.KeyFile("srvctl-test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "srvctl.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// config writes the config for the zones named (each holding kms1 and
// slow) with extra top-level settings, and returns its path.
func (w *world) config(t *testing.T, extra string, zoneNames ...string) string {
	t.Helper()
	var zs strings.Builder
	for _, z := range zoneNames {
		fmt.Fprintf(&zs, "  - name: %s\n    server: %s\n    key: srvctl-test\n    audit_servers: [%s]\n", z, w.srv.Addr, w.srv.Addr)
	}
	body := fmt.Sprintf(`%s
hosts:
  - name: kms1.hosts.test
    port: %d
  - name: slow.hosts.test
    port: %d
keys:
  - name: srvctl-test
    secret_file: srvctl.key
audit:
  resolver: %s
  timeout: 2s
  state_file: %s
zones:
%s`, extra, w.kmsPort, w.slow, w.srv.Addr, filepath.Join(w.dir, "state.json"), zs.String())
	path := filepath.Join(w.dir, "srvctl.yaml")
	if err := os.WriteFile(path+".tmp", []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	return path
}

// eventually polls cond every 100ms until it holds or a minute passes (a
// bound on a wait, not a speed requirement).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metricValue returns the value of the sample named (with its labels), or
// -1 when there is none.
func metricValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	lines := samples(t, m, name+" ")
	if len(lines) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(strings.TrimPrefix(lines[0], name+" "), 64)
	if err != nil {
		t.Fatalf("%s: %v", lines[0], err)
	}
	return v
}

// TestControllerSchedule runs the controller on a one-second schedule
// whose runs take two (a silent target makes the probe wait): ticks are
// skipped and counted, the zone is published, an invalid config is refused
// while the old one keeps running, a valid one is picked up, and
// cancelling stops it with the run in progress finished.
func TestControllerSchedule(t *testing.T) {
	w := newWorld(t)
	path := w.config(t, `schedule: "@every 1s"`, "a.test")
	load := func() (*config.Config, error) { return config.Load(config.LoadOptions{Path: path, Env: []string{}}) }
	c, err := New(Options{Load: load, Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := c.Ready(); !ok || !strings.Contains(why, "no run has finished yet") {
		t.Errorf("Ready before any run = %v, %q", ok, why)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	m := c.Metrics()
	eventually(t, "a successful run and a skipped tick", func() bool {
		return metricValue(t, m, `srvctl_runs_total{result="ok"}`) >= 1 && metricValue(t, m, "srvctl_ticks_skipped_total") >= 1
	})
	want := []string{fmt.Sprintf("0 0 %d kms1.hosts.test.", w.kmsPort), fmt.Sprintf("0 0 %d slow.hosts.test.", w.slow)}
	if got := srvLines(t, w.srv, "a.test"); !sameSet(got, want) {
		t.Errorf("a.test serves %q, want %q", got, want)
	}
	if got := metricValue(t, m, "srvctl_live_targets"); got != 1 {
		t.Errorf("srvctl_live_targets = %v, want 1 (slow never answers)", got)
	}

	// An invalid config: refused, counted, the old one keeps running.
	if err := os.WriteFile(path, []byte("ttl: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err == nil || !strings.Contains(err.Error(), "hosts") {
		t.Errorf("Reload of an invalid config: %v, want the problems listed", err)
	}
	if got := metricValue(t, m, `srvctl_config_reloads_total{result="failed"}`); got != 1 {
		t.Errorf("failed reloads = %v, want 1", got)
	}
	if got := c.Config().Zones; len(got) != 1 || got[0].Name != "a.test." {
		t.Errorf("after a failed reload the config has zones %v, want a.test only", got)
	}

	// A valid one with b.test: the next run publishes it.
	w.config(t, `schedule: "@every 1s"`, "a.test", "b.test")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b.test published", func() bool { return len(srvLines(t, w.srv, "b.test")) == 2 })
	if got := metricValue(t, m, "srvctl_config_last_reload_success"); got != 1 {
		t.Errorf("srvctl_config_last_reload_success = %v, want 1", got)
	}

	// HTTP: healthz, readyz, metrics.
	h := httptest.NewServer(c.Handler())
	defer h.Close()
	for path, want := range map[string]string{
		"/healthz": "ok\n",
		"/readyz":  "ready: the last run (",
		"/metrics": `srvctl_zone_last_success_timestamp_seconds{zone="b.test."}`,
	} {
		code, body := get(t, h.URL+path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %q, want 200 with %q", path, code, body, want)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	c.mu.Lock()
	closed := c.job.closed
	c.mu.Unlock()
	if !closed {
		t.Error("the job was not closed after Run returned")
	}
}

// TestReadyAfterFailure checks /readyz once a run has failed: 503 with the
// zone that failed.
func TestReadyAfterFailure(t *testing.T) {
	w := newWorld(t)
	path := w.config(t, "", "a.test", "nowhere.test")
	load := func() (*config.Config, error) { return config.Load(config.LoadOptions{Path: path, Env: []string{}}) }
	c, err := New(Options{Load: load, Logger: zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel+1))})
	if err != nil {
		t.Fatal(err)
	}
	var after *Result
	c.afterRun = func(r *Result) { after = r }
	res := c.RunOnce(context.Background())
	if res == nil || res.OK() || after != res {
		t.Fatalf("RunOnce = %+v, want a failed result passed to AfterRun", res)
	}
	if len(res.Failures) != 1 || res.Failures[0].Zone != "nowhere.test." {
		t.Errorf("failures %v, want nowhere.test. only", res.Failures)
	}
	h := httptest.NewServer(c.Handler())
	defer h.Close()
	code, body := get(t, h.URL+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "failed: 1 zone failed (nowhere.test)") {
		t.Errorf("GET /readyz: %d %q, want 503 naming nowhere.test", code, body)
	}
	if got := len(srvLines(t, w.srv, "a.test")); got != 2 {
		t.Errorf("a.test holds %d records, want 2: one failing zone must not stop the others", got)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func srvLines(t *testing.T, srv *bindtest.Server, zone string) []string {
	t.Helper()
	rrs, err := srv.SRV(zone)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rrs {
		out = append(out, fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, r.Target))
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestControllerReloadSchedule: a reload that changes the schedule takes
// effect without a restart, and a stop during a tick's jitter wait returns
// at once without starting that run.
func TestControllerReloadSchedule(t *testing.T) {
	w := newWorld(t)
	path := w.config(t, `schedule: "@every 1h"`, "a.test")
	load := func() (*config.Config, error) { return config.Load(config.LoadOptions{Path: path, Env: []string{}}) }
	c, err := New(Options{Load: load, Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	m := c.Metrics()
	runs := func() float64 {
		return metricValue(t, m, `srvctl_runs_total{result="ok"}`) + metricValue(t, m, `srvctl_runs_total{result="failed"}`)
	}
	eventually(t, "the run at start", func() bool { return runs() == 1 })

	w.config(t, `schedule: "@every 1s"`, "a.test")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "runs on the new schedule", func() bool { return runs() >= 3 })

	// Every tick now waits up to an hour first; stop during that wait.
	w.config(t, "schedule: \"@every 1s\"\njitter: 1h", "a.test")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a tick waiting out its jitter", func() bool { return metricValue(t, m, "srvctl_ticks_skipped_total") >= 1 })
	before := runs()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of the stop, during a jitter wait")
	}
	if got := runs(); got != before {
		t.Errorf("%v runs after the stop, want %v: a tick waiting out its jitter started its run", got, before)
	}
}

// TestJobHistoryLocked: while another srvctl holds the probe history, a
// run fails with kind state but still applies, and its audit judges with
// the history as last saved (a.test's stale record stays counted; b.test
// was emptied by hand and is restored).
func TestJobHistoryLocked(t *testing.T) {
	w := newWorld(t)
	path := w.config(t, "", "a.test", "b.test")
	statePath := filepath.Join(w.dir, "state.json")
	hist, err := state.Lock(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, ago := range []time.Duration{100 * time.Hour, 50 * time.Hour, 10 * time.Hour} {
		hist.Record(state.Key{Host: "slow.hosts.test.", Port: uint16(w.slow)}, state.Observation{Time: time.Now().Add(-ago), Resolved: true, Detail: "no answer"})
	}
	if err := hist.Save(); err != nil {
		t.Fatal(err)
	}
	hist.Close()
	cfg, err := config.Load(config.LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	job, err := NewJob(cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel+1)))
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	// The first run audits the empty zone and publishes; the second
	// audits the records, slow's stale.
	job.Run(context.Background())
	res := job.Run(context.Background())
	if !res.OK() || res.Report.Summarize().StaleRecords != 2 {
		t.Fatalf("second run: ok %v, stale records %d (failures %v), want ok and 2", res.OK(), res.Report.Summarize().StaleRecords, res.Failures)
	}

	held, err := state.Lock(statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := w.srv.NSUpdate("srvctl-test", "update delete _vlmcs._tcp.b.test. SRV\nsend\n"); err != nil {
		t.Fatal(err)
	}
	res = job.Run(context.Background())
	if len(res.Failures) != 1 || res.Failures[0].Kind != KindState || !strings.Contains(res.Failures[0].Err.Error(), "another srvctl audit holds the lock") {
		t.Errorf("run with the history held: failures %v, want one of kind state", res.Failures)
	}
	if got := len(srvLines(t, w.srv, "b.test")); got != 2 {
		t.Errorf("b.test holds %d records after the run, want 2: the apply must go on", got)
	}
	m := NewMetrics(MetricsOptions{})
	m.Observe(&res)
	if got := metricValue(t, m, "srvctl_stale_records"); got != 1 {
		t.Errorf("srvctl_stale_records = %v with the history held, want 1 (a.test's slow record, judged with the saved history)", got)
	}
}
