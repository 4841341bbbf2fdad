package render

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/sambatest"
	"github.com/srvctl/srvctl/publisher/gsstsig"
)

// nsHost is the named test server's host name: its service principal is
// DNS/nsHost@<realm>.
const nsHost = "ns.render.test"

// namedKeytab makes a computer account NSRENDER with the service principal
// DNS/<host> in the Samba domain, with AES keys only, and exports its keys
// to a keytab for named's tkey-gssapi-keytab.
func namedKeytab(t *testing.T, ctx context.Context, dc *sambatest.DC, host string) string {
	t.Helper()
	dc.SambaTool(t, "computer", "create", "NSRENDER")
	// A password set after creation gives the account its AES keys.
	dc.SambaTool(t, "user", "setpassword", "NSRENDER$", "--newpassword=Ns-render-"+rand.Text())
	dc.SambaTool(t, "spn", "add", "DNS/"+host, "NSRENDER$")
	mod := ldap.NewModifyRequest("CN=NSRENDER,CN=Computers,"+dc.BaseDN, nil)
	mod.Replace("msDS-SupportedEncryptionTypes", []string{"24"}) // AES128, AES256
	if err := dc.LDAP(t).Modify(mod); err != nil {
		t.Fatalf("setting the encryption types of NSRENDER$: %v", err)
	}
	kt := filepath.Join(t.TempDir(), "named.keytab")
	// exportkeytab reads the keys from the DC's database directly.
	out, err := exec.CommandContext(ctx, "samba-tool", "domain", "exportkeytab", kt, "--principal=DNS/"+host,
		"-s", filepath.Join(dc.Dir, "etc", "smb.conf")).CombinedOutput()
	if err != nil {
		t.Fatalf("samba-tool domain exportkeytab: %v\n%s", err, out)
	}
	return kt
}

// optionsBlock returns the statements of the rendered output's commented
// options block, uncommented: what the comment tells the reader to add to
// named's options. nil when there is no block.
func optionsBlock(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	in := false
	for l := range strings.SplitSeq(out, "\n") {
		switch {
		case l == "//options {":
			in = true
		case l == "//};" && in:
			return lines
		case in:
			s, ok := strings.CutPrefix(l, "//\t")
			if !ok {
				t.Fatalf("line %q of the options block is not a commented statement:\n%s", l, out)
			}
			lines = append(lines, s)
		}
	}
	if in {
		t.Fatalf("the options block does not end:\n%s", out)
	}
	return nil
}

// gssNamed renders c and returns the bindtest options of a named that has
// the statements of the output's options block among its options and the
// update-policy statements in their zone blocks; also the output and the
// zones' names.
func gssNamed(t *testing.T, c NamedConf) (bindtest.Options, string, []string) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteNamedConf(&b, c); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	zoneFile := func(zone string) string { return filepath.Join(dir, "db."+zone) }
	conf, _, err := assemble(b.Bytes(), c.Zones, zoneFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, z := range c.Zones {
		name := strings.TrimSuffix(z.Name, ".")
		names = append(names, name)
		writeFile(t, zoneFile(name), "$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n")
	}
	return bindtest.Options{
		// named refuses A records at names with underscores (check-names)
		// on its own: turn that off, so that only the grants refuse them.
		Options: append([]string{"check-names primary ignore;"}, optionsBlock(t, b.String())...),
		Conf:    []string{string(conf)},
	}, b.String(), names
}

// srv is an SRV record at name, port 1688, pointing at target.
func srv(name, target string) *dns.SRV {
	return &dns.SRV{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 60},
		Priority: 0, Weight: 100, Port: 1688, Target: target}
}

