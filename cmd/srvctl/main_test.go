package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/bindtest"
)

const key = "srvctl-test"

// env is a hermetic environment: no SRVCTL_* from the developer's shell.
var env = []string{"PATH=" + os.Getenv("PATH")}

type result struct {
	code           int
	stdout, stderr string
}

// srvctl runs the CLI in-process and checks that no secret of srv appears
// in what it printed.
func srvctl(t *testing.T, srv *bindtest.Server, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, env)
	r := result{code, out.String(), errb.String()}
	for name, secret := range srv.Secrets {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("the secret of key %s appears in the output of srvctl %v", name, args)
		}
	}
	return r
}

// writeConfig writes a config file and a 0600 key file for srv's key into
// a temp dir; body is YAML with {server} and {keyfile} placeholders.
func writeConfig(t *testing.T, srv *bindtest.Server, body string) string {
	t.Helper()
	dir := t.TempDir()
	kf := filepath.Join(dir, "srvctl.key")
	data, err := os.ReadFile(srv.KeyFile(key))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, data, 0o600); err != nil {
		t.Fatal(err)
	}
	body = strings.NewReplacer("{server}", srv.Addr, "{keyfile}", kf).Replace(body)
	path := filepath.Join(dir, "srvctl.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// served returns the zone's SRV RRset as "prio weight port target" lines.
func served(t *testing.T, srv *bindtest.Server, zone string) []string {
	t.Helper()
	rrs, err := srv.SRV(zone)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, s := range rrs {
		out = append(out, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target))
	}
	return out
}

type jsonPlan struct {
	Zones []struct {
		Zone    string `json:"zone"`
		Changes []struct {
			Action string `json:"action"`
			Target string `json:"target"`
			Weight int    `json:"weight"`
			Reason string `json:"reason"`
		} `json:"changes"`
		Foreign []struct {
			Target string `json:"target"`
		} `json:"foreign"`
		Error string `json:"error"`
	} `json:"zones"`
}

func decodePlan(t *testing.T, s string) jsonPlan {
	t.Helper()
	var p jsonPlan
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, s)
	}
	return p
}

const threeZones = `
ttl: 3600
prune: {prune}
hosts:
  - name: kms1.corp.example.com
    weight: 100
  - name: KMS2.corp.example.com.
    priority: 10
  - name: kms3.corp.example.com
    port: 1700
    priority: 20
keys:
  - name: srvctl-test
    secret_file: {keyfile}
zones:
  - name: corp.example.com
    server: {server}
    key: srvctl-test
  - name: branch.example.net
    server: {server}
    key: srvctl-test
    hosts: [kms2.corp.example.com]
    overrides:
      - host: kms2.corp.example.com
        priority: 0
        weight: 50
  - name: lab.example.org
    server: {server}
    key: srvctl-test
    hosts: [kms1.corp.example.com, kms3.corp.example.com]
`

func startThree(t *testing.T, records map[string][]string) *bindtest.Server {
	return bindtest.Start(t, bindtest.Options{
		Zones:   []string{"corp.example.com.", "branch.example.net.", "lab.example.org."},
		Keys:    []string{key, "kms-host"},
		Records: records,
	})
}

