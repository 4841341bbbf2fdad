package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/golden"
)

// branchSecret is a made-up secret of the srvctl-branch key; it must never
// appear in output rendered without secrets, nor in errors.
const branchSecret = "YnJhbmNoIHNlY3JldDogbm90IGEgcmVhbCBvbmUgZWl0aGVy"

// requireCheckconf returns named-checkconf's path for a test that needs
// it: without it the test fails when CI=true and is skipped, loudly,
// otherwise.
func requireCheckconf(t *testing.T) {
	t.Helper()
	if _, err := checkconfPath(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and the real named-checkconf is needed: %v", err)
		}
		t.Skipf("SKIPPED: this test needs the real named-checkconf. %v", err)
	}
}

// goldenKeys are a tsig-keygen file (a real file in testdata, so that
// named-checkconf can include it), a bare secret file and a KMS host's key
// srvctl has no secret for. Names carry the trailing dot, as config gives
// them.
func goldenKeys() []Key {
	return []Key{
		{Name: "srvctl-corp.", Algorithm: "hmac-sha256", SecretFile: "testdata/keys/srvctl-corp.key", KeygenFile: true},
		{Name: "srvctl-branch.", Algorithm: "hmac-sha512", SecretFile: "/etc/srvctl/branch.key", Secret: branchSecret},
		{Name: "kms1-key.", Algorithm: "hmac-sha256"},
	}
}

// goldenConfs are the variants of WriteNamedConf, each a golden file
// testdata/<name>.conf.
func goldenConfs() map[string]NamedConf {
	policyZones := []Zone{
		{Name: "lab.example.org.", Backend: "bindfile", File: "/etc/bind/fragments/lab.example.org.vlmcs"},
		{Name: "corp.example.com.", Owner: "_vlmcs._tcp.corp.example.com.", Backend: "rfc2136", Key: "srvctl-corp.",
			HostKeys: []string{"kms1-key."}, Kerberos: "CORP.EXAMPLE.COM", MaxRecords: 3},
		{Name: "branch.example.net.", Backend: "rfc2136", Key: "srvctl-branch."},
	}
	legacyZones := []Zone{
		{Name: "corp.example.com.", Key: "srvctl-corp.", HostKeys: []string{"kms1-key."}},
		{Name: "branch.example.net.", Key: "srvctl-branch."},
		{Name: "lab.example.org.", Backend: "bindfile", File: "fragments/lab.example.org.vlmcs"},
	}
	return map[string]NamedConf{
		"update-policy": {Keys: goldenKeys(), Zones: policyZones, Source: "/etc/srvctl/srvctl.yaml"},
		"with-secrets":  {Keys: goldenKeys(), Zones: policyZones, WithSecrets: true, Source: "/etc/srvctl/srvctl.yaml"},
		"allow-update":  {Keys: goldenKeys(), Zones: legacyZones, Style: StyleAllowUpdate, Source: "/etc/srvctl/srvctl.yaml"},
		"insecure": {
			Keys: goldenKeys()[:1],
			Zones: []Zone{
				{Name: "corp.example.com.", Key: "srvctl-corp."},
				{Name: "legacy.example.com."}, // unsigned updates only
			},
			Style:       StyleAllowUpdate,
			AllowUpdate: []string{"any", "192.0.2.10", "2001:db8::/32"},
			Insecure:    true,
			Source:      "/etc/srvctl/srvctl.yaml",
		},
		// The zero value but for one zone: every default.
		"minimal": {Zones: []Zone{{Name: "corp.example.com", Key: "srvctl-corp"}}},
		// srvctl with GSS-TSIG in one zone, KMS hosts' machine accounts in
		// another, a TSIG zone beside them; named's keytab given.
		"gss-tsig": {
			Keys:       goldenKeys()[:1],
			Zones:      gssZones(),
			TKEYKeytab: "/etc/bind/dns.keytab",
			Source:     "/etc/srvctl/srvctl.yaml",
		},
		// The same with tkey-gssapi-credential, and a computer account as
		// srvctl's principal.
		"gss-tsig-credential": {
			Keys: goldenKeys()[:1],
			Zones: []Zone{
				{Name: "ad.corp.example.com.", Principal: "SRVCTL$@CORP.EXAMPLE.COM", Kerberos: "CORP.EXAMPLE.COM", MaxRecords: 2},
			},
			TKEYKeytab:     "/etc/bind/dns.keytab",
			TKEYCredential: "DNS/ns1.corp.example.com@CORP.EXAMPLE.COM",
		},
		// The credential alone: named reads the default keytab.
		"gss-tsig-default-keytab": {
			Zones:          []Zone{{Name: "ad.corp.example.com.", Principal: "srvctl@CORP.EXAMPLE.COM"}},
			TKEYCredential: "DNS/ns1.corp.example.com@CORP.EXAMPLE.COM",
		},
		// GSS-TSIG grants, but named's keytab unknown: the output says
		// what to add.
		"gss-tsig-missing": {Keys: goldenKeys()[:1], Zones: gssZones()},
		// A keytab given though no zone uses GSS-TSIG (yet).
		"tkey-only": {Zones: []Zone{{Name: "corp.example.com", Key: "srvctl-corp"}}, TKEYKeytab: "/etc/bind/dns.keytab"},
	}
}

