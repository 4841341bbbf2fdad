package auditor

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/dnsview"
	"github.com/srvctl/srvctl/auditor/probe"
	"github.com/srvctl/srvctl/auditor/state"
	"github.com/srvctl/srvctl/zones"

	"github.com/srvctl/srvctl/internal/golden"
)

func rec(target string, port, prio, weight uint16, ttl uint32) zones.Record {
	return zones.Record{Target: target, Port: port, Priority: prio, Weight: weight, TTL: ttl}
}

// goldenReport is a report with every kind of line the outputs have:
// an OK zone, a WARNING zone with a lagging secondary and a stale
// record, a CRITICAL zone without records, an UNKNOWN zone.
func goldenReport() *Report {
	kms1 := rec("kms1.corp.example.com.", 1688, 0, 100, 3600)
	kms2 := rec("kms2.corp.example.com.", 1688, 0, 100, 3600)
	old := rec("kms3.corp.example.com.", 1688, 10, 0, 3600)
	ns1 := dnsview.Server{Name: "ns1.corp.example.com.", Addr: "192.0.2.53:53", Status: dnsview.StatusOK, Serial: 7, Records: []zones.Record{kms1, kms2, old}}
	ns2 := dnsview.Server{Name: "ns2.corp.example.com.", Addr: "192.0.2.54:53", Status: dnsview.StatusOK, Serial: 5, Records: []zones.Record{kms1, old}}
	since := time.Date(2026, 11, 18, 2, 0, 0, 0, time.UTC)
	verdict := state.Verdict{Known: true, Failing: true, Stale: true, Since: since, Runs: 5,
		Reason: "kms3.corp.example.com.: no answer on 1688 (timeout on 192.0.2.3) in 5 runs since 2026-11-18T02:00Z"}
	live := state.Verdict{Known: true, Reason: "kms1.corp.example.com.: answered on 1688 at 2026-11-21T02:00Z"}
	addr := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	return &Report{
		Time:     time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC),
		Duration: 420 * time.Millisecond,
		Level:    Critical,
		Probe:    "kms",
		History:  true,
		Zones: []Zone{
			{
				Zone: "branch.example.net.", Owner: "_vlmcs._tcp.branch.example.net.", Level: OK, ClientLevel: OK,
				Client:  "activation works: 1 of 1 hosts answer",
				Servers: []dnsview.Server{{Name: "192.0.2.80:53", Addr: "192.0.2.80:53", Status: dnsview.StatusOK, Serial: 2026112101, Records: []zones.Record{kms1}}},
				Records: []RecordReport{{Record: kms1, Status: "live", Reason: "KMS host answers on 1688 at 192.0.2.1", Desired: true}},
				Desired: []zones.Record{kms1}, Findings: []Finding{}, LiveTargets: 1, ServersInSync: 1,
			},
			{
				Zone: "corp.example.com.", Owner: "_vlmcs._tcp.corp.example.com.", Level: Warning, ClientLevel: Warning,
				Client:  "activation works (2 of 3 hosts answer), but clients lose time on the dead ones: kms3.corp.example.com.",
				Servers: []dnsview.Server{ns1, ns2},
				Records: []RecordReport{
					{Record: kms1, Status: "live", Reason: "KMS host answers on 1688 at 192.0.2.1", Desired: true},
					{Record: kms2, Status: "live", Reason: "KMS host answers on 1688 at 192.0.2.2", Desired: true},
					{Record: old, Status: "dead", Reason: "no answer on 1688 (1 address: 192.0.2.3 timeout)", Stale: true},
				},
				Desired: []zones.Record{kms1, kms2},
				Findings: []Finding{
					{Kind: KindLagging, Level: Warning, Server: "ns2.corp.example.com. 192.0.2.54:53", Detail: "ns2.corp.example.com. (192.0.2.54:53) serves serial 5, others serve 7"},
					{Kind: KindDiffers, Level: Warning, Server: "ns2.corp.example.com. 192.0.2.54:53", Detail: "ns2.corp.example.com. (192.0.2.54:53) lacks kms2.corp.example.com.:1688"},
					{Kind: KindDead, Level: Warning, Target: "kms3.corp.example.com.:1688", Detail: "kms3.corp.example.com.: no answer on 1688 (1 address: 192.0.2.3 timeout); no answer on 1688 (timeout on 192.0.2.3) in 5 runs since 2026-11-18T02:00Z"},
					{Kind: KindStale, Level: Warning, Target: "kms3.corp.example.com.:1688", Detail: verdict.Reason + ": srvctl apply deletes it under prune: stale"},
					{Kind: KindForeign, Level: OK, Target: "kms3.corp.example.com.:1688", Detail: "3600 SRV 10 0 1688 kms3.corp.example.com.: not in the config (published by someone else, or left by a host that is gone)"},
				},
				LiveTargets: 2, ServersInSync: 1, StaleRecords: 1,
			},
			{
				Zone: "lab.example.org.", Owner: "_vlmcs._tcp.lab.example.org.", Level: Critical, ClientLevel: Critical,
				Client:  "no SRV records: clients fail with 0x8007232B (DNS name does not exist) or 0x8007251D (No records found for DNS query)",
				Servers: []dnsview.Server{{Name: "ns.lab.example.org.", Addr: "192.0.2.90:53", Status: dnsview.StatusOK, Serial: 3, Records: []zones.Record{}}},
				Records: []RecordReport{}, Desired: []zones.Record{kms1},
				Findings:      []Finding{{Kind: KindMissing, Level: Warning, Target: "kms1.corp.example.com.:1688", Detail: "3600 SRV 0 100 1688 kms1.corp.example.com.: desired, not published (srvctl apply adds it)"}},
				ServersInSync: 1,
			},
			{
				Zone: "gone.example.org.", Owner: "_vlmcs._tcp.gone.example.org.", Level: Unknown, ClientLevel: Unknown,
				Client:   "unknown: the zone could not be audited",
				Servers:  []dnsview.Server{},
				Records:  []RecordReport{},
				Desired:  []zones.Record{kms1},
				Findings: []Finding{{Kind: KindZoneError, Level: Unknown, Detail: "NS query for gone.example.org. to 192.0.2.153:53: SERVFAIL"}},
			},
		},
		Targets: []TargetReport{
			{Result: probe.Result{Target: probe.Target{Host: kms1.Target, Port: 1688}, Mode: probe.ModeKMS, Resolve: probe.ResolveOK,
				Addrs: []probe.AddrResult{{Addr: addr("192.0.2.1"), Status: probe.StatusKMS, Latency: 1500 * time.Microsecond}}, Live: true, Probed: true},
				Verdict: &live, Zones: []string{"branch.example.net.", "corp.example.com."}},
			{Result: probe.Result{Target: probe.Target{Host: kms2.Target, Port: 1688}, Mode: probe.ModeKMS, Resolve: probe.ResolveOK,
				Addrs: []probe.AddrResult{{Addr: addr("192.0.2.2"), Status: probe.StatusKMS, Latency: 2 * time.Millisecond}}, Live: true, Probed: true},
				Verdict: &state.Verdict{Known: true, Reason: "kms2.corp.example.com.: answered on 1688 at 2026-11-21T02:00Z"}, Zones: []string{"corp.example.com."}},
			{Result: probe.Result{Target: probe.Target{Host: old.Target, Port: 1688}, Mode: probe.ModeKMS, Resolve: probe.ResolveOK,
				Addrs: []probe.AddrResult{{Addr: addr("192.0.2.3"), Status: probe.StatusTimeout, Detail: "no reply within 3s", Latency: 3 * time.Second}}, Probed: true},
				Verdict: &verdict, Zones: []string{"corp.example.com."}},
		},
	}
}

