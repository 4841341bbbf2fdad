package ad

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/internal/golden"
	"github.com/srvctl/srvctl/zones"
)

// A synthetic domain for the judge: what the directory reads would return,
// without a directory, so that the report is the same on every run.
var (
	now       = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	domainSID = wire.MustParseSIDString("S-1-5-21-1-2-3")
	groupSID  = domainSID.WithRID(1103)
)

func synthAccount(sam, host string, rid uint32, groups ...wire.SID) *account {
	return &account{dn: "CN=" + strings.TrimSuffix(sam, "$") + ",CN=Computers,DC=corp,DC=example", sam: sam, dnsHostName: host,
		sid: domainSID.WithRID(rid), uac: 0x1000, groups: append(groups, domainSID.WithRID(wire.RIDDomainComputers))}
}

func ace(typ wire.ACEType, mask wire.Mask, sid wire.SID) wire.ACE {
	return wire.ACE{Type: typ, Mask: mask, SID: sid}
}

func sd(owner wire.SID, aces ...wire.ACE) *wire.SecurityDescriptor {
	inherited := wire.ACE{Type: wire.ACEAccessAllowed, Flags: wire.ACEContainerInherit | wire.ACEInherited, Mask: wire.FullControl, SID: domainSID.WithRID(wire.RIDEnterpriseAdmins)}
	return &wire.SecurityDescriptor{Revision: 1, Control: wire.ControlSelfRelative | wire.ControlDACLPresent | wire.ControlDACLAutoInherited,
		Owner: &owner, DACL: &wire.ACL{Revision: wire.ACLRevisionDS, ACEs: append(aces, inherited)}}
}

func srv(target string, prio, weight uint16, stamp time.Time) wire.DNSRecord {
	return wire.DNSRecord{Type: wire.TypeSRV, Version: 5, Rank: wire.RankZone, Serial: 42, TTL: 3600, TimeStamp: stamp,
		SRV: &wire.SRV{Priority: prio, Weight: weight, Port: 1688, Target: target}}
}