// TestNamedGSSTSIG puts rendered GSS-TSIG statements into a real named
// whose keytab the Samba KDC issued (the options block's lines among
// named's options, the update-policy statements in their zones), and sends
// GSS-TSIG signed updates with gsstsig as srvctl's own principal and as KMS
// hosts' machine accounts: each grant lets in exactly what its comment
// says, with the keytab alone and with the (deprecated) credential. It also
// checks what the comments warn of: named does not start with the
// credential when the default keytab lacks its key, and refuses GSS-TSIG
// without tkey-gssapi-keytab.
func TestNamedGSSTSIG(t *testing.T) {
	bindtest.RequireNamed(t)
	sambatest.RequireSamba(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dc := sambatest.Start(t, sambatest.Options{})
	kt := namedKeytab(t, ctx, dc, nsHost)

	// srvctl's own account: a user with a password.
	password := "Srvctl-" + rand.Text()
	dc.SambaTool(t, "user", "create", "srvctl", password)
	principal := "srvctl@" + dc.Realm
	srvctlCreds := gsstsig.Credentials{Realm: dc.Realm, Principal: "srvctl", Password: gsstsig.Secret(password), Krb5Conf: dc.Krb5Conf}
	machine := func(name string) gsstsig.Credentials {
		c := dc.Computer(t, name)
		return gsstsig.Credentials{Realm: dc.Realm, Principal: c.SAM, Keytab: c.Keytab, Krb5Conf: dc.Krb5Conf}
	}

	// named's environment: a krb5.conf whose default realm is another, and
	// a default keytab that does not exist.
	otherRealm := filepath.Join(t.TempDir(), "krb5.conf")
	writeFile(t, otherRealm, "[libdefaults]\n\tdefault_realm = OTHER.TEST\n")
	noKeytab := filepath.Join(t.TempDir(), "none.keytab")
	credential := "DNS/" + nsHost + "@" + dc.Realm

	variants := []struct {
		name               string
		keytab, credential string // NamedConf.TKEYKeytab, TKEYCredential
		krb5Conf, ktName   string // named's KRB5_CONFIG and KRB5_KTNAME
		startFails         string // named refuses to start, logging this
		tkeyRefused        bool   // named refuses the TKEY negotiation
	}{
		{name: "keytab alone, whatever krb5.conf and the default keytab", keytab: kt, krb5Conf: otherRealm, ktName: noKeytab},
		{name: "keytab and credential, the key in the default keytab", keytab: kt, credential: credential, krb5Conf: dc.Krb5Conf, ktName: kt},
		// A krb5.conf of another default realm only makes named log a
		// warning.
		{name: "credential alone, the key in the default keytab", credential: credential, krb5Conf: otherRealm, ktName: kt},
		// What the comment on tkey-gssapi-credential warns of.
		{name: "keytab and credential, the key not in the default keytab", keytab: kt, credential: credential, krb5Conf: dc.Krb5Conf, ktName: noKeytab,
			startFails: "configuring TKEY: failure"},
		// What the comment for a missing keytab says: even with the key in
		// the default keytab.
		{name: "neither", krb5Conf: dc.Krb5Conf, ktName: kt, tkeyRefused: true},
	}
	for _, variant := range variants {
		t.Run(variant.name, func(t *testing.T) {
			t.Setenv("KRB5_CONFIG", variant.krb5Conf)
			t.Setenv("KRB5_KTNAME", variant.ktName)
			opts, out, names := gssNamed(t, NamedConf{
				Zones: []Zone{
					{Name: "gss.test.", Principal: principal, Kerberos: dc.Realm},
					{Name: "other.test.", Principal: "someone-else@" + dc.Realm},
				},
				TKEYKeytab:     variant.keytab,
				TKEYCredential: variant.credential,
			})
			if variant.startFails != "" {
				s, err := bindtest.Launch(opts)
				if err == nil {
					s.Stop()
					t.Fatalf("named started, want it to fail with %q", variant.startFails)
				}
				if !strings.Contains(err.Error(), variant.startFails) {
					t.Fatalf("named failed to start, but not with %q: %v", variant.startFails, err)
				}
				return
			}
			s := bindtest.Start(t, opts)
			waitForZones(t, s, names)
			if variant.tkeyRefused {
				if !strings.Contains(out, "srvctl was given no keytab for named") {
					t.Errorf("the output does not say the keytab is missing:\n%s", out)
				}
				n := gsstsig.New(gsstsig.Options{Credentials: srvctlCreds, Timeout: 10 * time.Second})
				defer n.Close(context.Background())
				_, err := n.Context(ctx, s.Addr, nsHost)
				var te *gsstsig.TKEYError
				if !errors.As(err, &te) || te.Rcode != dns.RcodeRefused {
					t.Fatalf("GSS-TSIG negotiation: %v, want the TKEY exchange REFUSED", err)
				}
				return
			}

			// One negotiator per account for the variant's whole run, closed
			// when it ends.
			vt := t
			sessions := map[string]*gsstsig.SecContext{}
			session := func(t *testing.T, who string) *gsstsig.SecContext {
				t.Helper()
				if sc := sessions[who]; sc != nil {
					return sc
				}
				creds := srvctlCreds
				if who != "srvctl" {
					creds = machine(who)
				}
				n := gsstsig.New(gsstsig.Options{Credentials: creds, Timeout: 10 * time.Second})
				vt.Cleanup(func() { n.Close(context.Background()) })
				sc, err := n.Context(ctx, s.Addr, nsHost)
				if err != nil {
					t.Fatalf("GSS-TSIG negotiation as %s: %v\nnamed.log:\n%s", who, err, s.LogTail(20))
				}
				sessions[who] = sc
				return sc
			}

			const owner = "_vlmcs._tcp.gss.test."
			kms := func(n int) string { return fmt.Sprintf("kms%d.srvctl.test.", n) }
			add := func(zone string, rrs ...dns.RR) *dns.Msg {
				m := new(dns.Msg)
				m.SetUpdate(zone)
				m.Insert(rrs)
				return m
			}
			remove := func(zone string, rrs ...dns.RR) *dns.Msg {
				m := new(dns.Msg)
				m.SetUpdate(zone)
				m.Remove(rrs)
				return m
			}
			removeRRset := func(zone string, rrs ...dns.RR) *dns.Msg {
				m := new(dns.Msg)
				m.SetUpdate(zone)
				m.RemoveRRset(rrs)
				return m
			}
			a := &dns.A{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}}
			a.A = []byte{192, 0, 2, 1}
			srvLine := func(target string) string { return "0 100 1688 " + target }

			tests := []struct {
				name  string
				who   string // "srvctl" or a computer account
				msg   *dns.Msg
				rcode int
				query string // then the RRset here...
				qtype uint16
				want  []string // ...holds this
			}{
				{name: "srvctl's principal adds an SRV record at its name", who: "srvctl",
					msg: add("gss.test.", srv(owner, "kms9.corp.example.com.")), rcode: dns.RcodeSuccess,
					query: owner, qtype: dns.TypeSRV, want: []string{srvLine("kms9.corp.example.com.")}},
				{name: "srvctl's principal: an A record at the same name is refused", who: "srvctl",
					msg: add("gss.test.", a), rcode: dns.RcodeRefused, query: owner, qtype: dns.TypeA},
				{name: "srvctl's principal: an SRV record at another name is refused", who: "srvctl",
					msg: add("gss.test.", srv("_other._tcp.gss.test.", "kms9.corp.example.com.")), rcode: dns.RcodeRefused,
					query: "_other._tcp.gss.test.", qtype: dns.TypeSRV},
				{name: "srvctl's principal: a zone granted to another principal is refused", who: "srvctl",
					msg: add("other.test.", srv("_vlmcs._tcp.other.test.", "kms9.corp.example.com.")), rcode: dns.RcodeRefused,
					query: "_vlmcs._tcp.other.test.", qtype: dns.TypeSRV},

				{name: "KMS1$ adds an SRV record pointing at itself", who: "KMS1",
					msg: add("gss.test.", srv(owner, kms(1))), rcode: dns.RcodeSuccess,
					query: owner, qtype: dns.TypeSRV, want: []string{srvLine("kms1.srvctl.test."), srvLine("kms9.corp.example.com.")}},
				{name: "KMS1$: an SRV record pointing at another host is refused", who: "KMS1",
					msg: add("gss.test.", srv(owner, kms(2))), rcode: dns.RcodeRefused,
					query: owner, qtype: dns.TypeSRV, want: []string{srvLine("kms1.srvctl.test."), srvLine("kms9.corp.example.com.")}},
				{name: "KMS1$: an A record is refused", who: "KMS1",
					msg: add("gss.test.", a), rcode: dns.RcodeRefused, query: owner, qtype: dns.TypeA},
				{name: "KMS1$: its SRV record at another name is refused", who: "KMS1",
					msg: add("gss.test.", srv("_other._tcp.gss.test.", kms(1))), rcode: dns.RcodeRefused,
					query: "_other._tcp.gss.test.", qtype: dns.TypeSRV},
				{name: "KMS1$: its SRV record in a zone without the realm's grant is refused", who: "KMS1",
					msg: add("other.test.", srv("_vlmcs._tcp.other.test.", kms(1))), rcode: dns.RcodeRefused,
					query: "_vlmcs._tcp.other.test.", qtype: dns.TypeSRV},
				{name: "KMS2$ adds its own", who: "KMS2",
					msg: add("gss.test.", srv(owner, kms(2))), rcode: dns.RcodeSuccess,
					query: owner, qtype: dns.TypeSRV, want: []string{srvLine("kms1.srvctl.test."), srvLine("kms2.srvctl.test."), srvLine("kms9.corp.example.com.")}},
				{name: "KMS3$, outside the KMS group, adds its own too: BIND knows no groups", who: "KMS3",
					msg: add("gss.test.", srv(owner, kms(3))), rcode: dns.RcodeSuccess,
					query: owner, qtype: dns.TypeSRV, want: []string{srvLine("kms1.srvctl.test."), srvLine("kms2.srvctl.test."), srvLine("kms3.srvctl.test."), srvLine("kms9.corp.example.com.")}},
				{name: "KMS1$: deleting KMS2$'s record is refused", who: "KMS1",
					msg: remove("gss.test.", srv(owner, kms(2))), rcode: dns.RcodeRefused,
					query: owner, qtype: dns.TypeSRV, want: []string{srvLine("kms1.srvctl.test."), srvLine("kms2.srvctl.test."), srvLine("kms3.srvctl.test."), srvLine("kms9.corp.example.com.")}},
				{name: "KMS1$ deletes its own record", who: "KMS1",
					msg: remove("gss.test.", srv(owner, kms(1))), rcode: dns.RcodeSuccess,
					query: owner, qtype: dns.TypeSRV, want: []string{srvLine("kms2.srvctl.test."), srvLine("kms3.srvctl.test."), srvLine("kms9.corp.example.com.")}},
				{name: "KMS1$: deleting the whole SRV RRset is refused", who: "KMS1",
					msg: removeRRset("gss.test.", srv(owner, kms(1))), rcode: dns.RcodeRefused,
					query: owner, qtype: dns.TypeSRV, want: []string{srvLine("kms2.srvctl.test."), srvLine("kms3.srvctl.test."), srvLine("kms9.corp.example.com.")}},
				{name: "srvctl's principal deletes the whole SRV RRset", who: "srvctl",
					msg: removeRRset("gss.test.", srv(owner, kms(1))), rcode: dns.RcodeSuccess,
					query: owner, qtype: dns.TypeSRV},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ans, err := session(t, tt.who).Exchange(ctx, tt.msg)
					if err != nil {
						t.Fatal(err)
					}
					if ans.Msg.Rcode != tt.rcode {
						t.Errorf("answer %s, want %s\nnamed.log:\n%s", dns.RcodeToString[ans.Msg.Rcode], dns.RcodeToString[tt.rcode], s.LogTail(10))
					}
					if ans.Verification != gsstsig.Verified {
						t.Errorf("answer %s: %v (%v), want it verified: named signs its answers", dns.RcodeToString[ans.Msg.Rcode], ans.Verification, ans.Err)
					}
					if diff := cmp.Diff(tt.want, answers(t, s, tt.query, tt.qtype)); diff != "" {
						t.Errorf("%s %s afterwards (-want +got):\n%s", tt.query, dns.TypeToString[tt.qtype], diff)
					}
				})
			}
		})
	}
}
