package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/state"
	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/kmstest"
)

func deadPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// staleWorld: a named serving hosts.test (kms1 and kms2 at 127.0.0.1) and
// the zones a.test and b.test, each holding kms1 (a live KMS responder)
// and kms2 (a closed port), and a history in which kms2 has failed twice
// over the last 100 hours.
func staleWorld(t *testing.T, extra string) (srv *bindtest.Server, cfgPath, statePath string, kmsPort, dead int) {
	t.Helper()
	kms := kmstest.Start(t)
	kmsPort, dead = int(kms.Port), deadPort(t)
	recs := func(z string) []string {
		return []string{
			fmt.Sprintf("_vlmcs._tcp.%s. 3600 IN SRV 0 100 %d kms1.hosts.test.", z, kmsPort),
			fmt.Sprintf("_vlmcs._tcp.%s. 3600 IN SRV 0 100 %d kms2.hosts.test.", z, dead),
		}
	}
	srv = bindtest.Start(t, bindtest.Options{
		Zones:  []string{"a.test", "b.test"},
		Static: []string{"hosts.test"},
		Records: map[string][]string{
			"hosts.test": {"kms1.hosts.test. 300 IN A 127.0.0.1", "kms2.hosts.test. 300 IN A 127.0.0.1"},
			"a.test":     recs("a.test"),
			"b.test":     recs("b.test"),
		},
	})
	statePath = filepath.Join(t.TempDir(), "state.json")
	hist, err := state.Lock(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, ago := range []time.Duration{100 * time.Hour, 50 * time.Hour} {
		hist.Record(state.Key{Host: "kms2.hosts.test.", Port: uint16(dead)}, state.Observation{Time: time.Now().Add(-ago), Resolved: true, Detail: "refused on 127.0.0.1"})
		hist.Record(state.Key{Host: "kms1.hosts.test.", Port: uint16(kmsPort)}, state.Observation{Time: time.Now().Add(-ago), Resolved: true, Live: true})
	}
	if err := hist.Save(); err != nil {
		t.Fatal(err)
	}
	hist.Close()
	cfgPath = writeConfig(t, srv, fmt.Sprintf(`
prune: stale
hosts:
  - name: kms1.hosts.test
    port: %d
    weight: 100
keys:
  - name: srvctl-test
    secret_file: {keyfile}
audit:
  resolver: {server}
  timeout: 1s
  state_file: %s
%s
zones:
  - name: a.test
    server: {server}
    key: srvctl-test
    audit_servers: [{server}]
  - name: b.test
    server: {server}
    key: srvctl-test
    audit_servers: [{server}]
`, kmsPort, statePath, extra))
	return srv, cfgPath, statePath, kmsPort, dead
}

// sortedServed is served, sorted (named rotates RRsets).
func sortedServed(t *testing.T, srv *bindtest.Server, zone string) []string {
	got := served(t, srv, zone)
	slices.Sort(got)
	return got
}

func TestStaleLifecycleCLI(t *testing.T) {
	srv, cfg, _, kmsPort, dead := staleWorld(t, "")
	live := fmt.Sprintf("0 100 %d kms1.hosts.test.", kmsPort)

	// Before the third failed run, kms2 is failing but not stale.
	r := srvctl(t, srv, "-c", cfg, "plan", "--zone", "a.test")
	if r.code != 0 || !strings.Contains(r.stdout, "not stale: kms2.hosts.test.: no answer") {
		t.Fatalf("plan before the audit: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The third failed run, 100h after the first: stale.
	r = srvctl(t, srv, "-c", cfg, "audit", "-o", "nagios")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "SRVCTL AUDIT WARNING - WARNING: a.test, b.test | ") ||
		!strings.Contains(r.stdout, "stale: kms2.hosts.test.: no answer on") {
		t.Fatalf("audit: exit %d, want 1 (WARNING) with the stale record\n%s%s", r.code, r.stdout, r.stderr)
	}

	// plan shows the deletion with its evidence; apply carries it out.
	r = srvctl(t, srv, "-c", cfg, "plan", "-o", "json")
	p := decodePlan(t, r.stdout)
	if r.code != 0 || len(p.Zones) != 2 {
		t.Fatalf("plan: %d %s", r.code, r.stderr)
	}
	for _, z := range p.Zones {
		if len(z.Changes) != 1 || z.Changes[0].Action != "delete" || !strings.HasPrefix(z.Changes[0].Reason,
			fmt.Sprintf("stale: kms2.hosts.test.: no answer on %d", dead)) || !strings.Contains(z.Changes[0].Reason, "in 3 runs since") {
			t.Errorf("%s: changes %+v, want the stale record deleted with its evidence", z.Zone, z.Changes)
		}
	}
	if r = srvctl(t, srv, "-c", cfg, "apply"); r.code != 0 {
		t.Fatalf("apply: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, z := range []string{"a.test", "b.test"} {
		if diff := cmp.Diff([]string{live}, served(t, srv, z)); diff != "" {
			t.Errorf("%s after apply (-want +got):\n%s", z, diff)
		}
	}
	if r = srvctl(t, srv, "-c", cfg, "plan", "--detailed-exitcode"); r.code != 0 {
		t.Errorf("plan after apply: exit %d, want 0 (no changes)\n%s", r.code, r.stdout)
	}
	r = srvctl(t, srv, "-c", cfg, "audit", "-o", "nagios")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "SRVCTL AUDIT OK - 2 zones OK, 1 of 1 KMS hosts answer |") {
		t.Errorf("audit after apply: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestStaleSafetyCLI(t *testing.T) {
	// max_deletes 1: the run would delete 2 stale records, so it deletes none.
	srv, cfg, _, kmsPort, dead := staleWorld(t, "  max_deletes: 1\n")
	if r := srvctl(t, srv, "-c", cfg, "audit", "-o", "json"); r.code != 1 {
		t.Fatalf("audit: exit %d, want 1\n%s", r.code, r.stderr)
	}
	both := []string{fmt.Sprintf("0 100 %d kms1.hosts.test.", kmsPort), fmt.Sprintf("0 100 %d kms2.hosts.test.", dead)}
	kept := both[0]
	slices.Sort(both)
	r := srvctl(t, srv, "-c", cfg, "apply")
	if r.code != 0 || !strings.Contains(r.stdout, "kept: this run would delete 2 records, more than max_deletes 1 (use --force)") {
		t.Fatalf("apply over max_deletes: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if diff := cmp.Diff(both, sortedServed(t, srv, "a.test")); diff != "" {
		t.Errorf("a.test after a held apply (-want +got):\n%s", diff)
	}
	if r = srvctl(t, srv, "-c", cfg, "apply", "--force"); r.code != 0 {
		t.Fatalf("apply --force: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if diff := cmp.Diff([]string{kept}, served(t, srv, "b.test")); diff != "" {
		t.Errorf("b.test after apply --force (-want +got):\n%s", diff)
	}
}

func TestStaleDesiredHostIsKept(t *testing.T) {
	srv, cfg, _, _, dead := staleWorld(t, "")
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withKMS2 := strings.Replace(string(body), "keys:", fmt.Sprintf("  - name: kms2.hosts.test\n    port: %d\n    weight: 100\nkeys:", dead), 1)
	if err := os.WriteFile(cfg, []byte(withKMS2), 0o600); err != nil {
		t.Fatal(err)
	}
	srvctl(t, srv, "-c", cfg, "audit")
	r := srvctl(t, srv, "-c", cfg, "plan", "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "warning: kms2.hosts.test. is desired but stale") {
		t.Errorf("plan: exit %d, want 0 and a warning about the stale desired host\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestAuditExitCodes(t *testing.T) {
	kms := kmstest.Start(t)
	srv := bindtest.Start(t, bindtest.Options{
		Zones:  []string{"ok.test", "empty.test"},
		Static: []string{"hosts.test"},
		Records: map[string][]string{
			"hosts.test": {"kms1.hosts.test. 300 IN A 127.0.0.1"},
			"ok.test":    {fmt.Sprintf("_vlmcs._tcp.ok.test. 3600 IN SRV 0 0 %d kms1.hosts.test.", kms.Port)},
		},
	})
	cfg := writeConfig(t, srv, fmt.Sprintf(`
hosts:
  - name: kms1.hosts.test
    port: %d
keys:
  - name: srvctl-test
    secret_file: {keyfile}
audit:
  resolver: {server}
  state_file: %s
zones:
  - name: ok.test
    server: {server}
    key: srvctl-test
    audit_servers: [{server}]
  - name: empty.test
    server: {server}
    key: srvctl-test
    audit_servers: [{server}]
`, kms.Port, filepath.Join(t.TempDir(), "state.json")))
	for _, tt := range []struct {
		args   []string
		code   int
		prefix string
	}{
		{[]string{"--zone", "ok.test", "-o", "nagios"}, 0, "SRVCTL AUDIT OK - 1 zones OK"},
		{[]string{"-o", "nagios"}, 2, "SRVCTL AUDIT CRITICAL - CRITICAL: empty.test |"},
		{[]string{"--zone", "nope.test", "-o", "nagios"}, 3, "SRVCTL AUDIT UNKNOWN - --zone: not in the config: nope.test."},
		{[]string{"-o", "yaml"}, 3, ""},
		{[]string{"--bogus", "-o", "nagios"}, 3, "SRVCTL AUDIT UNKNOWN - unknown flag: --bogus"},
		{[]string{"extra"}, 3, ""},
		{[]string{"--zone", "ok.test", "-o", "prometheus", "--no-state"}, 0, "# HELP srvctl_audit_zone_status"},
	} {
		r := srvctl(t, srv, append([]string{"-c", cfg, "audit"}, tt.args...)...)
		if r.code != tt.code || !strings.HasPrefix(r.stdout, tt.prefix) {
			t.Errorf("audit %v: exit %d, stdout %q; want %d and %q\n%s", tt.args, r.code, r.stdout, tt.code, tt.prefix, r.stderr)
		}
	}
	prom := filepath.Join(t.TempDir(), "srvctl.prom")
	r := srvctl(t, srv, "-c", cfg, "audit", "-o", "json", "--prometheus-file", prom)
	data, err := os.ReadFile(prom)
	if r.code != 2 || err != nil || !strings.Contains(string(data), `srvctl_audit_zone_status{zone="empty.test."} 2`) {
		t.Errorf("audit --prometheus-file: exit %d, file %q (%v)", r.code, data, err)
	}
}

// TestValidateChecksAudit: a typo in audit.severity is found by validate,
// not first by the audit that then cannot run.
func TestValidateChecksAudit(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{})
	cfg := writeConfig(t, srv, `
hosts:
  - name: kms1.example.com
keys:
  - name: srvctl-test
    secret_file: {keyfile}
audit:
  severity: {laging: critical}
zones:
  - name: example.com
    server: {server}
    key: srvctl-test
`)
	r := srvctl(t, srv, "-c", cfg, "validate")
	if r.code != 1 || !strings.Contains(r.stderr, "audit.severity.laging: not a kind of finding") {
		t.Errorf("validate: exit %d, want 1 naming audit.severity.laging\n%s%s", r.code, r.stdout, r.stderr)
	}
}
