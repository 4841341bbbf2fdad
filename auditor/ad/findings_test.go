package ad

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/zones"
)

// The findings other than the scenario's, each on its own name of one
// shared DC: write access on dnsRecord only, a deny ACE, a tombstone, a
// static record, a record that stopped refreshing, LDAP differing from
// DNS, a zone not in the directory, hosts without accounts or outside the
// config, a disabled owner; then the LDAP round trips of 20 zones × 3 hosts.
func TestFindings(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	c := dial(t, adminOptions(t, dc))
	kms1, kms2 := dc.Computer(t, "KMS1"), dc.Computer(t, "KMS2")
	h1, h2, h3 := zones.Canonical(kms1.DNSHostName), zones.Canonical(kms2.DNSHostName), zones.Canonical(dc.Computer(t, "KMS3").DNSHostName)
	hosts := kmsHosts(dc)

	t.Run("dnsRecord only", func(t *testing.T) {
		if !register(t, dc, "KMS1", "_ro._tcp") {
			t.Fatal("KMS1 could not register _ro._tcp")
		}
		node := dc.NodeDN("_ro._tcp")
		dc.AddACE(t, node, "(OA;;WP;e0fa1e69-9b45-11d0-afdd-00c04fd930c9;;"+dc.GroupSID+")")
		_, z := auditOne(t, c, dc, "_ro._tcp", hosts[:2])
		if diff := cmp.Diff(map[string]string{h1: VerdictCan, h2: VerdictRecordOnly}, verdicts(z)); diff != "" {
			t.Errorf("verdicts, -want +got:\n%s", diff)
		}
		fs := findingsOf(z.Findings, KindRecordOnly)
		if len(fs) != 1 || fs[0].Host != h2 || fs[0].Level != auditor.Warning || !strings.Contains(fs[0].Detail, "e0fa1e69-9b45-11d0-afdd-00c04fd930c9") {
			t.Fatalf("dnsrecord-only findings: %+v", fs)
		}
		if !hasLine(fs[0].Fix, "dsacls", node, ":RPWP") {
			t.Errorf("no grant in the fix:\n%s", strings.Join(fs[0].Fix, "\n"))
		}
		// The object ACE is real: KMS2 can add a record.
		if !register(t, dc, "KMS2", "_ro._tcp") {
			t.Error("KMS2 could not add a record with WriteProperty on dnsRecord")
		}
	})

	t.Run("deny wins", func(t *testing.T) {
		if !register(t, dc, "KMS1", "_deny._tcp") {
			t.Fatal("KMS1 could not register _deny._tcp")
		}
		g, err := c.PlanGrant(testCtx(t), dc.Zone, "_deny._tcp")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ApplyGrant(testCtx(t), g); err != nil {
			t.Fatal(err)
		}
		node := dc.NodeDN("_deny._tcp")
		deny := "(D;;WP;;;" + kms2.SID + ")"
		dc.AddACE(t, node, deny)
		_, z := auditOne(t, c, dc, "_deny._tcp", hosts[:2])
		if diff := cmp.Diff(map[string]string{h1: VerdictCan, h2: VerdictCannot}, verdicts(z)); diff != "" {
			t.Errorf("verdicts, -want +got:\n%s", diff)
		}
		if r := hostAccess(t, z, h2).Reason; !strings.Contains(r, "denied by "+deny) {
			t.Errorf("KMS2's reason %q does not name the deny ACE", r)
		}
		fs := findingsOf(z.Findings, KindCannotUpdate)
		if len(fs) != 1 || !strings.Contains(fs[0].Detail, `the deny ACE `+deny+` (for SRVCTL\KMS2$) comes first`) {
			t.Fatalf("cannot-update findings: %+v", fs)
		}
		if !hasLine(fs[0].Fix, `dsacls "`+node+`" /R "SRVCTL\KMS2$"`) || !hasLine(fs[0].Fix, "RemoveAccessRuleSpecific", "'"+kms2.SID+"'", "'Deny'") {
			t.Errorf("the fix does not remove the deny ACE:\n%s", strings.Join(fs[0].Fix, "\n"))
		}
		if hasLine(fs[0].Fix, "/G") {
			t.Errorf("the group already has full control, yet the fix grants it:\n%s", strings.Join(fs[0].Fix, "\n"))
		}
		// Samba agrees: KMS2's update is refused.
		if register(t, dc, "KMS2", "_deny._tcp") {
			t.Error("KMS2's update went through despite the deny ACE")
		}
	})

	t.Run("tombstone", func(t *testing.T) {
		if !register(t, dc, "KMS1", "_gone._tcp") {
			t.Fatal("KMS1 could not register _gone._tcp")
		}
		dc.Tombstone(t, "_gone._tcp")
		_, z := auditOne(t, c, dc, "_gone._tcp", hosts[:1])
		if z.Node == nil || !z.Node.Tombstoned || z.Node.TombstonedAt.IsZero() || len(z.Node.Records) != 0 {
			t.Fatalf("node: %+v, want tombstoned with the time, no records", z.Node)
		}
		fs := findingsOf(z.Findings, KindTombstoned)
		if len(fs) != 1 || !strings.Contains(fs[0].Detail, `owner (SRVCTL\KMS1$)`) {
			t.Errorf("tombstoned findings: %+v", fs)
		}
		if s := findingsOf(z.Findings, KindStatic); len(s) != 0 {
			t.Errorf("a tombstone reported as static: %+v", s)
		}
		if v := hostAccess(t, z, h1).Verdict; v != VerdictCan {
			t.Errorf("KMS1 on its tombstoned node: %s, want %s (the DACL stays)", v, VerdictCan)
		}
	})

	t.Run("static", func(t *testing.T) {
		dc.AddStatic(t, "_static._tcp", "SRV", "kms3.srvctl.test 1688 10 5")
		_, z := auditOne(t, c, dc, "_static._tcp", hosts)
		want := []Record{{Record: zones.Record{Target: h3, Port: 1688, Priority: 10, Weight: 5, TTL: 900}, Static: true}}
		if diff := cmp.Diff(want, z.Node.Records, cmpSerial); diff != "" {
			t.Errorf("records, -want +got:\n%s", diff)
		}
		fs := findingsOf(z.Findings, KindStatic)
		if len(fs) != 1 || fs[0].Level != auditor.OK || fs[0].Host != h3 || !strings.Contains(fs[0].Detail, "never scavenges") {
			t.Errorf("static findings: %+v", fs)
		}
		if o := z.Node.Owner; o == nil || o.Name != `SRVCTL\Administrator` {
			t.Errorf("owner of a record added by samba-tool: %+v, want the Administrator", o)
		}
		for _, k := range []Kind{KindOwnerForeign, KindOwnerDeleted, KindOwnerDisabled, KindDiffers} {
			if fs := findingsOf(z.Findings, k); len(fs) != 0 {
				t.Errorf("unexpected %s: %+v", k, fs)
			}
		}
	})

	t.Run("aged record, DNS differs", func(t *testing.T) {
		if !register(t, dc, "KMS1", "_stale._tcp") {
			t.Fatal("KMS1 could not register _stale._tcp")
		}
		// Age the record by 30 days, as a host that stopped refreshing
		// leaves it.
		stamp := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Hour)
		old, err := wire.MarshalSRV(wire.SRV{Priority: 0, Weight: 100, Port: 1688, Target: h1}, 3600, 7, stamp)
		if err != nil {
			t.Fatal(err)
		}
		m := ldap.NewModifyRequest(dc.NodeDN("_stale._tcp"), nil)
		m.Replace("dnsRecord", []string{string(old)})
		if err := dc.LDAP(t).Modify(m); err != nil {
			t.Fatal(err)
		}
		extra := zones.Record{Target: "kms7.srvctl.test.", Port: 1688, TTL: 3600}
		rep, err := c.Audit(testCtx(t), []Request{{Zone: dc.Zone, Owner: "_stale._tcp", Hosts: hosts[:1],
			Served: append(served(t, dc, "_stale._tcp."+dc.Zone), extra)}})
		if err != nil {
			t.Fatal(err)
		}
		z := rep.Zones[0]
		// Aging is off (Samba's default): the TimeStamp is reported, but
		// the record is no stale candidate (TestAging has aging on).
		want := []Refresh{{Zone: dc.Zone, Target: h1, Port: 1688, Weight: 100, LastRefresh: stamp.UTC()}}
		if diff := cmp.Diff(want, rep.Refreshes()); diff != "" {
			t.Errorf("refreshes, -want +got:\n%s", diff)
		}
		if fs := findingsOf(z.Findings, KindStale); len(fs) != 0 {
			t.Errorf("stopped-refreshing findings without aging: %+v", fs)
		}
		ds := findingsOf(z.Findings, KindDiffers)
		if len(ds) != 1 || !strings.Contains(ds[0].Detail, "the DNS servers answer 3600 SRV 0 0 1688 kms7.srvctl.test., which the directory does not hold") ||
			strings.Contains(ds[0].Detail, "kms1") {
			t.Errorf("differs-from-dns findings: %+v", ds)
		}
	})

	t.Run("zones and accounts", func(t *testing.T) {
		rep, err := c.Audit(testCtx(t), []Request{
			{Zone: "SRVCTL.test", Owner: "_VLMCS._tcp.srvctl.test.", Hosts: []Host{{Name: h1}, {Name: "kms9.srvctl.test."}, {Name: "alias.example.", Account: "kms2"}}},
			{Zone: "nowhere.test.", Hosts: []Host{{Name: h1}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if z := rep.Zones[0]; z.Zone != dc.Zone || z.Owner != "_vlmcs._tcp."+dc.Zone || z.Node == nil || z.Node.Exists {
			t.Errorf("zone 0: %s %s %+v: want the absent _vlmcs._tcp node of %s", z.Zone, z.Owner, z.Node, dc.Zone)
		}
		nn := findingsOf(rep.Zones[0].Findings, KindNoNode)
		if len(nn) != 1 || !hasLine(nn[0].Fix, "samba-tool dns add", "'_vlmcs._tcp' SRV 'kms1.srvctl.test 1688 0 0'") ||
			!hasLine(nn[0].Fix, "dnscmd dc1.srvctl.test /recordadd srvctl.test _vlmcs._tcp SRV 0 0 1688 kms1.srvctl.test") ||
			!hasLine(nn[0].Fix, "--sddl='(A;;RPWP;;;"+dc.GroupSID+")'") {
			t.Errorf("no-node findings: %+v", nn)
		}
		ni := findingsOf(rep.Zones[1].Findings, KindNotIntegrated)
		if len(ni) != 1 || rep.Zones[1].Partition != "" || rep.Zones[1].Node != nil || !strings.Contains(ni[0].Detail, "nowhere.test.") {
			t.Errorf("zone not in the directory: %+v", rep.Zones[1])
		}
		na := findingsOf(rep.Findings, KindNoAccount)
		if len(na) != 1 || na[0].Host != "kms9.srvctl.test." || !strings.Contains(na[0].Detail, "dNSHostName kms9.srvctl.test") {
			t.Errorf("no-account findings: %+v", na)
		}
		var got []string
		for _, a := range rep.Accounts {
			got = append(got, fmt.Sprintf("%s %s %v %s", a.Host, a.Lookup, a.Found, a.SAM))
		}
		want := []string{h1 + " dNSHostName true KMS1$", "kms9.srvctl.test. dNSHostName false ", "alias.example. sAMAccountName true KMS2$"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("accounts, -want +got:\n%s", diff)
		}
		if em := findingsOf(rep.Findings, KindExtraMember); len(em) != 0 {
			t.Errorf("KMS2 is configured (by account), yet: %+v", em)
		}

		// No node: the grant says so and cannot apply; a zone not in the
		// directory has no grant at all.
		g, err := c.PlanGrant(testCtx(t), dc.Zone, "")
		if err != nil {
			t.Fatal(err)
		}
		if g.Exists || !g.NothingToDo || !strings.Contains(g.Note, "pre-create it") || !hasLine(g.Fix, "samba-tool dns add") {
			t.Errorf("plan for an absent node: %+v", g)
		}
		if err := c.ApplyGrant(testCtx(t), g); !errors.Is(err, ErrNoNode) {
			t.Errorf("ApplyGrant on an absent node: %v, want ErrNoNode", err)
		}
		if dc.Entry(t, dc.NodeDN("_vlmcs._tcp"), "dnsRecord") != nil {
			t.Error("a grant created the node")
		}
		if _, err := c.PlanGrant(testCtx(t), "nowhere.test.", ""); err == nil || !strings.Contains(err.Error(), "nowhere.test. is not in the directory") {
			t.Errorf("plan for a zone not in the directory: %v", err)
		}

		rep, err = c.Audit(testCtx(t), []Request{{Zone: dc.Zone, Hosts: hosts[:1]}})
		if err != nil {
			t.Fatal(err)
		}
		em := findingsOf(rep.Findings, KindExtraMember)
		if len(em) != 1 || em[0].Host != "KMS2$" || !hasLine(em[0].Fix, "samba-tool group removemembers", "'KMS2$'") {
			t.Errorf("extra-member findings: %+v", em)
		}
	})

	t.Run("disabled owner", func(t *testing.T) {
		if !register(t, dc, "KMS3", "_k3._tcp") {
			t.Fatal("KMS3 could not register _k3._tcp")
		}
		dc.SambaTool(t, "user", "disable", "KMS3$")
		rep, z := auditOne(t, c, dc, "_k3._tcp", hosts)
		fs := findingsOf(z.Findings, KindOwnerDisabled)
		if len(fs) != 1 || !strings.Contains(fs[0].Detail, `SRVCTL\KMS3$`) || !hasLine(fs[0].Fix, "dsacls", "/G") {
			t.Errorf("owner-disabled findings: %+v", fs)
		}
		if a := hostAccess(t, z, h3); a.Verdict != VerdictCannot || !a.Owner || !strings.HasPrefix(a.Reason, "the account is disabled") {
			t.Errorf("KMS3 on its own node while disabled: %+v", a)
		}
		if ad := findingsOf(rep.Findings, KindAccountDisabled); len(ad) != 1 || ad[0].Host != h3 {
			t.Errorf("account-disabled findings: %+v", ad)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.Audit(ctx, []Request{{Zone: dc.Zone, Hosts: hosts}}); !errors.Is(err, context.Canceled) {
			t.Errorf("Audit with a cancelled context: %v", err)
		}
	})

	t.Run("round trips", func(t *testing.T) {
		// 3 zones in the directory (one with a node), 17 not.
		for _, z := range []string{"extra1.test", "extra2.test"} {
			dc.SambaTool(t, "dns", "zonecreate", dc.Addr, z)
		}
		names := []string{dc.Zone, "extra1.test.", "extra2.test."}
		for i := range 17 {
			names = append(names, fmt.Sprintf("absent%d.test.", i))
		}
		audit := func(n int) (*Report, int64) {
			var reqs []Request
			for _, z := range names[:n] {
				reqs = append(reqs, Request{Zone: z, Hosts: hosts})
			}
			before := c.Operations()
			rep, err := c.Audit(testCtx(t), reqs)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Operations != c.Operations()-before {
				t.Errorf("report says %d operations, the client counted %d", rep.Operations, c.Operations()-before)
			}
			return rep, rep.Operations
		}
		// 1 zone: zones (1 partition: all found in the first), group and
		// members (2), accounts (1) and their tokenGroups (3), the node (1).
		_, one := audit(1)
		if one != 1+2+1+3+1 {
			t.Errorf("1 zone × 3 hosts: %d LDAP operations, want 8", one)
		}
		// 20 zones: 3 partitions searched, the 3 nodes of DomainDnsZones
		// read by one subtree search; the accounts are read once, not once
		// per zone.
		rep, twenty := audit(20)
		if twenty != 3+2+1+3+1 {
			t.Errorf("20 zones × 3 hosts: %d LDAP operations, want 10", twenty)
		}
		s := rep.Summarize()
		if s.Zones != 20 || s.NotIntegrated != 17 || s.CanUpdate+s.CannotUpdate+s.RecordOnly+s.UnknownAccess != 60 {
			t.Errorf("summary: %+v", s)
		}
		t.Logf("LDAP operations: 1 zone × 3 hosts: %d; 20 zones × 3 hosts: %d", one, twenty)
		if !slices.ContainsFunc(rep.Zones, func(z Zone) bool { return z.Zone == "extra2.test." && z.Partition == "DomainDnsZones" }) {
			t.Error("extra2.test. not found in DomainDnsZones")
		}
	})
}

// cmpSerial ignores the serial of records, which depends on the DC's
// history.
var cmpSerial = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Serial" }, cmp.Ignore())
