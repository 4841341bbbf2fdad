package ad

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

// The fixes the judge prints for one node: deny ACEs removed (explicit
// ones only, dsacls only for domain accounts), the grant only where the
// group still needs it, a node without a DACL given one.
func TestJudgeFixes(t *testing.T) {
	c := &Client{host: "dc1.corp.example", netbios: "CORP", domainDN: "DC=corp,DC=example"}
	kms1 := synthAccount("KMS1$", "kms1.corp.example", 1104, groupSID)
	kms2 := synthAccount("KMS2$", "kms2.corp.example", 1105, groupSID)
	dc1 := synthAccount("DC1$", "dc1.corp.example", 1000, domainSID.WithRID(wire.RIDDomainControllers))
	dc1.uac = 0x82000 // SERVER_TRUST_ACCOUNT, TRUSTED_FOR_DELEGATION
	grp := &groupInfo{sid: groupSID, members: []*account{kms1, kms2}, report: Group{Name: DefaultGroup, Found: true,
		DN: "CN=Key Management Service Group,CN=Users,DC=corp,DC=example", SAM: DefaultGroup, SID: groupSID.String(),
		GroupType: -2147483646, Scope: "global", Security: true, Members: []Member{}}}
	keys := []hostKey{{name: "kms1.corp.example."}, {name: "kms2.corp.example."}, {name: "dc1.corp.example."}}
	accts := map[hostKey]*account{keys[0]: kms1, keys[1]: kms2, keys[2]: dc1}
	secure := wire.UpdateSecureOnly
	zi := &zoneInfo{dn: "DC=corp.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=corp,DC=example", partition: "DomainDnsZones", allow: &secure,
		noRefresh: wire.DefaultInterval, refresh: wire.DefaultInterval}
	const node = "DC=_vlmcs._tcp,DC=corp.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=corp,DC=example"
	tomb := wire.AttrDNSTombstoned
	grant := ace(wire.ACEAccessAllowed, grantRights, groupSID)
	inheritedDeny := ace(wire.ACEAccessDenied, wire.RightWriteProperty, groupSID)
	inheritedDeny.Flags = wire.ACEInherited | wire.ACEContainerInherit
	type want struct {
		verdicts map[string]string
		kind     Kind
		host     string
		detail   string
		fix      []string // each a part some fix line holds
		noFix    []string // parts no fix line holds
	}
	for _, tc := range []struct {
		name string
		sd   *wire.SecurityDescriptor
		want want
	}{
		{"deny NETWORK before the grant",
			sd(kms1.sid, ace(wire.ACEAccessDenied, wire.RightWriteProperty, wire.Network), grant),
			want{map[string]string{"kms1.corp.example.": VerdictCannot, "kms2.corp.example.": VerdictCannot, "dc1.corp.example.": VerdictCannot},
				KindCannotUpdate, "kms2.corp.example.", `the deny ACE (D;;WP;;;NU) (for NT AUTHORITY\NETWORK) comes first`,
				[]string{"RemoveAccessRuleSpecific", "'S-1-5-2'"}, []string{"dsacls", "/G", "dsacl set"}}},
		{"deny dNSTombstoned for Everyone",
			sd(kms1.sid, wire.ACE{Type: wire.ACEAccessDeniedObject, Mask: wire.RightWriteProperty, ObjectType: &tomb, SID: wire.Everyone}, grant),
			want{map[string]string{"kms1.corp.example.": VerdictRecordOnly, "kms2.corp.example.": VerdictRecordOnly, "dc1.corp.example.": VerdictCannot},
				KindRecordOnly, "kms2.corp.example.", "the deny ACE (OD;;WP;d5eb2eb7-be4e-463b-a214-634a44d7392e;;WD) (for Everyone) comes first",
				[]string{"RemoveAccessRuleSpecific", "'S-1-1-0'"}, []string{"dsacls", "/G", "dsacl set"}}},
		{"inherited deny for the group",
			sd(kms1.sid, grant, inheritedDeny),
			want{map[string]string{"kms1.corp.example.": VerdictCan, "kms2.corp.example.": VerdictCan, "dc1.corp.example.": VerdictCannot},
				"", "", "", nil, nil}},
		{"inherited deny for the group first",
			&wire.SecurityDescriptor{Revision: 1, Control: wire.ControlSelfRelative | wire.ControlDACLPresent, Owner: &kms1.sid,
				DACL: &wire.ACL{Revision: wire.ACLRevisionDS, ACEs: []wire.ACE{inheritedDeny, grant}}},
			want{map[string]string{"kms1.corp.example.": VerdictCannot, "kms2.corp.example.": VerdictCannot, "dc1.corp.example.": VerdictCannot},
				KindCannotUpdate, "kms2.corp.example.", `(for CORP\Key Management Service Group) comes first and wins over any grant; it is inherited: remove it where it is set, on the zone or above`,
				nil, []string{"RemoveAccessRuleSpecific", "dsacls", "dsacl set"}}},
		{"deny for KMS2, no grant for the group",
			sd(kms1.sid, ace(wire.ACEAccessDenied, wire.RightWriteProperty, kms2.sid), ace(wire.ACEAccessAllowed, wire.FullControl, kms2.sid)),
			want{map[string]string{"kms1.corp.example.": VerdictCannot, "kms2.corp.example.": VerdictCannot, "dc1.corp.example.": VerdictCannot},
				KindCannotUpdate, "kms2.corp.example.", `(for CORP\KMS2$) comes first`,
				// dsacls /R takes KMS2's allow ACE too: the group's grant follows.
				[]string{`/R "CORP\KMS2$"`, "'S-1-5-21-1-2-3-1105'", `/G "CORP\Key Management Service Group:RPWP"`, "(A;;RPWP;;;S-1-5-21-1-2-3-1103)"}, nil}},
		{"a DC through Enterprise Domain Controllers",
			sd(kms1.sid, ace(wire.ACEAccessAllowed, wire.FullControl, wire.EnterpriseDomainControllers), grant),
			want{map[string]string{"kms1.corp.example.": VerdictCan, "kms2.corp.example.": VerdictCan, "dc1.corp.example.": VerdictCan},
				"", "", "", nil, nil}},
		{"no DACL",
			&wire.SecurityDescriptor{Revision: 1, Control: wire.ControlSelfRelative, Owner: &kms1.sid},
			want{map[string]string{"kms1.corp.example.": VerdictCan, "kms2.corp.example.": VerdictCan, "dc1.corp.example.": VerdictCan},
				KindNullDACL, "", node + " has no DACL",
				[]string{`dsacls "` + node + `" /S`, `dsacls "` + node + `" /G "CORP\Key Management Service Group:RPWP"`,
					"SetSecurityDescriptorSddlForm($d, 'Access')", "(lDAPDisplayName=dnsNode)", "'S-1-5-21-1-2-3-1103'), 'ReadProperty, WriteProperty', 'Allow'"}, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJudge(c, now, grp, accts, keys)
			rep := &Report{Accounts: []Account{}, Findings: []Finding{}}
			rz := normalize(Request{Zone: "corp.example.", Hosts: []Host{{Name: keys[0].name}, {Name: keys[1].name}, {Name: keys[2].name}}})
			j.fill(rep, []reZone{rz}, keys, map[string]*zoneInfo{"corp.example.": zi}, []*nodeInfo{{exists: true, sd: tc.sd}}, []error{nil})
			z := rep.Zones[0]
			if diff := cmp.Diff(tc.want.verdicts, verdicts(z)); diff != "" {
				t.Errorf("verdicts, -want +got:\n%s", diff)
			}
			if tc.want.kind == "" {
				for _, k := range []Kind{KindCannotUpdate, KindRecordOnly} {
					if fs := findingsOf(z.Findings, k); len(fs) > 0 && fs[0].Host != "dc1.corp.example." {
						t.Errorf("unexpected %s: %+v", k, fs)
					}
				}
				return
			}
			i := slices.IndexFunc(z.Findings, func(f Finding) bool { return f.Kind == tc.want.kind && f.Host == tc.want.host })
			if i < 0 {
				t.Fatalf("no %s finding for %q: %+v", tc.want.kind, tc.want.host, z.Findings)
			}
			f := z.Findings[i]
			if !strings.Contains(f.Detail, tc.want.detail) {
				t.Errorf("detail %q lacks %q", f.Detail, tc.want.detail)
			}
			for _, part := range tc.want.fix {
				if !hasLine(f.Fix, part) {
					t.Errorf("no fix line holds %q:\n%s", part, strings.Join(f.Fix, "\n"))
				}
			}
			for _, part := range tc.want.noFix {
				if hasLine(f.Fix, part) {
					t.Errorf("a fix line holds %q:\n%s", part, strings.Join(f.Fix, "\n"))
				}
			}
		})
	}
}

