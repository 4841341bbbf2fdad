package gsstsig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/miekg/dns"
)

const password = "Sup3r-secret-passw0rd"

func TestSecretNeverPrinted(t *testing.T) {
	c := Credentials{Realm: "CORP.EXAMPLE", Principal: "srvctl", Password: password}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s"} {
		out = append(out, fmt.Sprintf(verb, c), fmt.Sprintf(verb, c.Password))
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j), c.Password.String(), c.Password.GoString())
	for _, s := range out {
		if strings.Contains(s, password) || strings.Contains(s, hex.EncodeToString([]byte(password))) ||
			strings.Contains(strings.ToLower(s), strings.ToLower(hex.EncodeToString([]byte(password)))) {
			t.Errorf("the password shows: %s", s)
		}
	}
	if !strings.Contains(string(j), redacted) {
		t.Errorf("JSON %s: want %s in place of the password", j, redacted)
	}
}

// writeFile writes content to a new file in dir and returns its path.
func writeFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// closedPort returns a loopback address nothing listens on (TCP and UDP).
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func krb5Conf(t *testing.T, kdc string) string {
	return writeFile(t, "krb5.conf", []byte(fmt.Sprintf(`[libdefaults]
	default_realm = CORP.EXAMPLE
	dns_lookup_kdc = false
	dns_lookup_realm = false
[realms]
	CORP.EXAMPLE = {
		kdc = %s
	}
`, kdc)))
}

// Login failures that need no KDC: each names what it concerns, none shows
// the password. A KDC nothing listens for is unreachable.
func TestLoginErrors(t *testing.T) {
	conf := krb5Conf(t, closedPort(t))
	kt := keytab.New()
	if err := kt.AddEntry("other", "CORP.EXAMPLE", password, time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	ktBytes, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	otherKeytab := writeFile(t, "other.keytab", ktBytes)
	garbage := writeFile(t, "garbage", []byte("not a keytab at all"))
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name  string
		creds Credentials
		is    error    // errors.Is, when set
		want  []string // substrings of the message
	}{
		{"nothing", Credentials{Principal: "srvctl", Krb5Conf: conf},
			nil, []string{"srvctl", "exactly one of keytab, ccache and password (0 set)"}},
		{"two", Credentials{Principal: "srvctl", Keytab: otherKeytab, Password: password, Krb5Conf: conf},
			nil, []string{"exactly one", "(2 set)"}},
		{"no principal", Credentials{Password: password, Krb5Conf: conf},
			nil, []string{"no principal"}},
		{"realm mismatch", Credentials{Principal: "srvctl@OTHER.EXAMPLE", Realm: "CORP.EXAMPLE", Password: password, Krb5Conf: conf},
			nil, []string{"principal srvctl@OTHER.EXAMPLE is not in realm CORP.EXAMPLE"}},
		{"no krb5.conf", Credentials{Principal: "srvctl", Password: password, Krb5Conf: missing},
			os.ErrNotExist, []string{"kerberos: reading krb5.conf: open " + missing}},
		{"keytab missing", Credentials{Principal: "srvctl", Keytab: missing, Krb5Conf: conf},
			os.ErrNotExist, []string{"srvctl@CORP.EXAMPLE", "reading keytab " + missing, "no such file"}},
		{"keytab garbage", Credentials{Principal: "srvctl", Keytab: garbage, Krb5Conf: conf},
			nil, []string{"srvctl@CORP.EXAMPLE", "reading keytab " + garbage, "not a keytab"}},
		{"keytab without the key", Credentials{Principal: "srvctl", Keytab: otherKeytab, Krb5Conf: conf},
			nil, []string{"srvctl@CORP.EXAMPLE", "keytab " + otherKeytab + " holds no key for it"}},
		{"ccache missing", Credentials{CCache: "FILE:" + missing, Krb5Conf: conf},
			os.ErrNotExist, []string{"reading ccache " + missing}},
		{"ccache not a file", Credentials{CCache: "KEYRING:persistent:0", Krb5Conf: conf},
			nil, []string{"only FILE: credential caches"}},
		{"KDC unreachable, password", Credentials{Principal: "srvctl", Password: password, Krb5Conf: conf},
			ErrKDCUnreachable, []string{"kerberos login as srvctl@CORP.EXAMPLE with password failed", "cannot reach a KDC of realm CORP.EXAMPLE (127.0.0.1:"}},
		{"KDC unreachable, keytab", Credentials{Principal: "other", Keytab: otherKeytab, Krb5Conf: conf},
			ErrKDCUnreachable, []string{"kerberos login as other@CORP.EXAMPLE with keytab " + otherKeytab + " failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := tc.creds.Login(context.Background())
			if err == nil {
				cl.Destroy()
				t.Fatal("no error")
			}
			t.Log(err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v: want errors.Is %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: want %q in the message", err, w)
				}
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("%v shows the password", err)
			}
		})
	}
}

