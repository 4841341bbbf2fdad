package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/sambatest"
)

// gssConfig writes a config that publishes hosts in the DC's zone with
// GSS-TSIG as the computer account c, with the credential line cred (keytab,
// ccache or password_file), and returns its path.
func gssConfig(t *testing.T, dc *sambatest.DC, principal, cred string, hosts ...sambatest.Computer) string {
	t.Helper()
	dir := t.TempDir()
	var hs strings.Builder
	for i, h := range hosts {
		fmt.Fprintf(&hs, "  - name: %s\n    priority: %d\n    weight: 100\n", h.DNSHostName, 10*i)
	}
	body := fmt.Sprintf(`hosts:
%szones:
  - name: %s
    server: %s
    auth: gss-tsig
    kerberos:
      realm: %s
      principal: %s
      %s
      krb5_conf: %s
      server_name: %s
    audit_servers: [%s]
audit:
  probe: none
  state_file: %s
`, hs.String(), dc.Zone, dc.DNSAddr, dc.Realm, principal, cred, dc.Krb5Conf, dc.HostName, dc.DNSAddr, filepath.Join(dir, "state.json"))
	path := filepath.Join(dir, "srvctl.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func passwordFile(t *testing.T, pw string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "krb.pass")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func dcSRV(t *testing.T, dc *sambatest.DC) []string {
	t.Helper()
	m, err := dc.Query("_vlmcs._tcp."+dc.Zone, dns.TypeSRV)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range m.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target))
		}
	}
	slices.Sort(out)
	return out
}

// TestGSSTSIGApply is issue 7 against a real Samba AD DC: srvctl with KMS1's
// keytab creates _vlmcs._tcp and re-plans to no changes; with KMS2's
// credentials it is refused with the clear message until the group is
// granted write access, then succeeds; a password and a ccache work too;
// a wrong password and an unknown principal give clear errors.
func TestGSSTSIGApply(t *testing.T) {
	sambatest.RequireSamba(t)
	dc := sambatest.Start(t, sambatest.Options{})
	kms1, kms2 := dc.Computer(t, "KMS1"), dc.Computer(t, "KMS2")
	want1 := []string{"0 100 1688 " + kms1.DNSHostName + "."}

	cfg := gssConfig(t, dc, kms1.SAM, "keytab: "+kms1.Keytab, kms1)
	r := srvctlAD(t, dc, "-c", cfg, "apply")
	if r.code != 0 {
		t.Fatalf("apply as KMS1$ (keytab): exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := dcSRV(t, dc); !slices.Equal(got, want1) {
		t.Errorf("after apply the zone serves %q, want %q", got, want1)
	}
	if r := srvctlAD(t, dc, "-c", cfg, "plan", "--detailed-exitcode"); r.code != 0 {
		t.Errorf("plan after apply: exit %d, want 0 (no changes)\n%s%s", r.code, r.stdout, r.stderr)
	}

	// KMS2 may not touch the node KMS1 owns.
	cfg2 := gssConfig(t, dc, kms2.SAM, "password_file: "+passwordFile(t, kms2.Password), kms1, kms2)
	r = srvctlAD(t, dc, "-c", cfg2, "apply")
	wantMsg := "the account " + kms2.SAM + "@" + dc.Realm + " may not update _vlmcs._tcp." + strings.TrimSuffix(dc.Zone, ".") + ": see `srvctl audit ad`"
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, wantMsg) {
		t.Fatalf("apply as KMS2$ before the grant: exit %d, want 1 with %q\n%s%s", r.code, wantMsg, r.stdout, r.stderr)
	}
	if got := dcSRV(t, dc); !slices.Equal(got, want1) {
		t.Errorf("a refused apply changed the zone: %q", got)
	}

	dc.AddACE(t, dc.NodeDN("_vlmcs._tcp"), "(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;"+dc.GroupSID+")")
	r = srvctlAD(t, dc, "-c", cfg2, "apply")
	want2 := []string{"0 100 1688 " + kms1.DNSHostName + ".", "10 100 1688 " + kms2.DNSHostName + "."}
	if r.code != 0 {
		t.Fatalf("apply as KMS2$ after the grant: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := dcSRV(t, dc); !slices.Equal(got, want2) {
		t.Errorf("after KMS2's apply the zone serves %q, want %q", got, want2)
	}

	// A ccache from kinit works too: swap the priorities.
	cc := dc.KinitKeytab(t, kms2.SAM, kms2.Keytab)
	cfg3 := gssConfig(t, dc, kms2.SAM, "ccache: "+cc, kms2, kms1)
	if r := srvctlAD(t, dc, "-c", cfg3, "apply"); r.code != 0 {
		t.Errorf("apply with a ccache: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	want3 := []string{"0 100 1688 " + kms2.DNSHostName + ".", "10 100 1688 " + kms1.DNSHostName + "."}
	if got := dcSRV(t, dc); !slices.Equal(got, want3) {
		t.Errorf("after the apply with a ccache the zone serves %q, want %q", got, want3)
	}
	if r := srvctlAD(t, dc, "-c", cfg3, "plan", "--detailed-exitcode"); r.code != 0 {
		t.Errorf("plan with a ccache: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Clear errors for bad credentials; the password never shows.
	bad := gssConfig(t, dc, kms2.SAM, "password_file: "+passwordFile(t, "not-"+kms2.Password), kms1)
	r = srvctlAD(t, dc, "-c", bad, "plan")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "wrong password") || strings.Contains(r.stdout+r.stderr, "not-"+kms2.Password) {
		t.Errorf("a wrong password: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	nobody := gssConfig(t, dc, "NOBODY$", "password_file: "+passwordFile(t, "whatever"), kms1)
	r = srvctlAD(t, dc, "-c", nobody, "plan")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "NOBODY$") || !strings.Contains(r.stdout+r.stderr, "the KDC does not know this principal") {
		t.Errorf("an unknown principal: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
