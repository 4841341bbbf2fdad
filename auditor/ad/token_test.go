package ad

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/sambatest"
	"github.com/srvctl/srvctl/zones"
)

// grantGroup plans and applies the group's grant on name (relative to the
// zone).
func grantGroup(t *testing.T, c *Client, dc *sambatest.DC, name string) {
	t.Helper()
	g, err := c.PlanGrant(testCtx(t), dc.Zone, name)
	if err != nil {
		t.Fatalf("PlanGrant %s: %v", name, err)
	}
	if err := c.ApplyGrant(testCtx(t), g); err != nil {
		t.Fatalf("ApplyGrant %s: %v", name, err)
	}
}

// The token a DNS server builds for a GSS-TSIG update's signer holds more
// than the account and its groups: NETWORK and Authentication authority
// asserted identity (Samba adds both), and Enterprise Domain Controllers
// for a DC's account. The audit's verdicts agree with what Samba does with
// the hosts' own updates.
func TestNetworkToken(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	c := dial(t, adminOptions(t, dc))
	hosts := kmsHosts(dc)
	h1, h2 := hosts[0].Name, hosts[1].Name

	t.Run("a DC as KMS host", func(t *testing.T) {
		if !register(t, dc, "KMS1", "_dc._tcp") {
			t.Fatal("KMS1 could not register _dc._tcp")
		}
		dcHost := zones.Canonical(dc.HostName)
		_, z := auditOne(t, c, dc, "_dc._tcp", []Host{hosts[0], {Name: dcHost}})
		if diff := cmp.Diff(map[string]string{h1: VerdictCan, dcHost: VerdictCan}, verdicts(z)); diff != "" {
			t.Errorf("verdicts, -want +got:\n%s", diff)
		}
		if r := hostAccess(t, z, dcHost).Reason; !strings.Contains(r, ";;;ED)") {
			t.Errorf("the DC's access %q is not by the Enterprise Domain Controllers ACE", r)
		}
		// Samba agrees: DC1$'s own update goes through.
		cc := dc.KinitKeytab(t, "DC1$", filepath.Join(dc.Dir, "private", "secrets.keytab"))
		out, err := dc.NSUpdateGSS(t, cc, "update add _dc._tcp."+dc.Zone+" 3600 IN SRV 0 100 1688 "+dc.HostName+".")
		t.Logf("nsupdate as DC1$ (%v):\n%s", err, out)
		if !slices.ContainsFunc(served(t, dc, "_dc._tcp."+dc.Zone), func(r zones.Record) bool { return r.Target == dcHost }) {
			t.Error("Samba refused DC1$'s update")
		}
	})

	for _, tc := range []struct {
		name, node, sid, who string
	}{
		{"deny NETWORK", "_nu._tcp", "S-1-5-2", `NT AUTHORITY\NETWORK`},
		{"deny Authentication authority asserted identity", "_as._tcp", "S-1-18-1", "Authentication authority asserted identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !register(t, dc, "KMS1", tc.node) {
				t.Fatalf("KMS1 could not register %s", tc.node)
			}
			grantGroup(t, c, dc, tc.node)
			// samba-tool puts the deny ACE first, before the group's grant.
			dc.AddACE(t, dc.NodeDN(tc.node), "(D;;WP;;;"+tc.sid+")")
			_, z := auditOne(t, c, dc, tc.node, hosts[:2])
			if diff := cmp.Diff(map[string]string{h1: VerdictCannot, h2: VerdictCannot}, verdicts(z)); diff != "" {
				t.Errorf("verdicts, -want +got:\n%s", diff)
			}
			fs := findingsOf(z.Findings, KindCannotUpdate)
			if len(fs) != 2 || fs[1].Host != h2 || !strings.Contains(fs[1].Detail, "(for "+tc.who+") comes first") {
				t.Fatalf("cannot-update findings: %+v", fs)
			}
			// The fix removes the deny ACE (PowerShell: dsacls /R would take
			// a well-known group's allow ACEs too) and grants nothing: the
			// group has its grant.
			if !hasLine(fs[1].Fix, "RemoveAccessRuleSpecific", "'"+tc.sid+"'") || hasLine(fs[1].Fix, "dsacls") || hasLine(fs[1].Fix, "dsacl set") {
				t.Errorf("KMS2's fix:\n%s", strings.Join(fs[1].Fix, "\n"))
			}
			// Samba agrees: KMS2's update is refused.
			if register(t, dc, "KMS2", tc.node) {
				t.Errorf("Samba accepted KMS2's update despite (D;;WP;;;%s)", tc.sid)
			}
		})
	}
}