// kerberosCause on the texts gokrb5 v8.4.4 produces.
func TestKerberosCause(t *testing.T) {
	for _, tc := range []struct {
		text   string
		kind   error
		detail string
	}{
		{"[Root cause: KDC_Error] KDC_Error: AS Exchange Error: kerberos error response from KDC: KRB Error: (24) KDC_ERR_PREAUTH_FAILED Pre-authentication information was invalid - PREAUTH_FAILED",
			ErrWrongPassword, "(24) KDC_ERR_PREAUTH_FAILED Pre-authentication information was invalid - PREAUTH_FAILED"},
		{"[Root cause: KRBMessage_Handling_Error] KRBMessage_Handling_Error: AS Exchange Error: AS_REP is not valid or client password/keytab incorrect",
			ErrWrongPassword, "[Root cause: KRBMessage_Handling_Error] KRBMessage_Handling_Error: AS Exchange Error: AS_REP is not valid or client password/keytab incorrect"},
		{"KRB Error: (6) KDC_ERR_C_PRINCIPAL_UNKNOWN Client not found in Kerberos database", ErrUnknownPrincipal, "(6) KDC_ERR_C_PRINCIPAL_UNKNOWN Client not found in Kerberos database"},
		{"KRB Error: (18) KDC_ERR_CLIENT_REVOKED Clients credentials have been revoked", ErrAccountDisabled, "(18) KDC_ERR_CLIENT_REVOKED Clients credentials have been revoked"},
		{"KRB Error: (23) KDC_ERR_KEY_EXPIRED Password has expired", ErrPasswordExpired, "(23) KDC_ERR_KEY_EXPIRED Password has expired"},
		{"KRB Error: (37) KRB_AP_ERR_SKEW Clock skew too great", ErrClockSkew, "(37) KRB_AP_ERR_SKEW Clock skew too great"},
		{"[Root cause: Networking_Error] Networking_Error: AS Exchange Error: failed sending AS_REQ to KDC: failed to communicate with KDC", ErrKDCUnreachable,
			"[Root cause: Networking_Error] Networking_Error: AS Exchange Error: failed sending AS_REQ to KDC: failed to communicate with KDC"},
		{"something else", nil, "something else"},
	} {
		detail, kind := kerberosCause(errors.New(tc.text))
		if kind != tc.kind || detail != tc.detail {
			t.Errorf("kerberosCause(%q) = %v, %q; want %v, %q", tc.text, kind, detail, tc.kind, tc.detail)
		}
	}
}