// gssZones are zones with GSS-TSIG grants, and one without.
func gssZones() []Zone {
	return []Zone{
		{Name: "ad.corp.example.com.", Principal: "srvctl@CORP.EXAMPLE.COM"},
		{Name: "sites.corp.example.com.", Principal: "srvctl@CORP.EXAMPLE.COM", Kerberos: "CORP.EXAMPLE.COM"},
		{Name: "corp.example.com.", Key: "srvctl-corp."},
	}
}

// TestWriteNamedConfGolden renders every variant, compares it with its
// golden file, and has the real named-checkconf check it.
func TestWriteNamedConfGolden(t *testing.T) {
	requireCheckconf(t)
	for name, c := range goldenConfs() {
		t.Run(name, func(t *testing.T) {
			var got, again bytes.Buffer
			if err := WriteNamedConf(&got, c); err != nil {
				t.Fatal(err)
			}
			if err := WriteNamedConf(&again, c); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), again.Bytes()) {
				t.Fatal("rendering the same config twice gave different output")
			}
			path := filepath.Join("testdata", name+".conf")
			golden.Check(t, path, got.Bytes())
			if err := CheckNamedConf(context.Background(), got.Bytes(), c.Zones); err != nil {
				t.Errorf("named-checkconf: %v\n%s", err, got.String())
			}
			if !c.WithSecrets && strings.Contains(got.String(), branchSecret) {
				t.Errorf("the secret of srvctl-branch is in the output rendered without secrets")
			}
		})
	}
}

// commentedKey matches the lines of a commented-out key statement.
var commentedKey = regexp.MustCompile(`(?m)^//(key |\t(?:algorithm|secret) |};)`)