// synthReport judges the synthetic domain: five zones with every kind of
// finding.
func synthReport(t *testing.T) *Report {
	t.Helper()
	c := &Client{host: "dc1.corp.example", netbios: "CORP", domainDN: "DC=corp,DC=example", user: "svc-srvctl@corp.example",
		ep: endpoint{scheme: "ldaps", host: "dc1.corp.example", addr: "dc1.corp.example:636"}}
	kms1 := synthAccount("KMS1$", "kms1.corp.example", 1104, groupSID)
	kms2 := synthAccount("KMS2$", "kms2.corp.example", 1105, groupSID)
	kms3 := synthAccount("KMS3$", "kms3.corp.example", 1106)
	old := synthAccount("OLDKMS$", "oldkms.corp.example", 1107, groupSID)
	grp := &groupInfo{sid: groupSID, members: []*account{kms1, kms2, old}, report: Group{Name: DefaultGroup, Found: true,
		DN: "CN=Key Management Service Group,CN=Users,DC=corp,DC=example", SAM: DefaultGroup, SID: groupSID.String(),
		GroupType: -2147483646, Scope: "global", Security: true, Members: []Member{}}}
	hosts := []Host{{Name: "kms1.corp.example."}, {Name: "kms2.corp.example."}, {Name: "kms3.corp.example."}, {Name: "kms4.corp.example."}}
	var keys []hostKey
	for _, h := range hosts {
		keys = append(keys, hostKey{name: h.Name})
	}
	accts := map[hostKey]*account{keys[0]: kms1, keys[1]: kms2, keys[2]: kms3}
	secure, nonsecure := wire.UpdateSecureOnly, wire.UpdateNonsecureAndSecure
	zoneDN := func(zone, part string) string {
		return "DC=" + zone + ",CN=MicrosoftDNS,DC=" + part + ",DC=corp,DC=example"
	}
	found := map[string]*zoneInfo{
		"corp.example.":   {dn: zoneDN("corp.example", "DomainDnsZones"), partition: "DomainDnsZones", allow: &secure, noRefresh: wire.DefaultInterval, refresh: wire.DefaultInterval},
		"branch.example.": {dn: zoneDN("branch.example", "ForestDnsZones"), partition: "ForestDnsZones", allow: &nonsecure, aging: true, noRefresh: 24 * time.Hour, refresh: 48 * time.Hour},
		"lab.example.":    {dn: "DC=lab.example,CN=MicrosoftDNS,CN=System,DC=corp,DC=example", partition: "System", allow: &secure, noRefresh: wire.DefaultInterval, refresh: wire.DefaultInterval},
		"gone.example.":   {dn: zoneDN("gone.example", "DomainDnsZones"), partition: "DomainDnsZones", allow: &secure, noRefresh: wire.DefaultInterval, refresh: wire.DefaultInterval},
	}
	reqs := []Request{
		{Zone: "corp.example.", Hosts: hosts, Served: []zones.Record{{Target: "kms1.corp.example.", Port: 1688, Weight: 100, TTL: 3600},
			{Target: "kms3.corp.example.", Port: 1688, Priority: 10, Weight: 5, TTL: 3600}, {Target: "kms3.corp.example.", Port: 1688, Priority: 20, Weight: 5, TTL: 3600}}},
		{Zone: "branch.example.", Hosts: hosts[:3], Served: []zones.Record{{Target: "kms1.corp.example.", Port: 1688, TTL: 3600}, {Target: "kms2.corp.example.", Port: 1688, TTL: 3600}}},
		{Zone: "lab.example.", Hosts: hosts[:2], Desired: []zones.Record{{Target: "kms2.corp.example.", Port: 1688, Priority: 0, Weight: 50, TTL: 3600}}},
		{Zone: "gone.example.", Hosts: hosts[:1]},
		{Zone: "elsewhere.example.", Hosts: hosts[:1]},
	}
	objType := wire.AttrDNSRecord
	nodes := []*nodeInfo{
		// KMS1 registered first and owns the node; nobody granted the group.
		// Aging is off, so KMS1's 40-day-old TimeStamp says nothing about
		// its refreshes. Two static records for KMS3 differ only in
		// priority.
		{dn: "", exists: true, sd: sd(kms1.sid, ace(wire.ACEAccessAllowed, wire.FullControl, kms1.sid), ace(wire.ACEAccessAllowed, wire.GenericReadMapping, wire.Everyone)),
			records: []wire.DNSRecord{srv("kms1.corp.example.", 0, 100, now.Add(-40*24*time.Hour)), srv("kms3.corp.example.", 10, 5, time.Time{}), srv("kms3.corp.example.", 20, 5, time.Time{})}},
		// The group may write, but a deny ACE for KMS2 comes first and KMS3
		// may write dnsRecord only; the owner is gone; KMS1 stopped
		// refreshing.
		{exists: true, sd: sd(domainSID.WithRID(1999), ace(wire.ACEAccessDenied, wire.RightWriteProperty, kms2.sid), ace(wire.ACEAccessAllowed, wire.FullControl, groupSID),
			wire.ACE{Type: wire.ACEAccessAllowedObject, Mask: wire.RightWriteProperty, ObjectType: &objType, SID: kms3.sid}),
			records: []wire.DNSRecord{srv("kms1.corp.example.", 0, 0, now.Add(-5*24*time.Hour))}},
		// No node.
		{exists: false},
		// Tombstoned, owned by the Administrator, who granted the group.
		{exists: true, tombstoned: true, sd: sd(domainSID.WithRID(500), ace(wire.ACEAccessAllowed, wire.FullControl, groupSID)),
			records: []wire.DNSRecord{{Type: wire.TypeTombstone, Version: 5, EntombedAt: now.Add(-72 * time.Hour)}}},
		nil,
	}
	rzs := make([]reZone, len(reqs))
	for i, r := range reqs {
		rzs[i] = normalize(r)
	}
	j := newJudge(c, now, grp, accts, keys)
	j.names[domainSID.WithRID(500).String()] = &account{dn: "CN=Administrator,CN=Users,DC=corp,DC=example", sam: "Administrator", sid: domainSID.WithRID(500), uac: 0x200}
	rep := &Report{Time: now, Duration: 1234 * time.Millisecond, Server: c.host, URL: c.ep.String(), User: c.user, Domain: c.netbios,
		DomainDN: c.domainDN, Accounts: []Account{}, Findings: []Finding{}, Zones: []Zone{}, Operations: 17}
	j.fill(rep, rzs, keys, found, nodes, make([]error, len(nodes)))
	return rep
}

