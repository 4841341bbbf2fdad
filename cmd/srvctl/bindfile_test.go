package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/bindtest"
)

// TestBindfileCLI: plan and apply a bindfile zone that a real named loads
// as a static zone $INCLUDing srvctl's fragment, reloaded through rndc.
func TestBindfileCLI(t *testing.T) {
	bindtest.RequireNamed(t)
	dir := t.TempDir()
	frag := filepath.Join(dir, "static.test.vlmcs")
	zoneFile := filepath.Join(dir, "db.static.test")
	zone := fmt.Sprintf("$TTL 300\n@ IN SOA ns hostmaster ( 7 ; serial\n 3600 600 86400 300 )\n@ IN NS ns\nns IN A 127.0.0.1\n$INCLUDE %q\n", frag)
	if err := os.WriteFile(zoneFile, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(frag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := bindtest.Start(t, bindtest.Options{
		Rndc: true,
		Conf: []string{fmt.Sprintf("zone \"static.test\" {\n\ttype primary;\n\tfile %q;\n};", zoneFile)},
	})
	cfg := writeConfig(t, srv, fmt.Sprintf(`
hosts:
  - name: kms1.static.test
    weight: 100
  - name: kms2.static.test
    priority: 10
zones:
  - name: static.test
    backend: bindfile
    file: %s
    zone_file: %s
    check_command: [named-checkzone, -q, "{zone}", "{zone_file}"]
    reload_command: [rndc, -c, %s, reload, "{zone}"]
`, frag, zoneFile, srv.RndcConf))

	r := srvctl(t, srv, "-c", cfg, "plan", "--detailed-exitcode")
	if r.code != 2 || !strings.Contains(r.stdout, "(bindfile "+frag+")") {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = srvctl(t, srv, "-c", cfg, "apply"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := []string{"0 100 1688 kms1.static.test.", "10 0 1688 kms2.static.test."}
	if diff := cmp.Diff(want, served(t, srv, "static.test")); diff != "" {
		t.Errorf("served after apply (-want +got):\n%s", diff)
	}
	serial, err := srv.Serial("static.test")
	if err != nil || serial <= 7 {
		t.Errorf("serial after apply: %d, %v; want it bumped past 7", serial, err)
	}
	before, err := os.Stat(frag)
	if err != nil {
		t.Fatal(err)
	}
	if r = srvctl(t, srv, "-c", cfg, "apply"); r.code != 0 || !strings.Contains(r.stdout, "no changes") {
		t.Fatalf("second apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	after, err := os.Stat(frag)
	if err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the second apply touched the fragment: mtime %v -> %v (%v)", before.ModTime(), after.ModTime(), err)
	}

	// A journal beside the zone file: the zone is dynamic, refused.
	if err := os.WriteFile(zoneFile+".jnl", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = srvctl(t, srv, "-c", cfg, "plan")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, ".jnl") {
		t.Errorf("plan with a journal: exit %d, want 1 naming the journal\n%s%s", r.code, r.stdout, r.stderr)
	}
}
