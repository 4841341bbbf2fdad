package ad

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
)

// The fixes of the group and account findings, run as printed against a
// real DC, fix what they are about.
func TestFixesRun(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	c := dial(t, adminOptions(t, dc))
	hosts := kmsHosts(dc)
	audit := func(t *testing.T, c *Client) *Report {
		t.Helper()
		rep, err := c.Audit(testCtx(t), []Request{{Zone: dc.Zone, Hosts: hosts[:1]}})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	setGroupType := func(t *testing.T, types ...int32) {
		t.Helper()
		for _, gt := range types {
			m := ldap.NewModifyRequest(dc.GroupDN, nil)
			m.Replace("groupType", []string{fmt.Sprint(gt)})
			if err := dc.LDAP(t).Modify(m); err != nil {
				t.Fatalf("groupType %d: %v", gt, err)
			}
		}
	}

	for _, tc := range []struct {
		name  string
		types []int32 // the groupType values the group is given, in turn
		scope string
	}{
		{"global distribution group", []int32{2}, "global"},
		{"domain local security group", []int32{universalSecurity, -2147483644}, "domain local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setGroupType(t, tc.types...)
			rep := audit(t, c)
			fs := findingsOf(rep.Findings, KindGroupType)
			if len(fs) != 1 || rep.Group.Scope != tc.scope || len(fixLines(fs[0].Fix, "printf ")) != 1 || len(fixLines(fs[0].Fix, "Set-ADGroup ")) != 1 {
				t.Fatalf("group %s (security %v): group-type findings %+v", rep.Group.Scope, rep.Group.Security, fs)
			}
			runFix(t, dc, fixLines(fs[0].Fix, "printf ")[0])
			rep = audit(t, c)
			if fs := findingsOf(rep.Findings, KindGroupType); len(fs) != 0 || rep.Group.Scope != "global" || !rep.Group.Security {
				t.Errorf("after the fix: %s, security %v; findings %+v", rep.Group.Scope, rep.Group.Security, fs)
			}
		})
	}

	t.Run("account disabled", func(t *testing.T) {
		dc.SambaTool(t, "user", "disable", "KMS1$")
		rep := audit(t, c)
		fs := findingsOf(rep.Findings, KindAccountDisabled)
		if len(fs) != 1 || !hasLine(fs[0].Fix, "Enable-ADAccount -Identity 'KMS1$'") {
			t.Fatalf("account-disabled findings: %+v", fs)
		}
		runFix(t, dc, fixLines(fs[0].Fix, "samba-tool user enable")[0])
		if fs := findingsOf(audit(t, c).Findings, KindAccountDisabled); len(fs) != 0 {
			t.Errorf("after the fix: %+v", fs)
		}
	})

	// Extra members are judged against every configured host
	// (Options.Hosts), not only those of the zones audited; a member whose
	// name starts with - is removed by the printed samba-tool command.
	t.Run("extra members", func(t *testing.T) {
		l := dc.LDAP(t)
		evil := "CN=crafted,CN=Users," + dc.BaseDN
		a := ldap.NewAddRequest(evil, nil)
		a.Attribute("objectClass", []string{"user"})
		a.Attribute("sAMAccountName", []string{"-Uevil"})
		if err := l.Add(a); err != nil {
			t.Fatal(err)
		}
		m := ldap.NewModifyRequest(dc.GroupDN, nil)
		m.Add("member", []string{evil})
		if err := l.Modify(m); err != nil {
			t.Fatal(err)
		}
		extra := func(rep *Report) []string {
			var out []string
			for _, f := range findingsOf(rep.Findings, KindExtraMember) {
				out = append(out, f.Host)
			}
			return out
		}
		// Without Options.Hosts, KMS2 (configured, but not in the zone
		// audited) looks like an extra member.
		if diff := cmp.Diff([]string{"-Uevil", "KMS2$"}, extra(audit(t, c))); diff != "" {
			t.Errorf("extra members without Options.Hosts, -want +got:\n%s", diff)
		}
		o := adminOptions(t, dc)
		o.Hosts = []Host{{Name: "KMS1.srvctl.test"}, {Name: "alias.example.", Account: "kms2"}, {Name: hosts[2].Name}}
		rep := audit(t, dial(t, o))
		if diff := cmp.Diff([]string{"-Uevil"}, extra(rep)); diff != "" {
			t.Errorf("extra members with Options.Hosts, -want +got:\n%s", diff)
		}
		hostOf := map[string]string{}
		for _, m := range rep.Group.Members {
			hostOf[m.SAM] = m.Host
		}
		if diff := cmp.Diff(map[string]string{"-Uevil": "", "KMS1$": hosts[0].Name, "KMS2$": "alias.example."}, hostOf); diff != "" {
			t.Errorf("members' hosts, -want +got:\n%s", diff)
		}
		f := findingsOf(rep.Findings, KindExtraMember)[0]
		runFix(t, dc, fixLines(f.Fix, "samba-tool group removemembers")[0])
		if e := dc.Entry(t, dc.GroupDN, "member"); strings.Contains(strings.Join(e.GetAttributeValues("member"), ";"), "CN=crafted") {
			t.Errorf("-Uevil is still a member: %q", e.GetAttributeValues("member"))
		}
		if got := extra(audit(t, dial(t, o))); len(got) != 0 {
			t.Errorf("extra members after the fix: %q", got)
		}
	})
}