// The judge's verdicts on the synthetic domain.
func TestJudge(t *testing.T) {
	rep := synthReport(t)
	got := map[string]map[string]string{}
	for _, z := range rep.Zones {
		got[z.Zone] = verdicts(z)
	}
	want := map[string]map[string]string{
		"corp.example.": {"kms1.corp.example.": VerdictCan, "kms2.corp.example.": VerdictCannot, "kms3.corp.example.": VerdictCannot,
			"kms4.corp.example.": VerdictUnknown},
		"branch.example.":    {"kms1.corp.example.": VerdictCan, "kms2.corp.example.": VerdictCannot, "kms3.corp.example.": VerdictRecordOnly},
		"lab.example.":       {"kms1.corp.example.": VerdictUnknown, "kms2.corp.example.": VerdictUnknown},
		"gone.example.":      {"kms1.corp.example.": VerdictCan},
		"elsewhere.example.": {"kms1.corp.example.": VerdictUnknown},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts, -want +got:\n%s", diff)
	}
	kinds := func(fs []Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, string(f.Kind)+" "+f.Host)
		}
		return out
	}
	wantKinds := map[string][]string{
		"":              {"not-in-group kms3.corp.example.", "no-account kms4.corp.example.", "extra-member OLDKMS$"},
		"corp.example.": {"age-unknown ", "static kms3.corp.example.", "static kms3.corp.example.", "cannot-update kms2.corp.example.", "cannot-update kms3.corp.example."},
		"branch.example.": {"update-nonsecure ", "stopped-refreshing kms1.corp.example.", "owner-deleted ", "cannot-update kms2.corp.example.",
			"dnsrecord-only kms3.corp.example.", "differs-from-dns "},
		"lab.example.":       {"no-node "},
		"gone.example.":      {"tombstoned "},
		"elsewhere.example.": {"not-ad-integrated "},
	}
	gotKinds := map[string][]string{"": kinds(rep.Findings)}
	levels := map[string]auditor.Level{}
	for _, z := range rep.Zones {
		gotKinds[z.Zone] = kinds(z.Findings)
		levels[z.Zone] = z.Level
	}
	if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
		t.Errorf("findings, -want +got:\n%s", diff)
	}
	wantLevels := map[string]auditor.Level{"corp.example.": auditor.Critical, "branch.example.": auditor.Critical, "lab.example.": auditor.Warning,
		"gone.example.": auditor.Warning, "elsewhere.example.": auditor.Warning}
	if diff := cmp.Diff(wantLevels, levels); diff != "" || rep.Level != auditor.Critical {
		t.Errorf("levels (report %v), -want +got:\n%s", rep.Level, diff)
	}
	wantRefresh := []Refresh{
		// Aging off: old, but not stale.
		{Zone: "corp.example.", Target: "kms1.corp.example.", Port: 1688, Weight: 100, LastRefresh: now.Add(-40 * 24 * time.Hour)},
		{Zone: "corp.example.", Target: "kms3.corp.example.", Port: 1688, Priority: 10, Weight: 5, Static: true},
		{Zone: "corp.example.", Target: "kms3.corp.example.", Port: 1688, Priority: 20, Weight: 5, Static: true},
		// Aging on: 24h + 24h no-refresh + 48h refresh after the last refresh.
		{Zone: "branch.example.", Target: "kms1.corp.example.", Port: 1688, Aging: true, LastRefresh: now.Add(-5 * 24 * time.Hour), Stale: true, StaleSince: now.Add(-24 * time.Hour)},
	}
	if diff := cmp.Diff(wantRefresh, rep.Refreshes()); diff != "" {
		t.Errorf("refreshes, -want +got:\n%s", diff)
	}
}

// Severity overrides the level of a kind.
func TestSeverity(t *testing.T) {
	j := &judge{c: &Client{severity: map[Kind]auditor.Level{KindNotIntegrated: auditor.OK}}}
	var fs []Finding
	j.add(&fs, KindNotIntegrated, "", nil, "x")
	j.add(&fs, KindNoNode, "", nil, "y")
	if fs[0].Level != auditor.OK || fs[1].Level != auditor.Warning {
		t.Errorf("levels %v %v, want OK (overridden) and WARNING (default)", fs[0].Level, fs[1].Level)
	}
	for _, k := range Kinds() {
		if _, ok := defaultLevel[k]; !ok {
			t.Errorf("kind %s has no default level", k)
		}
	}
}

