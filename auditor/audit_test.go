package auditor_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/dnsview"
	"github.com/srvctl/srvctl/auditor/probe"
	"github.com/srvctl/srvctl/auditor/state"
	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/kmstest"
	"github.com/srvctl/srvctl/zones"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

type world struct {
	srv      *bindtest.Server
	kms      *kmstest.Server
	deadPort int
}

// newWorld starts a real named that serves the targets' names (zone
// hosts.test: kms1 and kms2 at 127.0.0.1, alias a CNAME to kms1) and the
// zones to audit, with their SRV records, and a KMS responder.
func newWorld(t *testing.T) *world {
	w := &world{kms: kmstest.Start(t), deadPort: closedPort(t)}
	srv := func(zone string, targets ...string) []string {
		var out []string
		for _, tg := range targets {
			out = append(out, fmt.Sprintf("_vlmcs._tcp.%s. 3600 IN SRV %s", zone, tg))
		}
		return out
	}
	live := fmt.Sprintf("0 100 %d kms1.hosts.test.", w.kms.Port)
	dead := fmt.Sprintf("0 100 %d kms2.hosts.test.", w.deadPort)
	w.srv = bindtest.Start(t, bindtest.Options{
		Static: []string{"hosts.test", "good.test", "some.test", "dead.test", "empty.test", "alias.test", "gone.test"},
		Records: map[string][]string{
			"hosts.test": {"kms1.hosts.test. 300 IN A 127.0.0.1", "kms2.hosts.test. 300 IN A 127.0.0.1",
				"alias.hosts.test. 300 IN CNAME kms1.hosts.test."},
			"good.test":  srv("good.test", live),
			"some.test":  srv("some.test", live, dead),
			"dead.test":  srv("dead.test", dead),
			"alias.test": srv("alias.test", fmt.Sprintf("0 0 %d alias.hosts.test.", w.kms.Port)),
			"gone.test":  srv("gone.test", live, "0 0 1688 nxdomain.hosts.test."),
		},
	})
	return w
}