func TestKeyName(t *testing.T) {
	seen := make(map[string]bool)
	re := regexp.MustCompile(`^srvctl-[0-9a-f]{16}\.corp\.example\.com\.$`)
	for range 100 {
		n, err := newKeyName("CORP.EXAMPLE.COM")
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(n) {
			t.Errorf("key name %q does not match %s", n, re)
		}
		if seen[n] {
			t.Errorf("key name %q twice", n)
		}
		seen[n] = true
	}
	for _, realm := range []string{"", "BAD REALM", strings.Repeat("a", 300)} {
		n, err := newKeyName(realm)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^srvctl-[0-9a-f]{16}\.$`).MatchString(n) {
			t.Errorf("newKeyName(%.20q) = %q, want srvctl-<hex>.", realm, n)
		}
	}
}

func TestTKEYQuery(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	type summary struct {
		Question            dns.Question
		RD                  bool
		Extra               int
		Name, Algorithm     string
		Class               uint16
		Mode                uint16
		Inception, Expiry   uint32
		KeySize             uint16
		Key                 string
		Answer, Ns, ArCount int
	}
	sum := func(wire []byte) summary {
		m := new(dns.Msg)
		if err := m.Unpack(wire); err != nil {
			t.Fatal(err)
		}
		k := m.Extra[0].(*dns.TKEY)
		return summary{m.Question[0], m.RecursionDesired, len(m.Extra), k.Hdr.Name, k.Algorithm, k.Hdr.Class, k.Mode,
			k.Inception, k.Expiration, k.KeySize, k.Key, len(m.Answer), len(m.Ns), len(m.Extra)}
	}
	for _, tc := range []struct {
		name  string
		mode  uint16
		token []byte
		want  summary
	}{
		{"negotiate", modeGSSAPI, []byte{0x60, 0x01, 0x02}, summary{
			Question: dns.Question{Name: "k.corp.example.", Qtype: dns.TypeTKEY, Qclass: dns.ClassANY}, Extra: 1,
			Name: "k.corp.example.", Algorithm: "gss-tsig.", Class: dns.ClassANY, Mode: 3,
			Inception: 1_800_000_000, Expiry: 1_800_003_600, KeySize: 3, Key: "600102", ArCount: 1}},
		{"delete", modeDelete, nil, summary{
			Question: dns.Question{Name: "k.corp.example.", Qtype: dns.TypeTKEY, Qclass: dns.ClassANY}, Extra: 1,
			Name: "k.corp.example.", Algorithm: "gss-tsig.", Class: dns.ClassANY, Mode: 5,
			Inception: 1_800_000_000, Expiry: 1_800_000_000, ArCount: 1}},
	} {
		q := tkeyQuery("k.corp.example.", tc.mode, tc.token, now, time.Hour)
		wire, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, sum(wire)); diff != "" {
			t.Errorf("%s: -want +got:\n%s", tc.name, diff)
		}
	}
}

func TestTKEYAnswer(t *testing.T) {
	tkey := func(name, alg string, tkeyErr uint16) *dns.TKEY {
		return &dns.TKEY{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTKEY, Class: dns.ClassANY}, Algorithm: alg, Mode: 3, Error: tkeyErr, KeySize: 1, Key: "aa"}
	}
	msg := func(rcode int, rrs ...dns.RR) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("k.corp.example.", dns.TypeTKEY)
		m.Response, m.Rcode, m.Answer = true, rcode, rrs
		return m
	}
	for _, tc := range []struct {
		name string
		m    *dns.Msg
		want string // error; "" for none
		tkey *TKEYError
	}{
		{"ok", msg(dns.RcodeSuccess, tkey("K.corp.example.", "GSS-TSIG", 0)), "", nil},
		{"refused", msg(dns.RcodeRefused), "the server refused the TKEY exchange: REFUSED", &TKEYError{Rcode: dns.RcodeRefused}},
		{"notauth badkey", msg(dns.RcodeNotAuth, tkey("k.corp.example.", "gss-tsig.", dns.RcodeBadKey)),
			"the server refused the TKEY exchange: NOTAUTH, TKEY error BADKEY", &TKEYError{Rcode: dns.RcodeNotAuth, TKEY: dns.RcodeBadKey}},
		{"tkey error", msg(dns.RcodeSuccess, tkey("k.corp.example.", "gss-tsig.", dns.RcodeBadName)),
			"the server refused the TKEY exchange: NOERROR, TKEY error BADNAME", &TKEYError{TKEY: dns.RcodeBadName}},
		{"no tkey", msg(dns.RcodeSuccess), "the answer holds no TKEY record for k.corp.example.", nil},
		{"other name", msg(dns.RcodeSuccess, tkey("x.corp.example.", "gss-tsig.", 0)), "the answer holds no TKEY record for k.corp.example.", nil},
		{"two", msg(dns.RcodeSuccess, tkey("k.corp.example.", "gss-tsig.", 0), tkey("k.corp.example.", "gss-tsig.", 0)), "the answer holds two TKEY records for the key", nil},
		{"algorithm", msg(dns.RcodeSuccess, tkey("k.corp.example.", "hmac-sha256.", 0)), "the TKEY answer is for algorithm hmac-sha256., not gss-tsig.", nil},
	} {
		_, err := tkeyAnswer(tc.m, "k.corp.example.")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: error %q, want %q", tc.name, got, tc.want)
		}
		var te *TKEYError
		if errors.As(err, &te) != (tc.tkey != nil) || (te != nil && *te != *tc.tkey) {
			t.Errorf("%s: TKEYError %+v, want %+v", tc.name, te, tc.tkey)
		}
	}
}

func TestServerName(t *testing.T) {
	for _, tc := range []struct {
		server, host       string
		addr, spnHost, err string
	}{
		{"dc1.corp.example:53", "", "dc1.corp.example:53", "dc1.corp.example", ""},
		{"DC1.Corp.Example.", "", "DC1.Corp.Example.:53", "dc1.corp.example", ""},
		{"10.0.0.1:5353", "dc1.corp.example.", "10.0.0.1:5353", "dc1.corp.example", ""},
		{"[2001:db8::1]:53", "ns.corp.example", "[2001:db8::1]:53", "ns.corp.example", ""},
		{"2001:db8::1", "ns.corp.example", "[2001:db8::1]:53", "ns.corp.example", ""},
		{"10.0.0.1", "", "", "", "server 10.0.0.1 is an address: set the DNS server's host name (its Kerberos service principal is DNS/<host name>)"},
		{"dc1:53", "dc1/evil@X", "", "", `server dc1:53: "dc1/evil@X" is not a host name`},
		{":53", "x", "", "", `server ":53": no host`},
	} {
		addr, host, err := serverName(tc.server, tc.host)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if addr != tc.addr || host != tc.spnHost || got != tc.err {
			t.Errorf("serverName(%q, %q) = %q, %q, %q; want %q, %q, %q", tc.server, tc.host, addr, host, got, tc.addr, tc.spnHost, tc.err)
		}
	}
}

func TestUpdateDenied(t *testing.T) {
	answer := func(opcode, rcode int, tsigErr uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetUpdate("corp.example.")
		m.Opcode, m.Response, m.Rcode = opcode, true, rcode
		if tsigErr != 0 {
			m.SetTsig("k.corp.example.", Algorithm, 300, 0)
			m.Extra[0].(*dns.TSIG).Error = tsigErr
		}
		return m
	}
	const owner = "_vlmcs._tcp.Corp.Example"
	for _, tc := range []struct {
		name string
		m    *dns.Msg
		want string
	}{
		{"samba", answer(dns.OpcodeUpdate, dns.RcodeServerFailure, 0),
			"the account KMS2$@CORP.EXAMPLE may not update _vlmcs._tcp.corp.example: see `srvctl audit ad` (192.0.2.53:53 answered SERVFAIL, Samba's answer to an update the account may not make)"},
		{"windows", answer(dns.OpcodeUpdate, dns.RcodeRefused, 0),
			"the account KMS2$@CORP.EXAMPLE may not update _vlmcs._tcp.corp.example: see `srvctl audit ad` (192.0.2.53:53 answered REFUSED)"},
		{"ok", answer(dns.OpcodeUpdate, dns.RcodeSuccess, 0), ""},
		{"prerequisite", answer(dns.OpcodeUpdate, dns.RcodeYXRrset, 0), ""},
		{"bad key", answer(dns.OpcodeUpdate, dns.RcodeNotAuth, dns.RcodeBadKey), ""},
		{"refused with a TSIG error", answer(dns.OpcodeUpdate, dns.RcodeRefused, dns.RcodeBadSig), ""},
		{"a query", answer(dns.OpcodeQuery, dns.RcodeRefused, 0), ""},
	} {
		err := UpdateDenied(tc.m, "KMS2$@CORP.EXAMPLE", "192.0.2.53:53", owner)
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.Is(err, ErrAccessDenied) {
				t.Errorf("%s: %v does not wrap ErrAccessDenied", tc.name, err)
			}
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// aesKey returns a random aes256-cts-hmac-sha1-96 key.
func aesKey(t *testing.T) types.EncryptionKey {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: k}
}

// acceptor signs answers as a GSS-TSIG server does, with miekg/dns's digest
// (RFC 8945) or, samba set, without the request MAC's length.
type acceptor struct {
	key   types.EncryptionKey
	seq   uint64
	samba bool
}

func (a *acceptor) Generate(msg []byte, _ *dns.TSIG) ([]byte, error) {
	if a.samba {
		msg = msg[2:]
	}
	tok := gssapi.MICToken{Flags: gssapi.MICTokenFlagSentByAcceptor | gssapi.MICTokenFlagAcceptorSubkey, SndSeqNum: a.seq, Payload: msg}
	a.seq++
	if err := tok.SetChecksum(a.key, keyusage.GSSAPI_ACCEPTOR_SIGN); err != nil {
		return nil, err
	}
	return tok.Marshal()
}

func (a *acceptor) Verify([]byte, *dns.TSIG) error { return dns.ErrSig }

func testContext(key types.EncryptionKey) *SecContext {
	return &SecContext{name: "srvctl-0123456789abcdef.corp.example.", server: "192.0.2.53:53", key: key, acceptorSubkey: true, sendSeq: 77, seen: make(map[uint64]struct{})}
}

// request returns a signed query and its MAC.
func request(t *testing.T, c *SecContext) (*dns.Msg, []byte, string) {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion("_vlmcs._tcp.corp.example.", dns.TypeSRV)
	wire, mac, err := c.Sign(q)
	if err != nil {
		t.Fatal(err)
	}
	return q, wire, mac
}

// answer signs an answer to q with a, for the request MAC mac.
func answer(t *testing.T, c *SecContext, a dns.TsigProvider, q *dns.Msg, mac string, edit func(*dns.Msg)) []byte {
	t.Helper()
	r := new(dns.Msg)
	r.SetReply(q)
	r.Extra = nil
	r.Answer = []dns.RR{&dns.SRV{Hdr: dns.RR_Header{Name: "_vlmcs._tcp.corp.example.", Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 3600},
		Port: 1688, Weight: 100, Target: "kms1.corp.example."}}
	r.SetTsig(c.name, Algorithm, 300, time.Now().Unix())
	if edit != nil {
		edit(r)
	}
	wire, _, err := dns.TsigGenerateWithProvider(r, a, mac, false)
	if err != nil {
		t.Fatal(err)
	}
	return wire
}

// VerifyAnswer against answers signed as RFC 8945 says, as Samba does, as
// the final TKEY answer is, and answers that must not verify.
func TestVerifyAnswer(t *testing.T) {
	key := aesKey(t)
	for _, tc := range []struct {
		name  string
		make  func(t *testing.T, c *SecContext) ([]byte, string)
		want  Verification
		err   error  // errors.Is
		errAs string // type name for errors.As
	}{
		{"rfc 8945", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			return answer(t, c, &acceptor{key: key}, q, mac, nil), mac
		}, Verified, nil, ""},
		{"samba", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			return answer(t, c, &acceptor{key: key, samba: true}, q, mac, nil), mac
		}, VerifiedSamba, nil, ""},
		{"final TKEY answer", func(t *testing.T, c *SecContext) ([]byte, string) {
			q := new(dns.Msg)
			q.SetQuestion(c.name, dns.TypeTKEY)
			return answer(t, c, &acceptor{key: key}, q, "", nil), ""
		}, Verified, nil, ""},
		{"signed NOTAUTH", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			return answer(t, c, &acceptor{key: key, samba: true}, q, mac, func(r *dns.Msg) { r.Rcode = dns.RcodeNotAuth }), mac
		}, VerifiedSamba, nil, ""},
		{"echoed request", func(t *testing.T, c *SecContext) ([]byte, string) {
			_, wire, mac := request(t, c)
			wire[2] |= 0x80 // QR
			wire[3] |= dns.RcodeServerFailure
			return wire, mac
		}, NotVerified, ErrEchoedMAC, ""},
		{"unsigned", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			r := new(dns.Msg)
			r.SetReply(q)
			r.Extra = nil
			w, _ := r.Pack()
			return w, mac
		}, NotVerified, ErrUnsigned, ""},
		{"tampered", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			w := answer(t, c, &acceptor{key: key}, q, mac, nil)
			w[len(w)-120] ^= 1
			return w, mac
		}, NotVerified, dns.ErrSig, ""},
		{"other key", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			return answer(t, c, &acceptor{key: aesKey(t)}, q, mac, nil), mac
		}, NotVerified, dns.ErrSig, ""},
		{"other request", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, _ := request(t, c)
			_, _, mac2 := request(t, c)
			_, _, mac := request(t, c)
			return answer(t, c, &acceptor{key: key}, q, mac2, nil), mac
		}, NotVerified, dns.ErrSig, ""},
		{"initiator token", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			return answer(t, c, c, q, mac, nil), mac
		}, NotVerified, dns.ErrSig, ""},
		{"old", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			return answer(t, c, &acceptor{key: key}, q, mac, func(r *dns.Msg) { r.Extra[0].(*dns.TSIG).TimeSigned -= 3600 }), mac
		}, NotVerified, dns.ErrTime, ""},
		{"TSIG error", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			return answer(t, c, &acceptor{key: key}, q, mac, func(r *dns.Msg) {
				r.Rcode = dns.RcodeNotAuth
				r.Extra[0].(*dns.TSIG).Error = dns.RcodeBadKey
			}), mac
		}, NotVerified, nil, "TSIGError"},
		{"other algorithm", func(t *testing.T, c *SecContext) ([]byte, string) {
			q, _, mac := request(t, c)
			return answer(t, c, &acceptor{key: key}, q, mac, func(r *dns.Msg) { r.Extra[0].(*dns.TSIG).Algorithm = dns.HmacSHA256 }), mac
		}, NotVerified, dns.ErrKeyAlg, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testContext(key)
			raw, mac := tc.make(t, c)
			got, err := c.VerifyAnswer(raw, mac)
			if got != tc.want {
				t.Errorf("verification %v, want %v (error %v)", got, tc.want, err)
			}
			switch {
			case tc.err == nil && tc.errAs == "":
				if err != nil {
					t.Errorf("error %v", err)
				}
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Errorf("error %v, want %v", err, tc.err)
				}
			default:
				var te *TSIGError
				if !errors.As(err, &te) || te.TSIG != dns.RcodeBadKey || te.Rcode != dns.RcodeNotAuth {
					t.Errorf("error %v, want a BADKEY TSIGError", err)
				}
			}
		})
	}
}

// The same signed answer twice: the second is a replay.
func TestVerifyAnswerReplay(t *testing.T) {
	key := aesKey(t)
	c := testContext(key)
	q, _, mac := request(t, c)
	raw := answer(t, c, &acceptor{key: key, seq: 5}, q, mac, nil)
	if v, err := c.VerifyAnswer(raw, mac); v != Verified || err != nil {
		t.Fatalf("first: %v, %v", v, err)
	}
	if v, err := c.VerifyAnswer(raw, mac); v != NotVerified || !errors.Is(err, ErrReplay) {
		t.Errorf("second: %v, %v; want a replay", v, err)
	}
}

// Generate makes initiator MIC tokens the acceptor verifies, with
// consecutive sequence numbers; a deleted context signs nothing.
func TestGenerate(t *testing.T) {
	key := aesKey(t)
	c := testContext(key)
	var seqs []uint64
	for range 3 {
		q, wire, mac := request(t, c)
		stripped, tsig, err := stripTSIG(wire)
		if err != nil {
			t.Fatal(err)
		}
		if tsig.Hdr.Name != c.name || tsig.Algorithm != Algorithm || tsig.Fudge != 300 || tsig.OrigId != q.Id {
			t.Errorf("TSIG record %v", tsig)
		}
		vars, err := tsigVariables(tsig)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := hex.DecodeString(mac)
		var tok gssapi.MICToken
		if err := tok.Unmarshal(b, false); err != nil {
			t.Fatal(err)
		}
		if tok.Flags != gssapi.MICTokenFlagAcceptorSubkey {
			t.Errorf("token flags %#x, want acceptor subkey only", tok.Flags)
		}
		tok.Payload = digest(nil, true, stripped, vars)
		if ok, err := tok.Verify(key, keyusage.GSSAPI_INITIATOR_SIGN); !ok {
			t.Errorf("the request's MIC does not verify: %v", err)
		}
		seqs = append(seqs, tok.SndSeqNum)
	}
	if diff := cmp.Diff([]uint64{77, 78, 79}, seqs); diff != "" {
		t.Errorf("sequence numbers, -want +got:\n%s", diff)
	}
	c.mu.Lock()
	c.deleted = true
	c.mu.Unlock()
	if _, _, err := c.Sign(new(dns.Msg).SetQuestion("x.corp.example.", dns.TypeA)); !errors.Is(err, ErrContextDeleted) {
		t.Errorf("signing with a deleted context: %v, want ErrContextDeleted", err)
	}
}

func TestTSIGErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		e    TSIGError
		want string
	}{
		{TSIGError{"k.corp.example.", dns.RcodeNotAuth, dns.RcodeBadKey}, "GSS-TSIG key k.corp.example.: the server does not know the security context (BADKEY): it expired, was deleted, or the server restarted (NOTAUTH)"},
		{TSIGError{"k.corp.example.", dns.RcodeNotAuth, dns.RcodeBadSig}, "GSS-TSIG key k.corp.example.: the server could not verify the signature (BADSIG) (NOTAUTH)"},
		{TSIGError{"k.corp.example.", dns.RcodeNotAuth, dns.RcodeBadTime}, "GSS-TSIG key k.corp.example.: the server rejected the signature time (BADTIME); check the clocks (NTP) (NOTAUTH)"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
