package ad

import (
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/zones"
)

// hostile are names that break naively quoted commands.
var hostile = []string{
	"Key Management Service Group",
	`Key "Management" Group`,
	"O'Brien's KMS",
	"KMS \u2018smart\u2019 \u201aquotes\u201b",
	"$(touch /tmp/pwned) `id` ${HOME}",
	"a;b|c&d<e>f",
	"100% KMS",
	`back\slash\`,
	"[wild]*card?",
	"-dash first",
	"-Uevil",
}

// shArgs runs line with /bin/sh, samba-tool replaced by printf, and
// returns the arguments sh passed.
func shArgs(t *testing.T, line string) []string {
	t.Helper()
	rest, ok := strings.CutPrefix(line, "samba-tool ")
	if !ok {
		t.Fatalf("not a samba-tool command: %s", line)
	}
	out, err := exec.Command("/bin/sh", "-c", `printf '%s\0' `+rest).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", line, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// psTokens splits a PowerShell line into its verbatim string literals and
// the rest with each literal replaced by '#', following PowerShell's rule:
// any of ' ‘ ’ ‚ ‛ opens and closes a literal, and two of them in a row
// inside one stand for one.
func psTokens(t *testing.T, line string) (literals []string, skeleton string) {
	t.Helper()
	isQuote := func(r rune) bool { return r == '\'' || r >= '\u2018' && r <= '\u201b' }
	rs := []rune(line)
	var sk strings.Builder
	for i := 0; i < len(rs); i++ {
		if !isQuote(rs[i]) {
			sk.WriteRune(rs[i])
			continue
		}
		var lit strings.Builder
		closed := false
		for i++; i < len(rs); i++ {
			if isQuote(rs[i]) {
				if i+1 < len(rs) && isQuote(rs[i+1]) {
					lit.WriteRune(rs[i])
					i++
					continue
				}
				closed = true
				break
			}
			lit.WriteRune(rs[i])
		}
		if !closed {
			t.Fatalf("unterminated literal in %s", line)
		}
		literals = append(literals, lit.String())
		sk.WriteString("'#'")
	}
	return literals, sk.String()
}

// Fix commands carry any name as one argument: sh gets it back exactly,
// PowerShell sees it as one literal and the command around it unchanged,
// cmd.exe lines quote it or say they cannot.
func TestFixQuoting(t *testing.T) {
	f := fixer{dc: "dc1.corp.example", domain: "CORP"}
	const dn = "DC=_vlmcs._tcp,DC=corp.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=corp,DC=example"
	const sid = "S-1-5-21-1-2-3-1103"
	conn := []string{"-H", "ldaps://dc1.corp.example", "-U", `CORP\<admin>`}
	_, addSkel := psTokens(t, f.addMember("plain", "KMS3$")[1])
	_, grantSkel := psTokens(t, f.grantByName(dn, "plain")[1])
	for _, name := range hostile {
		t.Run(name, func(t *testing.T) {
			add := f.addMember(name, "KMS3$")
			// samba-tool reads every argument after -- as a positional
			// one: a name starting with - is never an option.
			if diff := cmp.Diff(append(append([]string{"group", "addmembers"}, conn...), "--", name, "KMS3$"), shArgs(t, add[0])); diff != "" {
				t.Errorf("sh arguments of %s, -want +got:\n%s", add[0], diff)
			}
			if diff := cmp.Diff(append(append([]string{"group", "removemembers"}, conn...), "--", "KMS group", name), shArgs(t, f.removeMember("KMS group", name)[0])); diff != "" {
				t.Errorf("sh arguments of group removemembers, -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(append(append([]string{"group", "add"}, conn...), "--group-scope=Global", "--group-type=Security", "--", name), shArgs(t, f.createGroup(name)[0])); diff != "" {
				t.Errorf("sh arguments of group add, -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(append(append([]string{"user", "enable"}, conn...), "--", name), shArgs(t, f.enableAccount(name)[0])); diff != "" {
				t.Errorf("sh arguments of user enable, -want +got:\n%s", diff)
			}
			rec := zones.Record{Target: "kms1.corp.example.", Port: 1688, Priority: 1, Weight: 2}
			if diff := cmp.Diff([]string{"dns", "delete", "-U", `CORP\<admin>`, "--", "dc1.corp.example", "corp.example", name, "SRV", "kms1.corp.example 1688 1 2"},
				shArgs(t, f.deleteRecord("corp.example.", name, rec)[2])); diff != "" {
				t.Errorf("sh arguments of dns delete, -want +got:\n%s", diff)
			}
			if diff := cmp.Diff([]string{"dns", "add", "-U", `CORP\<admin>`, "--", "dc1.corp.example", "corp.example", name, "SRV", "kms1.corp.example 1688 1 2"},
				shArgs(t, f.precreate("corp.example.", name, rec)[2])); diff != "" {
				t.Errorf("sh arguments of dns add, -want +got:\n%s", diff)
			}
			if diff := cmp.Diff([]string{"dns", "zoneoptions", "-U", `CORP\<admin>`, "--aging=1", "--", "dc1.corp.example", name}, shArgs(t, f.aging(name)[2])); diff != "" {
				t.Errorf("sh arguments of dns zoneoptions, -want +got:\n%s", diff)
			}
			// The LDIF for ldapmodify carries the DN in base64, whatever
			// it holds.
			gt := f.groupType("CN="+name+",CN=Users,DC=corp,DC=example", name, "domain local")
			printf, _, ok := strings.Cut(gt[1], " | ldapmodify ")
			if !ok {
				t.Fatalf("no ldapmodify in %s", gt[1])
			}
			out, err := exec.Command("/bin/sh", "-c", printf).Output()
			if err != nil {
				t.Fatalf("sh -c %q: %v", printf, err)
			}
			b64 := base64.StdEncoding.EncodeToString([]byte("CN=" + name + ",CN=Users,DC=corp,DC=example"))
			want := "dn:: " + b64 + "\nchangetype: modify\nreplace: groupType\ngroupType: -2147483640\n-\n\ndn:: " + b64 + "\nchangetype: modify\nreplace: groupType\ngroupType: -2147483646\n-\n"
			if string(out) != want {
				t.Errorf("LDIF:\n%s\nwant:\n%s", out, want)
			}
			if lits, _ := psTokens(t, gt[0]); len(lits) != 2 || lits[0] != name || lits[1] != name {
				t.Errorf("Set-ADGroup literals %q of %s", lits, gt[0])
			}
			lits, skel := psTokens(t, add[1])
			if diff := cmp.Diff([]string{name, "KMS3$"}, lits); diff != "" || skel != addSkel {
				t.Errorf("PowerShell %s: literals -want +got:\n%s\nskeleton %s, want %s", add[1], diff, skel, addSkel)
			}
			g := f.grantByName(dn, name)
			lits, skel = psTokens(t, g[1])
			if skel != grantSkel || len(lits) != 5 || lits[1] != name {
				t.Errorf("PowerShell grant %s: skeleton %s (want %s), literals %q", g[1], skel, grantSkel, lits)
			}
			switch {
			case strings.ContainsAny(name, `"%`):
				if !strings.HasPrefix(g[0], "rem dsacls: ") {
					t.Errorf("cmd.exe cannot carry %q, yet: %s", name, g[0])
				}
			default:
				if want := `dsacls "` + dn + `" /G "CORP\` + name + `:RPWP"`; g[0] != want {
					t.Errorf("dsacls line %s, want %s", g[0], want)
				}
			}
			if diff := cmp.Diff([]string{"dsacl", "set", "-H", "ldaps://dc1.corp.example", "-U", `CORP\<admin>`, "--objectdn=" + dn, "--sddl=(A;;RPWP;;;" + sid + ")"},
				shArgs(t, f.grant(dn, name, sid)[2])); diff != "" {
				t.Errorf("sh arguments of dsacl set, -want +got:\n%s", diff)
			}
		})
	}
	// Control characters are printed in no command.
	for _, name := range []string{"line\nbreak", "nul\x00", "bell\a", "\xff\xfe"} {
		for _, fix := range [][]string{f.addMember(name, "KMS3$"), f.grant(dn, name, sid), f.createGroup(name), f.removeMember("g", name)} {
			if len(fix) != 1 || !strings.HasPrefix(fix[0], "# no command printed") || strings.ContainsAny(fix[0], "\n\x00") {
				t.Errorf("%q: %q", name, fix)
			}
		}
	}
	// A DN with wildcard characters is escaped for -Path.
	if got, want := psPath("AD:DC=[x]*?`y"), "'AD:DC=`[x`]`*`?``y'"; got != want {
		t.Errorf("psPath = %s, want %s", got, want)
	}
	// dnscmd arguments that are plain DNS names stay bare.
	pre := f.precreate("corp.example.", "_vlmcs._tcp", zones.Record{Target: "kms1.corp.example.", Port: 1688, Priority: 1, Weight: 2})
	if want := "dnscmd dc1.corp.example /recordadd corp.example _vlmcs._tcp SRV 1 2 1688 kms1.corp.example"; pre[0] != want {
		t.Errorf("dnscmd line %s, want %s", pre[0], want)
	}
	if diff := cmp.Diff([]string{"dns", "add", "-U", `CORP\<admin>`, "--", "dc1.corp.example", "corp.example", "_vlmcs._tcp", "SRV", "kms1.corp.example 1688 1 2"}, shArgs(t, pre[2])); diff != "" {
		t.Errorf("samba-tool dns add, -want +got:\n%s", diff)
	}
	del := f.deleteRecord("corp.example.", "_vlmcs._tcp", zones.Record{Target: "kms1.corp.example.", Port: 1688, Priority: 1, Weight: 2})
	if want := "dnscmd dc1.corp.example /recorddelete corp.example _vlmcs._tcp SRV 1 2 1688 kms1.corp.example /f"; del[0] != want {
		t.Errorf("dnscmd line %s, want %s", del[0], want)
	}
	// What each kind of group becomes.
	for _, tc := range []struct {
		scope string
		ps    string
	}{
		{"global", "Set-ADGroup -Identity 'g' -GroupCategory Security -GroupScope Global"},
		{"universal", "Set-ADGroup -Identity 'g' -GroupCategory Security -GroupScope Global"},
		{"domain local", "Set-ADGroup -Identity 'g' -GroupScope Universal; Set-ADGroup -Identity 'g' -GroupCategory Security -GroupScope Global"},
		{"builtin", ""},
	} {
		got := f.groupType("CN=g,DC=corp,DC=example", "g", tc.scope)
		if tc.ps == "" && got != nil || tc.ps != "" && (len(got) != 2 || got[0] != tc.ps) {
			t.Errorf("groupType(%s) = %q, want %q first", tc.scope, got, tc.ps)
		}
	}
}

