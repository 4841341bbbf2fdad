package ad

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/zones"
)

// Microsoft's "change the Default DNS Permissions for SRV Records", end to
// end on a real DC: KMS1 registers _vlmcs._tcp and owns it; the audit says
// KMS2 cannot update and prints the fix; PlanGrant and ApplyGrant grant the
// group; the audit then says KMS1 and KMS2 can, KMS3 (outside the group)
// cannot, with the membership fix; KMS2's own GSS-TSIG update now works.
func TestScenario(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	c := dial(t, adminOptions(t, dc))
	kms1, kms2, kms3 := dc.Computer(t, "KMS1"), dc.Computer(t, "KMS2"), dc.Computer(t, "KMS3")
	h1, h2, h3 := zones.Canonical(kms1.DNSHostName), zones.Canonical(kms2.DNSHostName), zones.Canonical(kms3.DNSHostName)
	node := dc.NodeDN("_vlmcs._tcp")
	hosts := kmsHosts(dc)

	if !register(t, dc, "KMS1", "_vlmcs._tcp") {
		t.Fatal("KMS1's record is not served after its update")
	}

	// Before the grant.
	rep, z := auditOne(t, c, dc, "_vlmcs._tcp", hosts)
	if z.Partition != "DomainDnsZones" || z.DN != dc.ZoneDN || z.AllowUpdate != "secure only" {
		t.Errorf("zone: partition %q, DN %q, allow update %q; want DomainDnsZones, %s, secure only", z.Partition, z.DN, z.AllowUpdate, dc.ZoneDN)
	}
	if z.Node == nil || !z.Node.Exists || z.Node.DN != node {
		t.Fatalf("node: %+v, want %s", z.Node, node)
	}
	if o := z.Node.Owner; o == nil || o.SID != kms1.SID || o.Name != `SRVCTL\KMS1$` || o.Host != h1 {
		t.Errorf("owner: %+v, want SRVCTL\\KMS1$ %s (host %s)", o, kms1.SID, h1)
	}
	if len(z.Node.Records) != 1 || z.Node.Records[0].Target != h1 || z.Node.Records[0].Static || z.Node.Records[0].RefreshedAt.IsZero() || z.Node.Records[0].Stale {
		t.Errorf("records: %+v, want one fresh dynamic record for %s", z.Node.Records, h1)
	}
	want := map[string]string{h1: VerdictCan, h2: VerdictCannot, h3: VerdictCannot}
	if diff := cmp.Diff(want, verdicts(z)); diff != "" {
		t.Errorf("verdicts before the grant, -want +got:\n%s", diff)
	}
	if !hostAccess(t, z, h1).Owner || hostAccess(t, z, h2).Owner {
		t.Error("KMS1 should own the node, KMS2 not")
	}
	cannot := findingsOf(z.Findings, KindCannotUpdate)
	if len(cannot) != 2 || cannot[0].Host != h2 || cannot[1].Host != h3 || cannot[0].Level != auditor.Critical {
		t.Fatalf("cannot-update findings: %+v, want KMS2 and KMS3 at CRITICAL", cannot)
	}
	f2 := cannot[0]
	for _, part := range []string{"KMS2$", `owner is SRVCTL\KMS1$`, "no ACE grants", "not granted by any ACE", `it is in SRVCTL\Key Management Service Group, but the group may not write`} {
		if !strings.Contains(f2.Detail, part) {
			t.Errorf("KMS2's finding %q lacks %q", f2.Detail, part)
		}
	}
	if !hasLine(f2.Fix, `dsacls "`+node+`" /G "SRVCTL\Key Management Service Group:RPWP"`) ||
		!hasLine(f2.Fix, "Set-Acl", "'AD:"+node+"'", "'"+dc.GroupSID+"'", "'ReadProperty, WriteProperty', 'Allow'") ||
		!hasLine(f2.Fix, "samba-tool dsacl set", "--objectdn='"+node+"'", "--sddl='(A;;RPWP;;;"+dc.GroupSID+")'") {
		t.Errorf("KMS2's fix lacks the grant commands for %s and %s:\n%s", node, dc.GroupSID, strings.Join(f2.Fix, "\n"))
	}
	if hasLine(f2.Fix, "addmembers") {
		t.Errorf("KMS2 is in the group, yet its fix adds it:\n%s", strings.Join(f2.Fix, "\n"))
	}
	if !hasLine(cannot[1].Fix, "samba-tool group addmembers", "'Key Management Service Group' 'KMS3$'") || !hasLine(cannot[1].Fix, "Add-ADGroupMember", "'KMS3$'") {
		t.Errorf("KMS3's fix lacks the membership commands:\n%s", strings.Join(cannot[1].Fix, "\n"))
	}
	if nig := findingsOf(rep.Findings, KindNotInGroup); len(nig) != 1 || nig[0].Host != h3 {
		t.Errorf("not-in-group findings: %+v, want KMS3", nig)
	}
	if rep.Level != auditor.Critical {
		t.Errorf("report level %v, want CRITICAL", rep.Level)
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("audit before the grant:\n%s", text.String())

	// The grant.
	g, err := c.PlanGrant(testCtx(t), dc.Zone, "_vlmcs._tcp")
	if err != nil {
		t.Fatalf("PlanGrant: %v", err)
	}
	t.Logf("plan:\n%s", g)
	// Read and write property, no more: no WRITE_DAC or WRITE_OWNER that
	// would let one KMS host take the node from the others.
	wantACE := "(A;;RPWP;;;" + dc.GroupSID + ")"
	if g.NothingToDo || !g.Exists || g.ACE != wantACE || g.NodeDN != node || g.Group != `SRVCTL\Key Management Service Group` ||
		g.Description != `allow SRVCTL\Key Management Service Group (`+dc.GroupSID+`) to read and write the node's properties (RPWP): its members may add, change and delete the records, nothing more` {
		t.Errorf("plan: %+v", g)
	}
	if strings.Replace(g.After, wantACE, "", 1) != g.Before || strings.Contains(g.Before, wantACE) {
		t.Errorf("the plan's DACL after is not the DACL before plus %s:\nbefore %s\nafter  %s", wantACE, g.Before, g.After)
	}
	if err := c.ApplyGrant(testCtx(t), g); err != nil {
		t.Fatalf("ApplyGrant: %v", err)
	}
	if sddl := dc.SDDL(t, node); !strings.Contains(sddl, ";;;"+dc.GroupSID+")") {
		t.Errorf("samba-tool dsacl get shows no ACE for the group after the grant: %s", sddl)
	}

	// After the grant.
	rep, z = auditOne(t, c, dc, "_vlmcs._tcp", hosts)
	want = map[string]string{h1: VerdictCan, h2: VerdictCan, h3: VerdictCannot}
	if diff := cmp.Diff(want, verdicts(z)); diff != "" {
		t.Errorf("verdicts after the grant, -want +got:\n%s", diff)
	}
	if r := hostAccess(t, z, h2).Reason; !strings.Contains(r, wantACE) {
		t.Errorf("KMS2's reason %q does not name the group's ACE %s", r, wantACE)
	}
	cannot = findingsOf(z.Findings, KindCannotUpdate)
	if len(cannot) != 1 || cannot[0].Host != h3 {
		t.Fatalf("cannot-update findings after the grant: %+v, want KMS3 only", cannot)
	}
	if !strings.Contains(cannot[0].Detail, `it is not in SRVCTL\Key Management Service Group`) ||
		!hasLine(cannot[0].Fix, "samba-tool group addmembers", "'KMS3$'") || hasLine(cannot[0].Fix, "dsacls") {
		t.Errorf("KMS3 after the grant: %q, fix:\n%s\nwant the membership fix only", cannot[0].Detail, strings.Join(cannot[0].Fix, "\n"))
	}
	text.Reset()
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("audit after the grant:\n%s", text.String())

	// The grant is real: KMS2's own update now goes through; KMS3's does not.
	if !register(t, dc, "KMS2", "_vlmcs._tcp") {
		t.Error("KMS2's update after the grant was not applied")
	}
	if register(t, dc, "KMS3", "_vlmcs._tcp") {
		t.Error("KMS3's update was applied, though KMS3 is outside the group")
	}

	// Applying the same grant again changes nothing; a new plan has
	// nothing to do.
	if err := c.ApplyGrant(testCtx(t), g); err != nil {
		t.Errorf("ApplyGrant again: %v", err)
	}
	sd, err := wire.ParseSecurityDescriptor(dc.Entry(t, node, "nTSecurityDescriptor").GetRawAttributeValue("nTSecurityDescriptor"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sd.DACL.SDDL(), wantACE); n != 1 {
		t.Errorf("the group's ACE is %d times in the DACL, want once: %s", n, sd.DACL.SDDL())
	}
	g2, err := c.PlanGrant(testCtx(t), dc.Zone, "_vlmcs._tcp."+dc.Zone)
	if err != nil {
		t.Fatal(err)
	}
	if !g2.NothingToDo || !strings.HasPrefix(g2.Note, "nothing to do: the group can already update") {
		t.Errorf("second plan: nothing to do %v, note %q", g2.NothingToDo, g2.Note)
	}
	if err := c.ApplyGrant(testCtx(t), g2); err != nil {
		t.Errorf("ApplyGrant of an empty plan: %v", err)
	}

	// A DACL changed between plan and apply is refused, and left alone.
	if !register(t, dc, "KMS1", "_other._tcp") {
		t.Fatal("KMS1 could not register _other._tcp")
	}
	g3, err := c.PlanGrant(testCtx(t), dc.Zone, "_other._tcp")
	if err != nil || g3.NothingToDo {
		t.Fatalf("plan for _other._tcp: %+v, %v", g3, err)
	}
	other := dc.NodeDN("_other._tcp")
	dc.AddACE(t, other, "(A;;RP;;;AU)")
	before := dc.SDDL(t, other)
	if err := c.ApplyGrant(testCtx(t), g3); !errors.Is(err, ErrDACLChanged) {
		t.Errorf("ApplyGrant after a concurrent change: %v, want ErrDACLChanged", err)
	} else if !strings.Contains(err.Error(), other) {
		t.Errorf("the error %q does not name the node", err)
	}
	if after := dc.SDDL(t, other); after != before {
		t.Errorf("a refused grant changed the DACL:\nbefore %s\nafter  %s", before, after)
	}

	// RPWP is enough for everything a KMS host does: KMS2 deletes KMS1's
	// record, then the last one, which tombstones the node (a write of
	// dNSTombstoned).
	cc := dc.KinitKeytab(t, kms2.SAM, kms2.Keytab)
	for _, script := range []string{
		"update delete _vlmcs._tcp." + dc.Zone + " SRV 0 100 1688 " + kms1.DNSHostName + ".",
		"update delete _vlmcs._tcp." + dc.Zone + " SRV",
	} {
		out, err := dc.NSUpdateGSS(t, cc, script)
		t.Logf("nsupdate as KMS2$: %s (%v):\n%s", script, err, out)
	}
	if got := served(t, dc, "_vlmcs._tcp."+dc.Zone); len(got) != 0 {
		t.Errorf("after KMS2 deleted the RRset: %v", got)
	}
	if e := dc.Entry(t, node, "dNSTombstoned"); e == nil || e.GetAttributeValue("dNSTombstoned") != "TRUE" {
		t.Errorf("KMS2's deletion of the last record did not tombstone the node: %v", e)
	}
}