func TestPlanApplyPlan(t *testing.T) {
	srv := startThree(t, map[string][]string{"corp.example.com.": {
		"www.corp.example.com. 300 IN A 192.0.2.1",
		"_ldap._tcp.corp.example.com. 600 IN SRV 0 100 389 dc1.corp.example.com.",
	}})
	cfg := writeConfig(t, srv, strings.ReplaceAll(threeZones, "{prune}", "none"))

	if r := srvctl(t, srv, "-c", cfg, "validate"); r.code != 0 || !strings.Contains(r.stdout, "valid: 3 hosts, 1 key, 3 zones, 6 desired records") {
		t.Fatalf("validate: %+v", r)
	}
	r := srvctl(t, srv, "-c", cfg, "plan", "--detailed-exitcode")
	if r.code != 2 {
		t.Fatalf("plan on empty zones: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "+ 3600 SRV 0 100 1688 kms1.corp.example.com.") || !strings.Contains(r.stdout, "Plan: 6 to add, 0 to change, 0 to delete in 3 of 3 zones") {
		t.Errorf("plan output:\n%s", r.stdout)
	}
	if got := served(t, srv, "corp.example.com."); len(got) != 0 {
		t.Fatalf("plan changed the zone: %v", got)
	}

	if r := srvctl(t, srv, "-c", cfg, "apply"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := map[string][]string{
		"corp.example.com.":   {"0 100 1688 kms1.corp.example.com.", "10 0 1688 kms2.corp.example.com.", "20 0 1700 kms3.corp.example.com."},
		"branch.example.net.": {"0 50 1688 kms2.corp.example.com."},
		"lab.example.org.":    {"0 100 1688 kms1.corp.example.com.", "20 0 1700 kms3.corp.example.com."},
	}
	for z, w := range want {
		if diff := cmp.Diff(w, served(t, srv, z)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", z, diff)
		}
	}
	for name, qtype := range map[string]uint16{"www.corp.example.com.": dns.TypeA, "_ldap._tcp.corp.example.com.": dns.TypeSRV} {
		if m, err := srv.Query(name, qtype); err != nil || len(m.Answer) != 1 {
			t.Errorf("%s changed: %v %v", name, m, err)
		}
	}
	if r := srvctl(t, srv, "-c", cfg, "plan", "--detailed-exitcode"); r.code != 0 || !strings.Contains(r.stdout, "in 0 of 3 zones") {
		t.Errorf("second plan: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A weight change is exactly one update in one zone.
	serial, _ := srv.Serial("corp.example.com.")
	cfg2 := writeConfig(t, srv, strings.ReplaceAll(strings.Replace(threeZones, "weight: 100", "weight: 60", 1), "{prune}", "none"))
	r = srvctl(t, srv, "-c", cfg2, "plan", "-o", "json")
	p := decodePlan(t, r.stdout)
	var changes []string
	for _, z := range p.Zones {
		for _, c := range z.Changes {
			changes = append(changes, z.Zone+" "+c.Action+" "+c.Target+" "+c.Reason)
		}
	}
	wantChanges := []string{
		"corp.example.com. update kms1.corp.example.com. weight 100 → 60",
		"lab.example.org. update kms1.corp.example.com. weight 100 → 60",
	}
	if diff := cmp.Diff(wantChanges, changes); diff != "" {
		t.Errorf("plan after a weight change (-want +got):\n%s", diff)
	}
	if r := srvctl(t, srv, "-c", cfg2, "apply", "--zone", "corp.example.com"); r.code != 0 {
		t.Fatalf("apply --zone: %+v", r)
	}
	if s, _ := srv.Serial("corp.example.com."); s != serial+1 {
		t.Errorf("serial %d → %d: want exactly one update", serial, s)
	}
	if got := served(t, srv, "lab.example.org."); got[0] != "0 100 1688 kms1.corp.example.com." {
		t.Errorf("--zone corp.example.com changed lab.example.org.: %v", got)
	}
}

func TestPrune(t *testing.T) {
	srv := startThree(t, nil)
	cfg := writeConfig(t, srv, strings.ReplaceAll(threeZones, "{prune}", "none"))
	if r := srvctl(t, srv, "-c", cfg, "apply"); r.code != 0 {
		t.Fatalf("apply: %+v", r)
	}
	// A KMS host srvctl does not know publishes itself.
	if err := srv.NSUpdate("kms-host", "update add _vlmcs._tcp.corp.example.com. 3600 IN SRV 0 0 1688 kms9.corp.example.com."); err != nil {
		t.Fatal(err)
	}
	r := srvctl(t, srv, "-c", cfg, "apply", "-o", "json")
	p := decodePlan(t, r.stdout)
	if r.code != 0 || len(p.Zones[0].Foreign) != 1 || p.Zones[0].Foreign[0].Target != "kms9.corp.example.com." || len(p.Zones[0].Changes) != 0 {
		t.Fatalf("prune none: %+v", r)
	}
	if got := served(t, srv, "corp.example.com."); len(got) != 4 {
		t.Errorf("the foreign record did not survive prune: none: %v", got)
	}

	// Remove kms3 from the config and prune all: the foreign record and kms3's
	// two records go, one delete each.
	all := strings.ReplaceAll(threeZones, "{prune}", "all")
	all = strings.Replace(all, "  - name: kms3.corp.example.com\n    port: 1700\n    priority: 20\n", "", 1)
	all = strings.Replace(all, "hosts: [kms1.corp.example.com, kms3.corp.example.com]", "hosts: [kms1.corp.example.com]", 1)
	cfgAll := writeConfig(t, srv, all)
	r = srvctl(t, srv, "-c", cfgAll, "apply", "-o", "json")
	if r.code != 0 {
		t.Fatalf("apply prune all: %+v", r)
	}
	var deletes []string
	for _, z := range decodePlan(t, r.stdout).Zones {
		for _, c := range z.Changes {
			deletes = append(deletes, z.Zone+" "+c.Action+" "+c.Target)
		}
	}
	wantDeletes := []string{
		"corp.example.com. delete kms3.corp.example.com.",
		"corp.example.com. delete kms9.corp.example.com.",
		"lab.example.org. delete kms3.corp.example.com.",
	}
	if diff := cmp.Diff(wantDeletes, deletes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0 100 1688 kms1.corp.example.com.", "10 0 1688 kms2.corp.example.com."}, served(t, srv, "corp.example.com.")); diff != "" {
		t.Errorf("corp.example.com. (-want +got):\n%s", diff)
	}
}

func TestFailingZonesDoNotStopOthers(t *testing.T) {
	srv := startThree(t, nil)
	// lab.example.org. is signed with a key whose secret is wrong; a fourth
	// zone points at a port where nothing listens; a fifth is not served.
	cfg := writeConfig(t, srv, `
hosts:
  - name: kms1.corp.example.com
    weight: 100
  - name: kms2.corp.example.com
    priority: 10
  - name: kms3.corp.example.com
    port: 1700
    priority: 20
keys:
  - name: srvctl-test
    secret_file: {keyfile}
  - name: wrong
    secret_file: wrong.key
zones:
  - name: corp.example.com
    server: {server}
    key: srvctl-test
  - name: branch.example.net
    server: {server}
    key: srvctl-test
    hosts: [kms2.corp.example.com]
  - name: lab.example.org
    server: {server}
    key: wrong
  - name: down.example.org
    server: 127.0.0.1:1
    key: srvctl-test
  - name: unknown.example.org
    server: {server}
    key: srvctl-test
`)
	// A key file whose name matches but whose secret is not the server's.
	wrong := "key \"wrong\" { algorithm hmac-sha256; secret \"d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==\"; };\n"
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "wrong.key"), []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}

	r := srvctl(t, srv, "-c", cfg, "apply")
	if r.code != 1 {
		t.Fatalf("apply with failing zones: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{
		"lab.example.org. (rfc2136 " + srv.Addr + "): FAILED: reading zone lab.example.org. at " + srv.Addr + ": not authorized",
		"down.example.org. (rfc2136 127.0.0.1:1): FAILED:",
		"connection refused",
		"unknown.example.org. (rfc2136 " + srv.Addr + "): FAILED:",
		"not authoritative",
		"3 zones FAILED: lab.example.org. down.example.org. unknown.example.org.",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output does not contain %q:\n%s", w, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "3 of 5 zones failed: lab.example.org., down.example.org., unknown.example.org.") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if got := served(t, srv, "corp.example.com."); len(got) != 3 {
		t.Errorf("corp.example.com. was not applied: %v", got)
	}
	if got := served(t, srv, "branch.example.net."); len(got) != 1 {
		t.Errorf("branch.example.net. was not applied: %v", got)
	}
	if got := served(t, srv, "lab.example.org."); len(got) != 0 {
		t.Errorf("lab.example.org. was written with a wrong key: %v", got)
	}
	// JSON says the same, per zone.
	r = srvctl(t, srv, "-c", cfg, "plan", "-o", "json")
	if r.code != 1 {
		t.Errorf("plan with failing zones: exit %d, want 1", r.code)
	}
	for _, z := range decodePlan(t, r.stdout).Zones {
		failed := z.Zone == "lab.example.org." || z.Zone == "down.example.org." || z.Zone == "unknown.example.org."
		if failed != (z.Error != "") {
			t.Errorf("zone %s: error %q", z.Zone, z.Error)
		}
	}
}

func TestCLIErrors(t *testing.T) {
	srv := startThree(t, nil)
	cfg := writeConfig(t, srv, strings.ReplaceAll(threeZones, "{prune}", "none"))
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-c", cfg, "plan", "--zone", "nope.example"}, 1, "--zone: not in the config: nope.example."},
		{[]string{"-c", cfg, "plan", "-o", "yaml"}, 1, `--output "yaml": want text or json`},
		{[]string{"-c", filepath.Join(t.TempDir(), "missing.yaml"), "validate"}, 1, "missing.yaml"},
		{[]string{"-c", cfg, "--log-level", "loud", "validate"}, 1, "loud"},
		{[]string{"version"}, 0, "srvctl "},
	} {
		r := srvctl(t, srv, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
			t.Errorf("srvctl %v: exit %d, output %q; want exit %d and %q", tt.args, r.code, r.stdout+r.stderr, tt.code, tt.want)
		}
	}
	if got := served(t, srv, "corp.example.com."); len(got) != 0 {
		t.Errorf("failed commands changed a zone: %v", got)
	}
}

func TestJSONLogs(t *testing.T) {
	srv := startThree(t, nil)
	cfg := writeConfig(t, srv, strings.ReplaceAll(threeZones, "{prune}", "none"))
	r := srvctl(t, srv, "-c", cfg, "--log-format", "json", "--log-level", "debug", "apply")
	if r.code != 0 {
		t.Fatalf("apply: %+v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	applied := 0
	for _, l := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if entry["msg"] == "zone applied" {
			applied++
			if entry["zone"] == nil {
				t.Errorf("zone applied without a zone field: %v", entry)
			}
		}
	}
	if applied != 3 {
		t.Errorf("%d 'zone applied' log lines, want 3:\n%s", applied, r.stderr)
	}
}
