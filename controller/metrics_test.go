package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/probe"
	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/publisher/bindfile"
	"github.com/srvctl/srvctl/publisher/rfc2136"
	"github.com/srvctl/srvctl/zones"
)

// samples returns the metric lines of m (no comments) that start with one
// of the prefixes.
func samples(t *testing.T, m *Metrics, prefixes ...string) []string {
	t.Helper()
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

func TestMetricsObserve(t *testing.T) {
	m := NewMetrics(MetricsOptions{Version: "v1.2.3"})
	rec := zones.Record{Target: "kms1.example.com.", Port: 1688, TTL: 3600}
	start := time.Unix(1_800_000_000, 0)
	res := &Result{
		Start:    start,
		Duration: 1500 * time.Millisecond,
		Report: &auditor.Report{
			Zones: []auditor.Zone{{Zone: "a.test.", Level: auditor.OK, StaleRecords: 1}, {Zone: "b.test.", Level: auditor.Unknown}},
			Targets: []auditor.TargetReport{
				{Result: probe.Result{Target: probe.Target{Host: "kms1.example.com.", Port: 1688}, Live: true}},
				{Result: probe.Result{Target: probe.Target{Host: "kms2.example.com.", Port: 1688}}},
			},
		},
		AuditUnknown: []string{"b.test."},
	}
	res.addPlans([]zones.Plan{
		{Zone: "a.test.", Changes: []zones.Change{{Action: zones.Add, Record: rec}, {Action: zones.Delete, Record: rec}}},
		{Zone: "b.test.", Err: &rfc2136.Error{Zone: "b.test.", Server: "192.0.2.1:53", Op: "read", Rcode: -1, Err: errors.New("timeout")}},
	})
	m.Observe(res)

	got := samples(t, m, "srvctl_runs_total", "srvctl_last_run", "srvctl_zone_", "srvctl_changes_applied_total",
		`srvctl_errors_total{kind="network"}`, `srvctl_errors_total{kind="audit"}`, "srvctl_stale_records", "srvctl_targets", "srvctl_live_targets",
		"srvctl_run_duration_seconds_sum", "srvctl_build_info")
	want := []string{
		`srvctl_build_info{goversion="` + goVersion() + `",version="v1.2.3"} 1`,
		`srvctl_changes_applied_total{action="add"} 1`,
		`srvctl_changes_applied_total{action="delete"} 1`,
		`srvctl_changes_applied_total{action="update"} 0`,
		`srvctl_errors_total{kind="audit"} 1`,
		`srvctl_errors_total{kind="network"} 1`,
		"srvctl_last_run_duration_seconds 1.5",
		"srvctl_last_run_success 0",
		"srvctl_last_run_timestamp_seconds 1.8000000015e+09",
		"srvctl_live_targets 1",
		"srvctl_run_duration_seconds_sum 1.5",
		`srvctl_runs_total{result="failed"} 1`,
		`srvctl_runs_total{result="ok"} 0`,
		"srvctl_stale_records 1",
		"srvctl_targets 2",
		`srvctl_zone_last_run_success{zone="a.test."} 1`,
		`srvctl_zone_last_run_success{zone="b.test."} 0`,
		`srvctl_zone_last_success_timestamp_seconds{zone="a.test."} 1.8000000015e+09`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics after a run (-want +got):\n%s", diff)
	}

	// A reload removed b.test; a.test failed this time: its last success
	// stays, b.test's series go.
	res2 := &Result{Start: start.Add(time.Hour), Duration: time.Second}
	res2.addPlans([]zones.Plan{{Zone: "a.test.", Err: fmt.Errorf("not applied: %w", context.Canceled)}})
	m.Observe(res2)
	m.Reloaded(false)
	m.SkippedTick()
	got = samples(t, m, "srvctl_zone_", `srvctl_errors_total{kind="interrupted"}`, `srvctl_errors_total{kind="config"}`,
		"srvctl_config_", "srvctl_ticks_skipped_total")
	want = []string{
		"srvctl_config_last_reload_success 0",
		`srvctl_config_reloads_total{result="failed"} 1`,
		`srvctl_config_reloads_total{result="ok"} 0`,
		`srvctl_errors_total{kind="config"} 1`,
		`srvctl_errors_total{kind="interrupted"} 1`,
		"srvctl_ticks_skipped_total 1",
		`srvctl_zone_last_run_success{zone="a.test."} 0`,
		`srvctl_zone_last_success_timestamp_seconds{zone="a.test."} 1.8000000015e+09`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics after the second run (-want +got):\n%s", diff)
	}

	// The textfile holds the same, written whole.
	path := filepath.Join(t.TempDir(), "srvctl.prom")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	if string(data) != b.String() {
		t.Errorf("textfile differs from Write:\n%s", data)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("not applied: %w", context.Canceled), KindInterrupted},
		{fmt.Errorf("gave up: %w", publisher.ErrConflict), KindConflict},
		{&publisher.ResultError{Missing: []zones.Record{{Target: "a."}}}, KindVerify},
		{&rfc2136.Error{Rcode: 5, Err: fmt.Errorf("%w: refused", rfc2136.ErrNotAuthorized)}, KindAuth},
		{&rfc2136.Error{Rcode: -1, Err: errors.New("timeout")}, KindNetwork},
		{&rfc2136.Error{Rcode: 2, Err: errors.New("SERVFAIL")}, KindDNS},
		{&bindfile.Error{Zone: "a.", Err: bindfile.ErrDynamic}, KindBindfile},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), KindNetwork},
		{errors.New("something else"), KindInternal},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}