func (w *world) auditor(t *testing.T, now func() time.Time) *auditor.Auditor {
	t.Helper()
	v, err := dnsview.New(dnsview.Options{Resolver: w.srv.Addr, Port: uint16(w.srv.Port), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p, err := probe.New(probe.Options{Resolver: w.srv.Addr, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return auditor.New(auditor.Options{Viewer: v, Prober: p, Now: now, Policy: state.Policy{After: 72 * time.Hour, Runs: 3}})
}

func (w *world) request(zone string, desired ...zones.Record) auditor.Request {
	return auditor.Request{
		Zone:    zones.Zone{Name: zone + ".", Service: zones.DefaultService, Backend: "rfc2136", Desired: desired},
		Servers: []string{w.srv.Addr},
	}
}

func kinds(z auditor.Zone) []string {
	var out []string
	for _, f := range z.Findings {
		out = append(out, string(f.Kind))
	}
	slices.Sort(out)
	return out
}

func TestAuditClientView(t *testing.T) {
	w := newWorld(t)
	kms1 := zones.Record{Target: "kms1.hosts.test.", Port: uint16(w.kms.Port), Priority: 0, Weight: 100, TTL: 3600}
	reqs := []auditor.Request{
		w.request("good.test", kms1),
		w.request("some.test", kms1),
		w.request("dead.test", kms1),
		w.request("empty.test", kms1),
		w.request("alias.test"),
		w.request("gone.test", kms1),
	}
	rep := w.auditor(t, nil).Audit(context.Background(), reqs, nil)
	tests := []struct {
		zone   string
		level  auditor.Level
		client string
		kinds  []string
	}{
		{"good.test.", auditor.OK, "activation works: 1 of 1 hosts answer", nil},
		{"some.test.", auditor.Warning, "activation works (1 of 2 hosts answer), but clients lose time on the dead ones: kms2.hosts.test.", []string{"dead", "foreign"}},
		{"dead.test.", auditor.Critical, "0x800706BA (The RPC server is unavailable)", []string{"dead", "foreign", "missing"}},
		{"empty.test.", auditor.Critical, "0x8007232B (DNS name does not exist) or 0x8007251D", []string{"missing"}},
		// An alias is an error, but clients may follow it: not a dead host.
		{"alias.test.", auditor.Warning, "1 host published; targets not probed", []string{"cname", "foreign"}},
		{"gone.test.", auditor.Warning, "activation works (1 of 2 hosts answer)", []string{"foreign", "starved", "unresolved"}},
	}
	for i, tt := range tests {
		z := rep.Zones[i]
		if z.Zone != tt.zone {
			t.Fatalf("zone %d is %s, want %s", i, z.Zone, tt.zone)
		}
		if z.Level != tt.level || !strings.Contains(z.Client, tt.client) {
			t.Errorf("%s: %s %q; want %s and a client view with %q", tt.zone, z.Level, z.Client, tt.level, tt.client)
		}
		if got := kinds(z); !slices.Equal(got, tt.kinds) {
			t.Errorf("%s: findings %v, want kinds %v: %+v", tt.zone, got, tt.kinds, z.Findings)
		}
	}
	if rep.Level != auditor.Critical {
		t.Errorf("report level %s, want CRITICAL", rep.Level)
	}
	// kms1 is named by four zones (and desired in five): one bind.
	if n := w.kms.Binds(); n != 1 {
		t.Errorf("the KMS responder answered %d binds, want 1 (each target probed once per run)", n)
	}
	if n := len(rep.Targets); n != 4 {
		t.Errorf("%d targets probed, want 4 (kms1, kms2, alias, nxdomain)", n)
	}
}

// TestAuditStaleLifecycle runs the audit on an injected clock: a dead
// target is failing first, stale once both thresholds (72h, 3 runs) hold.
func TestAuditStaleLifecycle(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(t.TempDir(), "state.json")
	start := time.Date(2026, 11, 18, 2, 0, 0, 0, time.UTC)
	kms1 := zones.Record{Target: "kms1.hosts.test.", Port: uint16(w.kms.Port), Weight: 100, TTL: 3600}
	req := []auditor.Request{w.request("some.test", kms1)}
	for _, step := range []struct {
		after time.Duration
		stale bool
	}{
		{0, false},
		{25 * time.Hour, false},
		{50 * time.Hour, false}, // 3 runs, but 50h < 72h
		{73 * time.Hour, true},  // 4 runs over 73h
		{97 * time.Hour, true},
	} {
		now := start.Add(step.after)
		hist, err := state.Lock(path)
		if err != nil {
			t.Fatal(err)
		}
		rep := w.auditor(t, func() time.Time { return now }).Audit(context.Background(), req, hist)
		if err := hist.Save(); err != nil {
			t.Fatal(err)
		}
		hist.Close()
		z := rep.Zones[0]
		if got := z.StaleRecords == 1; got != step.stale {
			t.Fatalf("at +%v: stale records %d, want stale %v; findings %+v", step.after, z.StaleRecords, step.stale, z.Findings)
		}
		if step.stale && !slices.Contains(kinds(z), "stale") {
			t.Errorf("at +%v: no stale finding: %v", step.after, kinds(z))
		}
	}
	st, err := state.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	v := st.Verdict(state.Key{Host: "kms2.hosts.test.", Port: uint16(w.deadPort)}, start.Add(97*time.Hour), state.Policy{})
	want := fmt.Sprintf("kms2.hosts.test.: no answer on %d", w.deadPort)
	if !v.Stale || v.Runs != 5 || !strings.HasPrefix(v.Reason, want) || !strings.HasSuffix(v.Reason, "in 5 runs since 2026-11-18T02:00Z") {
		t.Errorf("verdict %+v, want stale after 5 runs with reason %q...", v, want)
	}
	if v := st.Verdict(state.Key{Host: "kms1.hosts.test.", Port: uint16(w.kms.Port)}, start.Add(97*time.Hour), state.Policy{}); v.Failing {
		t.Errorf("the live target is failing: %+v", v)
	}
}

// TestAuditZoneError: when srvctl cannot find a zone's servers (its NS
// lookup is refused), the zone is UNKNOWN: nothing is said of clients,
// and nothing is reported missing.
func TestAuditZoneError(t *testing.T) {
	w := newWorld(t)
	kms1 := zones.Record{Target: "kms1.hosts.test.", Port: uint16(w.kms.Port), Weight: 100, TTL: 3600}
	req := w.request("elsewhere.example", kms1)
	req.Servers = nil // find them through NS: the test named refuses
	rep := w.auditor(t, nil).Audit(context.Background(), []auditor.Request{req}, nil)
	z := rep.Zones[0]
	if z.Level != auditor.Unknown || !slices.Equal(kinds(z), []string{"zone-error"}) || !strings.HasPrefix(z.Client, "unknown") {
		t.Errorf("zone %s: level %s, client %q, findings %+v; want UNKNOWN with only the zone error", z.Zone, z.Level, z.Client, z.Findings)
	}
	if rep.Level != auditor.Unknown {
		t.Errorf("report level %s, want UNKNOWN", rep.Level)
	}
}