// A deny ACE on dNSTombstoned leaves a host "dnsRecord only": it can add
// records, not delete the last one. The finding names the deny ACE and
// removes it, and does not grant what the group already has.
func TestDenyTombstoned(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	c := dial(t, adminOptions(t, dc))
	hosts := kmsHosts(dc)
	h1, h2 := hosts[0].Name, hosts[1].Name
	kms2 := dc.Computer(t, "KMS2")
	const tomb = "d5eb2eb7-be4e-463b-a214-634a44d7392e"
	for _, tc := range []struct {
		name, node, sid, who string
		want                 map[string]string
		dsacls               bool
	}{
		{"for KMS2", "_t1._tcp", kms2.SID, `SRVCTL\KMS2$`, map[string]string{h1: VerdictCan, h2: VerdictRecordOnly}, true},
		{"for Everyone", "_t2._tcp", "S-1-1-0", "Everyone", map[string]string{h1: VerdictRecordOnly, h2: VerdictRecordOnly}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !register(t, dc, "KMS1", tc.node) {
				t.Fatalf("KMS1 could not register %s", tc.node)
			}
			grantGroup(t, c, dc, tc.node)
			deny := "(OD;;WP;" + tomb + ";;" + tc.sid + ")"
			dc.AddACE(t, dc.NodeDN(tc.node), deny)
			_, z := auditOne(t, c, dc, tc.node, hosts[:2])
			if diff := cmp.Diff(tc.want, verdicts(z)); diff != "" {
				t.Errorf("verdicts, -want +got:\n%s", diff)
			}
			var f *Finding
			for i, x := range findingsOf(z.Findings, KindRecordOnly) {
				if x.Host == h2 {
					f = &findingsOf(z.Findings, KindRecordOnly)[i]
				}
			}
			if f == nil {
				t.Fatalf("no dnsrecord-only finding for KMS2: %+v", z.Findings)
			}
			wantACE := strings.Replace(deny, "S-1-1-0", "WD", 1)
			if !strings.Contains(f.Detail, "the deny ACE "+wantACE+" (for "+tc.who+") comes first") {
				t.Errorf("the finding does not name the deny ACE %s: %s", wantACE, f.Detail)
			}
			if !hasLine(f.Fix, "RemoveAccessRuleSpecific", "'"+tc.sid+"'", "'Deny'") || hasLine(f.Fix, "/G") || hasLine(f.Fix, "dsacl set") ||
				hasLine(f.Fix, `/R "`+tc.who+`"`) != tc.dsacls {
				t.Errorf("the fix does not remove the deny ACE, or grants:\n%s", strings.Join(f.Fix, "\n"))
			}
			// Samba agrees: KMS2 adds its record, but cannot delete the
			// last one.
			if !register(t, dc, "KMS2", tc.node) {
				t.Fatal("KMS2 could not add its record")
			}
			cc := dc.KinitKeytab(t, kms2.SAM, kms2.Keytab)
			out, err := dc.NSUpdateGSS(t, cc, "update delete "+tc.node+"."+dc.Zone+" SRV")
			t.Logf("KMS2 deletes the RRset (%v):\n%s", err, out)
			if got := served(t, dc, tc.node+"."+dc.Zone); len(got) == 0 {
				t.Error("KMS2 deleted every record despite the deny on dNSTombstoned")
			}
		})
	}
}
