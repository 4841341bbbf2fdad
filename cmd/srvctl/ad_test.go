package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/sambatest"
)

// adConfig writes a config for the DC's zone srvctl.test with the three
// KMS hosts, an ad section with a simple bind over LDAPS as Administrator,
// and a key for the (unused here) rfc2136 side.
func adConfig(t *testing.T, dc *sambatest.DC) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"ldap.pass":  dc.AdminPassword + "\n",
		"srvctl.key": "c3J2Y3RsLWFkLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzIQ==\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	body := fmt.Sprintf(`hosts:
  - name: %s
  - name: %s
  - name: %s
    account: KMS3$
keys:
  - name: srvctl
    secret_file: srvctl.key
zones:
  - name: %s
    server: %s
    key: srvctl
    audit_servers: [%s]
audit:
  probe: none
  state_file: %s
ad:
  url: %s
  ca_file: %s
  bind:
    method: simple
    user: %s@srvctl.test
    password_file: ldap.pass
`, dc.Computers[0].DNSHostName, dc.Computers[1].DNSHostName, dc.Computers[2].DNSHostName,
		dc.Zone, dc.DNSAddr, dc.DNSAddr, filepath.Join(dir, "state.json"), dc.LDAPSURL, dc.CAFile, dc.AdminUser)
	path := filepath.Join(dir, "srvctl.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// srvctlAD runs the CLI in-process and checks that the LDAP password
// appears nowhere in what it printed.
func srvctlAD(t *testing.T, dc *sambatest.DC, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, env)
	r := result{code, out.String(), errb.String()}
	if strings.Contains(r.stdout+r.stderr, dc.AdminPassword) {
		t.Fatalf("the LDAP password appears in the output of srvctl %v", args)
	}
	return r
}

// TestADScenario is the Microsoft scenario through the CLI: KMS1 publishes
// and owns the record, audit ad says KMS2 cannot and prints the fix, ad
// grant shows the change and --apply makes it, then KMS1 and KMS2 can and
// KMS3 (outside the group) cannot; srvctl audit includes the AD checks.
func TestADScenario(t *testing.T) {
	sambatest.RequireSamba(t)
	dc := sambatest.Start(t, sambatest.Options{})
	cfg := adConfig(t, dc)
	kms1, kms2 := dc.Computers[0], dc.Computers[1]
	owner := "_vlmcs._tcp." + dc.Zone

	// Before anyone publishes: no node, and the advice to pre-create it.
	r := srvctlAD(t, dc, "-c", cfg, "audit", "ad")
	if r.code != 1 || !strings.Contains(r.stdout, "no-node") || !strings.Contains(r.stdout, "pre-create the record") {
		t.Fatalf("audit ad before any record: exit %d, want 1 (WARNING) with no-node\n%s%s", r.code, r.stdout, r.stderr)
	}

	cc := dc.KinitKeytab(t, kms1.SAM, kms1.Keytab)
	out, err := dc.NSUpdateGSS(t, cc, fmt.Sprintf("update add %s 3600 IN SRV 0 100 1688 %s.", owner, kms1.DNSHostName))
	t.Logf("KMS1 registers (%v):\n%s", err, out)
	m, err := dc.Query(owner, dns.TypeSRV)
	if err != nil || len(m.Answer) != 1 {
		t.Fatalf("KMS1's record is not served: %v %v", m, err)
	}

	r = srvctlAD(t, dc, "-c", cfg, "audit", "ad", "-o", "nagios")
	if r.code != 2 || !strings.HasPrefix(r.stdout, "SRVCTL AD CRITICAL - ") {
		t.Fatalf("audit ad after KMS1 registered: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"CRITICAL cannot-update " + kms2.DNSHostName + ".",
		"the node's owner is SRVCTL\\KMS1$",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit ad -o nagios lacks %q:\n%s", want, r.stdout)
		}
	}
	r = srvctlAD(t, dc, "-c", cfg, "audit", "ad")
	nodeDN := "DC=_vlmcs._tcp," + dc.ZoneDN
	for _, want := range []string{
		`dsacls "` + nodeDN + `" /G "SRVCTL\Key Management Service Group:RPWP"`,
		"samba-tool dsacl set",
		"--objectdn='" + nodeDN + "'",
		"(A;;RPWP;;;" + dc.GroupSID + ")",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit ad text lacks the fix %q:\n%s", want, r.stdout)
		}
	}

	// The plan changes nothing.
	r = srvctlAD(t, dc, "-c", cfg, "ad", "grant")
	if r.code != 0 || !strings.Contains(r.stdout, dc.GroupSID) || !strings.Contains(r.stdout, "not applied: run again with --apply") {
		t.Fatalf("ad grant: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := srvctlAD(t, dc, "-c", cfg, "audit", "ad", "-o", "json"); hostsCan(t, r.stdout)[kms2.DNSHostName+"."] {
		t.Errorf("KMS2 can update after a grant without --apply")
	}

	r = srvctlAD(t, dc, "-c", cfg, "ad", "grant", "--apply")
	if r.code != 0 || !strings.Contains(r.stdout, "applied, and read back") {
		t.Fatalf("ad grant --apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = srvctlAD(t, dc, "-c", cfg, "ad", "grant", "--apply")
	if r.code != 0 || !strings.Contains(r.stdout, "change:  none") {
		t.Errorf("a second ad grant --apply: exit %d, want nothing to do\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = srvctlAD(t, dc, "-c", cfg, "audit", "ad", "-o", "json")
	can := hostsCan(t, r.stdout)
	want := map[string]bool{kms1.DNSHostName + ".": true, kms2.DNSHostName + ".": true, dc.Computers[2].DNSHostName + ".": false}
	for h, w := range want {
		if can[h] != w {
			t.Errorf("after the grant, %s can update: %v, want %v", h, can[h], w)
		}
	}
	if r.code != 2 {
		t.Errorf("audit ad after the grant: exit %d, want 2 (KMS3 is still refused)", r.code)
	}

	// KMS2's own update now gets in.
	cc2 := dc.KinitKeytab(t, kms2.SAM, kms2.Keytab)
	out, err = dc.NSUpdateGSS(t, cc2, fmt.Sprintf("update add %s 3600 IN SRV 10 50 1688 %s.", owner, kms2.DNSHostName))
	t.Logf("KMS2 registers (%v):\n%s", err, out)
	if m, err := dc.Query(owner, dns.TypeSRV); err != nil || len(m.Answer) != 2 {
		t.Errorf("after the grant KMS2's update was not applied: %v %v", m, err)
	}

	// srvctl audit: the DNS audit and the AD audit, one status.
	r = srvctlAD(t, dc, "-c", cfg, "audit", "-o", "nagios")
	first, _, _ := strings.Cut(r.stdout, "\n")
	if r.code != 2 || !strings.HasPrefix(first, "SRVCTL AUDIT CRITICAL - ") || !strings.Contains(first, "; AD CRITICAL: ") ||
		!strings.Contains(first, " ad_can_update=2;") || !strings.Contains(r.stdout, "\nActive Directory:\n") {
		t.Errorf("srvctl audit with ad: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = srvctlAD(t, dc, "-c", cfg, "audit", "-o", "json")
	var combined struct {
		Level    string          `json:"level"`
		DNSLevel string          `json:"dns_level"`
		AD       json.RawMessage `json:"ad"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &combined); err != nil || combined.Level != "CRITICAL" || combined.DNSLevel == "" || len(combined.AD) == 0 {
		t.Errorf("srvctl audit -o json with ad: %v %+v\n%s", err, combined, r.stdout)
	}

	// A deny for the group comes first: the grant cannot help, and says so.
	dc.AddACE(t, nodeDN, "(D;;WP;;;"+dc.GroupSID+")")
	r = srvctlAD(t, dc, "-c", cfg, "ad", "grant", "--apply")
	if r.code != 1 || !strings.Contains(r.stdout, "remove what denies it") {
		t.Errorf("ad grant --apply behind a deny ACE: exit %d, want 1 saying what to remove\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// hostsCan decodes audit ad -o json into host → can update (any zone).
func hostsCan(t *testing.T, out string) map[string]bool {
	t.Helper()
	var rep struct {
		Zones []struct {
			Hosts []struct {
				Host      string `json:"host"`
				CanUpdate bool   `json:"can_update"`
			} `json:"hosts"`
		} `json:"zones"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("audit ad -o json: %v\n%s", err, out)
	}
	m := map[string]bool{}
	for _, z := range rep.Zones {
		for _, h := range z.Hosts {
			m[h.Host] = h.CanUpdate
		}
	}
	return m
}

// TestADErrors: the AD commands without an ad section, and with a wrong
// password (UNKNOWN for the audit, 1 for grant, the password never shown).
func TestADErrors(t *testing.T) {
	sambatest.RequireSamba(t)
	dc := sambatest.Start(t, sambatest.Options{})
	cfg := adConfig(t, dc)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "ldap.pass"), []byte("wrong-"+dc.AdminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := srvctlAD(t, dc, "-c", cfg, "audit", "ad", "-o", "nagios")
	if r.code != 3 || !strings.HasPrefix(r.stdout, "SRVCTL AUDIT UNKNOWN - ") || !strings.Contains(r.stderr, dc.AdminUser) {
		t.Errorf("audit ad with a wrong password: exit %d, want 3 naming the user\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The zone has no record yet: the DNS part is CRITICAL, which ranks
	// above the AD part's UNKNOWN.
	r = srvctlAD(t, dc, "-c", cfg, "audit", "-o", "nagios")
	if r.code != 2 || !strings.Contains(r.stdout, "; AD UNKNOWN: ") {
		t.Errorf("srvctl audit with a wrong AD password: exit %d, want 2 (DNS CRITICAL) with the AD part UNKNOWN\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = srvctlAD(t, dc, "-c", cfg, "ad", "grant")
	if r.code != 1 {
		t.Errorf("ad grant with a wrong password: exit %d, want 1\n%s", r.code, r.stderr)
	}

	// No ad section.
	noAD := strings.Split(readFile(t, cfg), "ad:\n")[0]
	if err := os.WriteFile(cfg, []byte(noAD), 0o600); err != nil {
		t.Fatal(err)
	}
	r = srvctlAD(t, dc, "-c", cfg, "audit", "ad")
	if r.code != 3 || !strings.Contains(r.stderr, "the config has no ad section") {
		t.Errorf("audit ad without ad: exit %d\n%s", r.code, r.stderr)
	}
	r = srvctlAD(t, dc, "-c", cfg, "ad", "grant", "--apply")
	if r.code != 1 || !strings.Contains(r.stderr, "the config has no ad section") {
		t.Errorf("ad grant without ad: exit %d\n%s", r.code, r.stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAuditADUsage: usage errors of audit ad are UNKNOWN (3), with a
// nagios status line when -o nagios is asked for, like audit's.
func TestAuditADUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-c", "/nonexistent", "audit", "ad", "extra", "-o", "nagios"},
		{"-c", "/nonexistent", "audit", "ad", "--bogus"},
		{"-c", "/nonexistent", "audit", "ad", "-o", "xml"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb, env)
		if code != 3 {
			t.Errorf("srvctl %v: exit %d, want 3\n%s%s", args, code, out.String(), errb.String())
		}
		if slices.Contains(args, "nagios") && !strings.HasPrefix(out.String(), "SRVCTL AUDIT UNKNOWN - audit ad takes no arguments") {
			t.Errorf("srvctl %v: stdout %q, want the UNKNOWN status line", args, out.String())
		}
	}
}