// Node DNs escape what a DN must, and go-ldap parses them back to the
// same name.
func TestNodeDN(t *testing.T) {
	const zoneDN = "DC=corp.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=corp,DC=example"
	for _, tc := range []struct{ rel, rdn string }{
		{"_vlmcs._tcp", `DC=_vlmcs._tcp`},
		{"@", `DC=@`},
		{"a,b", `DC=a\,b`},
		{"#x", `DC=\#x`},
		{" lead", `DC=\ lead`},
		{"trail ", `DC=trail\ `},
		{`q"u+o;t<e>s\`, `DC=q\"u\+o\;t\<e\>s\\`},
		{"x=y", `DC=x\=y`},
		{"nul\x00", `DC=nul\00`},
		{"ünï", "DC=ünï"},
	} {
		dn := nodeDN(tc.rel, zoneDN)
		if want := tc.rdn + "," + zoneDN; dn != want {
			t.Errorf("nodeDN(%q) = %s, want %s", tc.rel, dn, want)
		}
		parsed, err := ldap.ParseDN(dn)
		if err != nil {
			t.Errorf("ParseDN(%s): %v", dn, err)
			continue
		}
		if got := parsed.RDNs[0].Attributes[0].Value; got != tc.rel || len(parsed.RDNs) != 6 {
			t.Errorf("ParseDN(%s): first value %q of %d RDNs, want %q of 6", dn, got, len(parsed.RDNs), tc.rel)
		}
	}
}

// Owner names are made relative to their zone.
func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		zone, owner, rel, abs, err string
	}{
		{"corp.example.", "", "_vlmcs._tcp", "_vlmcs._tcp.corp.example.", ""},
		{"Corp.Example", "_VLMCS._tcp", "_vlmcs._tcp", "_vlmcs._tcp.corp.example.", ""},
		{"corp.example.", "_vlmcs._tcp.corp.example.", "_vlmcs._tcp", "_vlmcs._tcp.corp.example.", ""},
		{"corp.example.", "corp.example.", "@", "corp.example.", ""},
		{"corp.example.", "@", "@", "corp.example.", ""},
		{"corp.example.", "_vlmcs._tcp.other.example.", "_vlmcs._tcp.other.example", "_vlmcs._tcp.other.example.", "the name _vlmcs._tcp.other.example. is not in the zone corp.example."},
	} {
		rz := normalize(Request{Zone: tc.zone, Owner: tc.owner})
		if rz.rel != tc.rel || rz.owner != tc.abs || rz.err != tc.err {
			t.Errorf("normalize(%q, %q) = %q, %q, %q; want %q, %q, %q", tc.zone, tc.owner, rz.rel, rz.owner, rz.err, tc.rel, tc.abs, tc.err)
		}
	}
}

// What cmd.exe can carry, and how.
func TestCmdArg(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"kms1.corp.example", "kms1.corp.example", true},
		{"_vlmcs._tcp", "_vlmcs._tcp", true},
		{"a b&c|d<e>f^g", `"a b&c|d<e>f^g"`, true},
		{`CORP\KMS2$`, `"CORP\KMS2$"`, true},
		{`ends\`, "", false},
		{`a"b`, "", false},
		{"100%", "", false},
		{"", `""`, true},
	} {
		got := cmdArg(tc.in)
		if got.text != tc.want || got.ok != tc.ok {
			t.Errorf("cmdArg(%q) = %q, %v; want %q, %v", tc.in, got.text, got.ok, tc.want, tc.ok)
		}
	}
	if got := cmdLine("dsacls", cmdArg("x"), "/R", cmdArg(`CORP\x\`)); !strings.HasPrefix(got, "rem dsacls: ") {
		t.Errorf("cmdLine with a trailing backslash: %s", got)
	}
}