func TestOutputGolden(t *testing.T) {
	for _, tt := range []struct {
		file  string
		write func(*bytes.Buffer, *Report) error
	}{
		{"audit.txt", func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) }},
		{"audit.json", func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) }},
		{"audit.nagios", func(b *bytes.Buffer, r *Report) error { return WriteNagios(b, r) }},
		{"audit.prom", func(b *bytes.Buffer, r *Report) error { return WritePrometheus(b, r) }},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var got, again bytes.Buffer
			if err := tt.write(&got, goldenReport()); err != nil {
				t.Fatal(err)
			}
			if err := tt.write(&again, goldenReport()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), again.Bytes()) {
				t.Fatal("two renderings of the same report differ")
			}
			path := filepath.Join("testdata", tt.file)
			golden.Check(t, path, got.Bytes())
		})
	}
}

func TestNagiosOK(t *testing.T) {
	r := goldenReport()
	r.Zones = r.Zones[:1]
	r.Level = OK
	var b bytes.Buffer
	if err := WriteNagios(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "SRVCTL AUDIT OK - 1 zones OK, 2 of 3 KMS hosts answer | zones=1;;;0 critical=0;;;0 warning=0;;;0 unknown=0;;;0 targets=3;;;0 live_targets=2;;;0;3 stale_records=0;;;0 servers_in_sync=1;;;0;1 time=0.420s;;;0\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("nagios OK (-want +got):\n%s", diff)
	}
}

func TestWorse(t *testing.T) {
	for _, tt := range []struct{ a, b, want Level }{
		{OK, Warning, Warning}, {Warning, Critical, Critical}, {Critical, Unknown, Critical},
		{Unknown, Warning, Unknown}, {Warning, Unknown, Unknown}, {OK, OK, OK},
	} {
		if got := worse(tt.a, tt.b); got != tt.want {
			t.Errorf("worse(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srvctl.prom")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, func(w io.Writer) error { io.WriteString(w, "half"); return errors.New("boom") }); err == nil {
		t.Fatal("WriteFile with a failing writer: no error")
	}
	if b, _ := os.ReadFile(path); string(b) != "old\n" {
		t.Fatalf("after a failed write the file holds %q, want the old content", b)
	}
	if err := WriteFile(path, func(w io.Writer) error { return WritePrometheus(w, goldenReport()) }); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after writing, want 1 (no temporary file left)", len(entries))
	}
}