// TestPlaceholderSecretRefused uncomments a key statement rendered
// without secrets, as someone might without pasting the secret: the real
// named-checkconf must refuse it, pointing at the placeholder's line.
func TestPlaceholderSecretRefused(t *testing.T) {
	requireCheckconf(t)
	for _, k := range goldenKeys()[1:] {
		t.Run(k.Name, func(t *testing.T) {
			c := NamedConf{Keys: []Key{k}, Zones: []Zone{{Name: "corp.example.com.", Key: k.Name}}}
			var b bytes.Buffer
			if err := WriteNamedConf(&b, c); err != nil {
				t.Fatal(err)
			}
			if err := CheckNamedConf(context.Background(), b.Bytes(), c.Zones); err != nil {
				t.Fatalf("named-checkconf refused the output as rendered: %v", err)
			}
			uncommented := commentedKey.ReplaceAll(b.Bytes(), []byte("$1"))
			placeholder := `secret "<paste the base64 secret of ` + strings.TrimSuffix(k.Name, ".") + ` here>";`
			line := 0
			for i, l := range strings.Split(string(uncommented), "\n") {
				if strings.TrimSpace(l) == placeholder {
					line = i + 1
				}
			}
			if line == 0 {
				t.Fatalf("no uncommented %s in:\n%s", placeholder, uncommented)
			}
			err := CheckNamedConf(context.Background(), uncommented, c.Zones)
			if err == nil {
				t.Fatalf("named-checkconf accepted the placeholder secret:\n%s", uncommented)
			}
			if want := "snippet:" + strconv.Itoa(line) + ": bad secret"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}

// TestWriteNamedConfErrors checks that bad input is refused, with an error
// naming what is wrong, that nothing is written, and that no secret leaks
// into the error.
func TestWriteNamedConfErrors(t *testing.T) {
	base := func() NamedConf { return goldenConfs()["update-policy"] }
	tests := []struct {
		name   string
		modify func(c *NamedConf)
		want   []string
	}{
		{"quote in key name", func(c *NamedConf) { c.Keys[0].Name = `srvctl"corp` }, []string{`key "srvctl\"corp": contains '"'`}},
		{"semicolon in key name", func(c *NamedConf) { c.Keys[1].Name = "a;b" }, []string{`key "a;b": contains ';'`}},
		{"brace in host key", func(c *NamedConf) { c.Zones[1].HostKeys = []string{"kms}"} }, []string{`zone corp.example.com: host key "kms}": contains '}'`}},
		{"newline in zone key", func(c *NamedConf) { c.Zones[2].Key = "k\nallow-update { any; }" }, []string{`zone branch.example.net: key "k\nallow-update { any; }": contains '\n'`}},
		{"quote in secret file", func(c *NamedConf) { c.Keys[0].SecretFile = `/etc/a"; include "/etc/shadow` },
			[]string{`key srvctl-corp: secret file "/etc/a\"; include \"/etc/shadow": contains '"'`}},
		{"backslash in secret file", func(c *NamedConf) { c.Keys[1].SecretFile = `C:\keys\b.key` }, []string{`secret file "C:\\keys\\b.key": contains '\\'`}},
		{"newline in fragment", func(c *NamedConf) { c.Zones[0].File = "/x\n$INCLUDE /etc/shadow" }, []string{`zone lab.example.org: file "/x\n$INCLUDE /etc/shadow": contains the non-printing character '\n'`}},
		{"control character in fragment", func(c *NamedConf) { c.Zones[0].File = "/x\x1b[2J" }, []string{`contains the non-printing character '\x1b'`}},
		{"brace in fragment", func(c *NamedConf) { c.Zones[0].File = "/x{y}" }, []string{`zone lab.example.org: file "/x{y}": contains '{'`}},
		{"quote in zone name", func(c *NamedConf) { c.Zones[1].Name = `corp".example.com` }, []string{`zone name: "corp\".example.com"`}},
		{"newline in source", func(c *NamedConf) { c.Source = "a\nkey" }, []string{`source "a\nkey": contains the non-printing character '\n'`}},
		{"bad secret", func(c *NamedConf) { c.WithSecrets = true; c.Keys[1].Secret = "not base64 " + branchSecret },
			[]string{"key srvctl-branch: the secret is not valid base64"}},
		{"bad algorithm", func(c *NamedConf) { c.Keys[1].Algorithm = "hmac-sha257" }, []string{`key srvctl-branch: algorithm "hmac-sha257" is not one of`}},
		{"keygen without file", func(c *NamedConf) { c.Keys[0].SecretFile = "" }, []string{"key srvctl-corp: a tsig-keygen file is to be included, but no secret file is given"}},
		{"key twice", func(c *NamedConf) { c.Keys = append(c.Keys, Key{Name: "SRVCTL-corp"}) }, []string{`key "SRVCTL-corp": defined twice`}},
		{"zone twice", func(c *NamedConf) { c.Zones = append(c.Zones, Zone{Name: "Corp.Example.com", Key: "k"}) }, []string{"zone corp.example.com: given twice"}},
		{"no key", func(c *NamedConf) { c.Zones[2].Key = "" }, []string{"zone branch.example.net: no key: srvctl's updates must be signed"}},
		{"owner outside the zone", func(c *NamedConf) { c.Zones[1].Owner = "_vlmcs._tcp.example.com." }, []string{`zone corp.example.com: owner "_vlmcs._tcp.example.com.": not below the zone corp.example.com.`}},
		{"bad backend", func(c *NamedConf) { c.Zones[2].Backend = "route53" }, []string{`zone branch.example.net: backend "route53": want "rfc2136" or "bindfile"`}},
		{"bindfile without file", func(c *NamedConf) { c.Zones[0].File = "" }, []string{"zone lab.example.org: bindfile zone without a file"}},
		{"bindfile with host keys", func(c *NamedConf) { c.Zones[0].HostKeys = []string{"kms1-key"} }, []string{"zone lab.example.org: KMS hosts cannot publish themselves in a bindfile zone"}},
		{"cap too big", func(c *NamedConf) { c.Zones[1].MaxRecords = 65536 }, []string{"zone corp.example.com: record cap 65536: want 0 (none) to 65535"}},
		{"bad realm", func(c *NamedConf) { c.Zones[1].Kerberos = "CORP EXAMPLE" }, []string{`zone corp.example.com: Kerberos realm "CORP EXAMPLE": contains ' '`}},
		{"bad style", func(c *NamedConf) { c.Style = "allow-all" }, []string{`style "allow-all": want "update-policy" or "allow-update"`}},
		{"Kerberos with allow-update", func(c *NamedConf) { c.Style = StyleAllowUpdate; c.Zones[1].MaxRecords = 0 },
			[]string{"zone corp.example.com: Kerberos self-publishing (ms-subdomain-self-rhs) needs the update-policy style"}},
		{"cap with allow-update", func(c *NamedConf) { c.Style = StyleAllowUpdate; c.Zones[1].Kerberos = "" },
			[]string{"zone corp.example.com: a record cap (SRV(n)) needs the update-policy style"}},
		{"allow-update any without insecure", func(c *NamedConf) { c.Style = StyleAllowUpdate; c.Zones = c.Zones[2:]; c.AllowUpdate = []string{"any"} },
			[]string{`allow-update ["any"] refused: it takes updates without a key, so anyone who can reach the server (from there) can rewrite every record of the zone`}},
		{"allow-update address in update-policy", func(c *NamedConf) { c.AllowUpdate = []string{"192.0.2.1"}; c.Insecure = true },
			[]string{`allow-update ["192.0.2.1"]: addresses cannot be granted in update-policy`}},
		{"bad allow-update element", func(c *NamedConf) {
			c.Style = StyleAllowUpdate
			c.Zones = c.Zones[2:]
			c.Insecure = true
			c.AllowUpdate = []string{"any; }; include \"/etc/shadow\"", "10.1.2.3/8"}
		}, []string{`allow-update element "any; }; include \"/etc/shadow\"": want "any"`, `allow-update element "10.1.2.3/8": prefix has host bits set; did you mean 10.0.0.0/8?`}},
		{"lower-case realm", func(c *NamedConf) { c.Zones[1].Kerberos = "corp.example.com" },
			[]string{`zone corp.example.com: Kerberos realm "corp.example.com": not upper case: Kerberos realms are case-sensitive (Active Directory's is its DNS domain in upper case, e.g. CORP.EXAMPLE.COM)`}},
		{"key and principal", func(c *NamedConf) { c.Zones[2].Principal = "srvctl@CORP.EXAMPLE.COM" },
			[]string{`zone branch.example.net: key "srvctl-branch." and principal "srvctl@CORP.EXAMPLE.COM": srvctl signs with a TSIG key or with GSS-TSIG (Kerberos), give one`}},
		{"principal with allow-update", func(c *NamedConf) {
			c.Style = StyleAllowUpdate
			c.Zones = c.Zones[2:]
			c.Zones[0].Key = ""
			c.Zones[0].Principal = "srvctl@CORP.EXAMPLE.COM"
		}, []string{"zone branch.example.net: principal srvctl@CORP.EXAMPLE.COM: allow-update takes keys and addresses only, not Kerberos principals; use the update-policy style"}},
		{"principal in a bindfile zone", func(c *NamedConf) { c.Zones[0].Principal = "srvctl@CORP.EXAMPLE.COM" },
			[]string{`zone lab.example.org: principal "srvctl@CORP.EXAMPLE.COM": a bindfile zone takes no updates, so no GSS-TSIG grant`}},
		{"bad principal", func(c *NamedConf) { c.Zones[2].Key = ""; c.Zones[2].Principal = `srvctl"@CORP.EXAMPLE.COM` },
			[]string{`zone branch.example.net: principal "srvctl\"@CORP.EXAMPLE.COM": contains '"'`}},
		{"relative keytab", func(c *NamedConf) { c.TKEYKeytab = "dns.keytab" },
			[]string{`tkey-gssapi-keytab "dns.keytab": not an absolute path (named would take it relative to its working directory)`}},
		{"quote in keytab", func(c *NamedConf) { c.TKEYKeytab = `/etc/bind/a"; include "/etc/shadow` },
			[]string{`tkey-gssapi-keytab "/etc/bind/a\"; include \"/etc/shadow": contains '"', which is refused in named.conf strings`}},
		{"newline in keytab", func(c *NamedConf) { c.TKEYKeytab = "/etc/bind/a\n};" },
			[]string{`tkey-gssapi-keytab "/etc/bind/a\n};": contains the non-printing character '\n'`}},
		{"bad credential", func(c *NamedConf) { c.TKEYCredential = "DNS/ns1.corp.example.com" },
			[]string{`tkey-gssapi-credential "DNS/ns1.corp.example.com": no realm: want NAME@REALM`}},
		{"every problem listed", func(c *NamedConf) { c.Keys[0].Name = "a b"; c.Zones[0].File = "" },
			[]string{`key "a b": contains ' '`, "zone lab.example.org: bindfile zone without a file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.modify(&c)
			var b bytes.Buffer
			err := WriteNamedConf(&b, c)
			if err == nil {
				t.Fatalf("no error; output:\n%s", b.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), branchSecret) {
				t.Errorf("the error reveals a secret: %v", err)
			}
			if b.Len() != 0 {
				t.Errorf("output written despite the error:\n%s", b.String())
			}
		})
	}
}

// TestCheckPrincipal checks principals as grants and
// tkey-gssapi-credential take them.
func TestCheckPrincipal(t *testing.T) {
	tests := []struct {
		principal string
		want      string // "" for valid, else the error
	}{
		{"srvctl@CORP.EXAMPLE.COM", ""},
		{"SRVCTL$@CORP.EXAMPLE.COM", ""},
		{"DNS/ns1.corp.example.com@CORP.EXAMPLE.COM", ""},
		{"svc_srvctl-1@CORP-2.EXAMPLE.COM", ""},
		{"first.last@CORP", ""},
		{"", "empty principal"},
		{"srvctl", "no realm: want NAME@REALM, e.g. srvctl@CORP.EXAMPLE.COM"},
		{"@CORP.EXAMPLE.COM", `no name before "@"`},
		{"a@b@CORP.EXAMPLE.COM", `more than one "@"`},
		{"srvctl@corp.example.com", `realm "corp.example.com": not upper case`},
		{"srvctl@Corp.Example.Com", `realm "Corp.Example.Com": not upper case`},
		{"srvctl@CORP_X.COM", `realm "CORP_X.COM": contains "_"`},
		{"srvctl@CORP.EXAMPLE.COM.", `realm "CORP.EXAMPLE.COM.": empty label`},
		{"srvctl@", `realm "": empty name`},
		{`srv"ctl@CORP.EXAMPLE.COM`, `contains '"'`},
		{"srv ctl@CORP.EXAMPLE.COM", `contains ' '`},
		{"srvctl;@CORP.EXAMPLE.COM", `contains ';'`},
		{"srvctl}@CORP.EXAMPLE.COM", `contains '}'`},
		{"{srvctl@CORP.EXAMPLE.COM", `contains '{'`},
		{`srv\ctl@CORP.EXAMPLE.COM`, `contains '\\'`},
		{"*@CORP.EXAMPLE.COM", `contains '*'`},
		{"srvctl\n@CORP.EXAMPLE.COM", `contains '\n'`},
		{"srvçtl@CORP.EXAMPLE.COM", `contains 'ç'`},
		{"DNS//ns1@CORP.EXAMPLE.COM", `empty component in "DNS//ns1"`},
		{"DNS/@CORP.EXAMPLE.COM", `empty component in "DNS/"`},
		{".srvctl@CORP.EXAMPLE.COM", "empty label: named reads a principal as a DNS name"},
		{"a..b@CORP.EXAMPLE.COM", "empty label"},
		{strings.Repeat("a", 64) + "@CORP.EXAMPLE.COM", "longer than 63 characters between dots"},
		{strings.Repeat("a.", 120) + "a@CORP.EXAMPLE.COM", "longer than 253 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.principal, func(t *testing.T) {
			err := checkPrincipal(tt.principal)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("checkPrincipal(%q): %v", tt.principal, err)
			case tt.want != "" && err == nil:
				t.Fatalf("checkPrincipal(%q) accepted it, want an error containing %q", tt.principal, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("checkPrincipal(%q) = %q, want it to contain %q", tt.principal, err, tt.want)
			}
		})
	}
}

// TestGSSTSIGOutput checks what the GSS-TSIG variants promise beyond their
// golden files: the options block is there exactly when named's keytab or
// credential is known, commented out, and the tkey lines are inside it.
func TestGSSTSIGOutput(t *testing.T) {
	confs := goldenConfs()
	tests := []struct {
		name       string
		options    []string // the lines of the commented options block, nil for none
		mentioning []string // substrings the output must hold
	}{
		{"gss-tsig", []string{`//	tkey-gssapi-keytab "/etc/bind/dns.keytab";`},
			[]string{"they are in\n// ad.corp.example.com and sites.corp.example.com.\n", `grant "srvctl@CORP.EXAMPLE.COM" name _vlmcs._tcp.ad.corp.example.com. SRV;`}},
		{"gss-tsig-credential", []string{`//	tkey-gssapi-keytab "/etc/bind/dns.keytab";`, `//	tkey-gssapi-credential "DNS/ns1.corp.example.com@CORP.EXAMPLE.COM";`},
			[]string{"even when tkey-gssapi-keytab names another", `grant "SRVCTL$@CORP.EXAMPLE.COM" name _vlmcs._tcp.ad.corp.example.com. SRV(2);`}},
		{"gss-tsig-default-keytab", []string{`//	tkey-gssapi-credential "DNS/ns1.corp.example.com@CORP.EXAMPLE.COM";`},
			[]string{"tkey-gssapi-credential is deprecated in BIND 9.18"}},
		{"gss-tsig-missing", nil, []string{"srvctl was given no keytab for named", `//	tkey-gssapi-keytab "<absolute path of that keytab>";`}},
		{"tkey-only", []string{`//	tkey-gssapi-keytab "/etc/bind/dns.keytab";`}, []string{"named accepts it only with the keys of its own"}},
		{"update-policy", nil, []string{"they are in\n// corp.example.com.\n", "srvctl was given no keytab for named"}},
		{"minimal", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteNamedConf(&b, confs[tt.name]); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			var block []string
			in := false
			for l := range strings.SplitSeq(out, "\n") {
				switch {
				case l == "//options {":
					in = true
				case l == "//};" && in:
					in = false
				case in:
					block = append(block, l)
				}
			}
			if diff := cmp.Diff(tt.options, block); diff != "" {
				t.Errorf("options block (-want +got):\n%s", diff)
			}
			if strings.Contains(out, "\noptions") {
				t.Errorf("an options statement that is not commented out:\n%s", out)
			}
			for _, m := range tt.mentioning {
				if !strings.Contains(out, m) {
					t.Errorf("the output does not mention %q:\n%s", m, out)
				}
			}
			if tt.options == nil && strings.Contains(out, "GSS-TSIG") && !strings.Contains(out, "srvctl was given no keytab for named") {
				t.Errorf("GSS-TSIG grants without a keytab, and no word about it:\n%s", out)
			}
		})
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a and b"},
		{[]string{"a", "b", "c", "d", "e"}, "a, b, c, d and e"},
		{[]string{"a", "b", "c", "d", "e", "f", "g"}, "a, b, c, d, e and 2 more"},
	}
	for _, tt := range tests {
		if got := list(tt.names); got != tt.want {
			t.Errorf("list(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}

// TestCheckNamedConf feeds CheckNamedConf snippets written by hand: the
// lexer must cope with every comment style and with braces and ";" inside
// strings and comments, and named-checkconf's complaints must come back
// with the snippet's line numbers.
func TestCheckNamedConf(t *testing.T) {
	requireCheckconf(t)
	twoZones := []Zone{{Name: "b.example.", Key: "k"}, {Name: "a.example.", Key: "k"}, {Name: "c.example.", Backend: "bindfile", File: "x"}}
	tests := []struct {
		name    string
		snippet string
		zones   []Zone
		want    string // "" for success, else a substring of the error
	}{
		{"comments and strings", `# a comment with "quotes" and { braces
/* a block comment
   update-policy { grant "x" zonesub ANY; }; */
key "k" { algorithm hmac-sha256; secret "aGVsbG8gd29ybGQ="; }; // trailing ; { comment
update-policy { grant "k" name _vlmcs._tcp.a.example. SRV; }; allow-update { key "k;}"; };
`, twoZones, ""},
		{"wrapped in order", "update-policy {\n\tgrant \"k\" name _vlmcs._tcp.a.example. SRV(70000);\n};\nupdate-policy { grant \"k\" name _vlmcs._tcp.b.example. SRV; };\n",
			twoZones, "snippet:2: '(70000)' is not a valid count"},
		{"unknown type", "\n\nupdate-policy { grant \"k\" name _vlmcs._tcp.a.example. SRV; };\nupdate-policy { grant \"k\" name _vlmcs._tcp.b.example. NOSUCHTYPE; };\n",
			twoZones, "snippet:4: "},
		{"missing include", "include \"testdata/keys/nonexistent.key\";\nupdate-policy { grant \"k\" name x.a.example. SRV; };\nupdate-policy { grant \"k\" name x.b.example. SRV; };\n",
			twoZones, "snippet:1: parsing failed: file not found"},
		{"bad secret", "key \"k\" {\n\talgorithm hmac-sha256;\n\tsecret \"not-base64\";\n};\nallow-update { key \"k\"; };\nallow-update { key \"k\"; };\n",
			twoZones, "snippet:3: bad secret"},
		{"too few statements", "update-policy { grant \"k\" name x.a.example. SRV; };\n", twoZones,
			"the statements hold 1 update-policy or allow-update statements for 2 rfc2136 zones"},
		{"unterminated", "update-policy { grant \"k\" name x.a.example. SRV; }\n", twoZones, "the last statement is not terminated"},
		{"unterminated string", "key \"k { };\n", nil, "line 1: unterminated string"},
		{"unterminated comment", "/* key \"k\" { };\n", nil, "line 1: unterminated /* comment"},
		{"bad zone", "", []Zone{{Name: "a\".example"}}, `zone name: "a\".example"`},
		{"options block checked", "// c\n//options {\n//\ttkey-gssapi-keytab \"/k\";\n//\tno-such-option yes;\n//};\n", nil,
			"snippet:4: unknown option 'no-such-option'"},
		{"options block in an allowed place", "//options {\n//\ttkey-gssapi-keytab \"/k\";\n//\ttkey-gssapi-credential \"DNS/ns@R\";\n//};\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNamedConf(context.Background(), []byte(tt.snippet), tt.zones)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestAssemble checks the named.conf CheckNamedConf hands named-checkconf:
// every zone-level statement wrapped on its own lines, so line numbers stay.
func TestAssemble(t *testing.T) {
	snippet := "// c\nkey \"k\" { algorithm hmac-sha256; secret \"aGk=\"; };\nupdate-policy {\n\tgrant \"k\" name x.b.example. SRV;\n};\nallow-update { key \"k\"; };\n"
	zs := []Zone{{Name: "b.example."}, {Name: "a.example"}, {Name: "c.example", Backend: "bindfile"}}
	got, secrets, err := assemble([]byte(snippet), zs, func(z string) string { return "/db/" + z })
	if err != nil {
		t.Fatal(err)
	}
	want := "// c\nkey \"k\" { algorithm hmac-sha256; secret \"aGk=\"; };\n" +
		"zone \"a.example\" { type primary; file \"/db/a.example\"; update-policy {\n\tgrant \"k\" name x.b.example. SRV;\n}; };\n" +
		"zone \"b.example\" { type primary; file \"/db/b.example\"; allow-update { key \"k\"; }; };\n" +
		"zone \"c.example\" { type primary; file \"/db/c.example\"; };\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("assemble (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"aGk="}, secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
}

// TestUncommentOptions checks the options block CheckNamedConf hands
// named-checkconf: only a whole commented block is uncommented.
func TestUncommentOptions(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"block", "// x\n//options {\n//\tk \"v\";\n//};\n// y\n", "// x\noptions {\n\tk \"v\";\n};\n// y\n"},
		{"no end", "//options {\n//\tk \"v\";\n", "//options {\n//\tk \"v\";\n"},
		{"interrupted", "//options {\n\tk \"v\";\n//};\n", "//options {\n\tk \"v\";\n//};\n"},
		{"not at line start", "// //options {\n//};\n", "// //options {\n//};\n"},
		{"last line without newline", "//options {\n//};", "options {\n};"},
		{"two blocks", "//options {\n//};\n//options {\n//};\n", "options {\n};\noptions {\n};\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, string(uncommentOptions([]byte(tt.in)))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckconfOutput(t *testing.T) {
	out := []byte("/tmp/x/named.conf:3: bad secret near 'c2VjcmV0' in /tmp/x/named.conf\n")
	got := checkconfOutput(out, "/tmp/x/named.conf", []string{"c2VjcmV0", ""})
	if want := "snippet:3: bad secret near '[redacted]' in snippet"; got != want {
		t.Errorf("checkconfOutput = %q, want %q", got, want)
	}
}

// FuzzStatements checks that the named.conf lexer ends on any input and
// that the statements it returns are within it, in order, each ending in
// ";".
func FuzzStatements(f *testing.F) {
	for _, c := range goldenConfs() {
		var b bytes.Buffer
		if err := WriteNamedConf(&b, c); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte(`key "a\"b" { secret "x"; }; /* } */ # ;` + "\n" + `a/b;`))
	f.Fuzz(func(t *testing.T, src []byte) {
		stmts, _, err := statements(src)
		if err != nil {
			return
		}
		prev := 0
		for _, s := range stmts {
			if s.start < prev || s.end <= s.start || s.end > len(src) || src[s.end-1] != ';' {
				t.Fatalf("bad statement %+v after %d in %q", s, prev, src)
			}
			prev = s.end
		}
	})
}