// A zone not found, while a partition was not searched because another
// DC holds it, says so.
func TestNotIntegratedSkipped(t *testing.T) {
	c := &Client{host: "dc1.corp.example", netbios: "CORP", domainDN: "DC=child,DC=corp,DC=example"}
	j := newJudge(c, now, &groupInfo{report: Group{Name: DefaultGroup, Members: []Member{}}}, nil, nil)
	j.skipped = []string{"ForestDnsZones (this DC does not hold it: it referred the search to another DC (ldap://corp.example/DC=ForestDnsZones,DC=corp,DC=example))"}
	z := j.zone(normalize(Request{Zone: "corp.example."}), nil, nil, nil)
	fs := findingsOf(z.Findings, KindNotIntegrated)
	if len(fs) != 1 || !strings.Contains(fs[0].Detail, "not searched: ForestDnsZones (this DC does not hold it") ||
		!strings.Contains(fs[0].Detail, "audit it against a DC that holds that partition") {
		t.Errorf("not-ad-integrated findings: %+v", fs)
	}
}

// Every series of the Prometheus file is written once, even for two
// records that differ only in priority and for a zone audited twice:
// node_exporter drops a file that repeats one.
func TestPrometheusSeriesUnique(t *testing.T) {
	rep := synthReport(t)
	rep.Zones = append(rep.Zones, rep.Zones[0])
	var b bytes.Buffer
	if err := WritePrometheus(&b, rep); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			series, _, _ := strings.Cut(l, " ")
			seen[series]++
		}
	}
	for s, n := range seen {
		if n > 1 {
			t.Errorf("%d× %s", n, s)
		}
	}
	for _, s := range []string{
		`srvctl_ad_record_stale{zone="corp.example.",target="kms3.corp.example.",port="1688",priority="10",weight="5"}`,
		`srvctl_ad_record_stale{zone="corp.example.",target="kms3.corp.example.",port="1688",priority="20",weight="5"}`,
	} {
		if seen[s] != 1 {
			t.Errorf("no series %s", s)
		}
	}
}