// The four writers, as golden files (go test -update rewrites them).
func TestWriters(t *testing.T) {
	rep := synthReport(t)
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer, *Report) error
	}{
		{"report.txt", func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) }},
		{"report.json", func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) }},
		{"report.nagios", func(b *bytes.Buffer, r *Report) error { return WriteNagios(b, r) }},
		{"report.prom", func(b *bytes.Buffer, r *Report) error { return WritePrometheus(b, r) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, rep); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.file), b.Bytes())
		})
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	if s, ok := back["summary"].(map[string]any); !ok || s["cannot_update"] != float64(3) {
		t.Errorf("summary: %v", back["summary"])
	}
	first, _, _ := strings.Cut(b.String(), "\n")
	if first != strings.TrimSuffix(b.String(), "\n") {
		t.Error("the JSON report is not one line")
	}
}

// Without the group, or with a group that is not a global security group,
// the findings say so, and the fixes create the group first.
func TestGroupProblems(t *testing.T) {
	c := &Client{host: "dc1.corp.example", netbios: "CORP", domainDN: "DC=corp,DC=example"}
	kms1 := synthAccount("KMS1$", "kms1.corp.example", 1104)
	kms2 := synthAccount("KMS2$", "kms2.corp.example", 1105, groupSID)
	keys := []hostKey{{name: "kms1.corp.example."}, {name: "kms2.corp.example."}}
	accts := map[hostKey]*account{keys[0]: kms1, keys[1]: kms2}
	secure := wire.UpdateSecureOnly
	found := map[string]*zoneInfo{"corp.example.": {dn: "DC=corp.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=corp,DC=example", partition: "DomainDnsZones", allow: &secure}}
	node := &nodeInfo{exists: true, sd: sd(kms1.sid, ace(wire.ACEAccessAllowed, wire.FullControl, kms1.sid))}
	rzs := []reZone{normalize(Request{Zone: "corp.example.", Hosts: []Host{{Name: keys[0].name}, {Name: keys[1].name}}})}
	for _, tc := range []struct {
		name   string
		grp    *groupInfo
		global []string // kinds of the global findings
		fix    []string // a line of KMS2's fix must start with each
	}{
		{"missing", &groupInfo{report: Group{Name: DefaultGroup, Members: []Member{}}}, []string{"no-group"},
			[]string{"samba-tool group add ", "New-ADGroup -Name 'Key Management Service Group'", "samba-tool group addmembers ", "Add-ADGroupMember ",
				`dsacls "DC=_vlmcs._tcp,`, "Import-Module ActiveDirectory; $acl = Get-Acl -Path 'AD:DC=_vlmcs._tcp,", "samba-tool dsacl set "}},
		{"distribution", &groupInfo{sid: groupSID, members: []*account{kms2}, report: Group{Name: DefaultGroup, Found: true, DN: "CN=KMS,DC=corp,DC=example",
			SAM: "KMS", SID: groupSID.String(), GroupType: 2, Scope: "global", Members: []Member{}}}, []string{"group-type", "not-in-group"},
			[]string{`dsacls "DC=_vlmcs._tcp,`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJudge(c, now, tc.grp, accts, keys)
			rep := &Report{Accounts: []Account{}, Findings: []Finding{}}
			j.fill(rep, rzs, keys, found, []*nodeInfo{node}, []error{nil})
			var kinds []string
			for _, f := range rep.Findings {
				kinds = append(kinds, string(f.Kind))
			}
			if diff := cmp.Diff(tc.global, kinds); diff != "" {
				t.Errorf("global findings, -want +got:\n%s", diff)
			}
			fs := findingsOf(rep.Zones[0].Findings, KindCannotUpdate)
			if len(fs) != 1 || fs[0].Host != keys[1].name {
				t.Fatalf("cannot-update findings: %+v", fs)
			}
			for _, prefix := range tc.fix {
				if !slices.ContainsFunc(fs[0].Fix, func(l string) bool { return strings.HasPrefix(l, prefix) }) {
					t.Errorf("KMS2's fix has no line starting %q:\n%s", prefix, strings.Join(fs[0].Fix, "\n"))
				}
			}
		})
	}
}
