package gsstsig

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/sambatest"
)

const vlmcs = "_vlmcs._tcp.srvctl.test."

// startDC starts a Samba AD DC for the test.
func startDC(t *testing.T) *sambatest.DC {
	t.Helper()
	sambatest.RequireSamba(t)
	return sambatest.Start(t, sambatest.Options{})
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// keytabCreds, passwordCreds: a computer account's credentials.
func keytabCreds(dc *sambatest.DC, c sambatest.Computer) Credentials {
	return Credentials{Realm: dc.Realm, Principal: c.SAM, Keytab: c.Keytab, Krb5Conf: dc.Krb5Conf}
}

func passwordCreds(dc *sambatest.DC, c sambatest.Computer) Credentials {
	return Credentials{Realm: dc.Realm, Principal: c.SAM, Password: Secret(c.Password), Krb5Conf: dc.Krb5Conf}
}

// negotiator returns a Negotiator closed when the test ends.
func negotiator(t *testing.T, creds Credentials) *Negotiator {
	n := New(Options{Credentials: creds, Timeout: 10 * time.Second})
	t.Cleanup(func() { n.Close(context.Background()) })
	return n
}

func secContext(t *testing.T, n *Negotiator, dc *sambatest.DC) *SecContext {
	t.Helper()
	sc, err := n.Context(testCtx(t), dc.DNSAddr, dc.HostName)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func srvRR(prio, weight, port int, target string) *dns.SRV {
	return &dns.SRV{Hdr: dns.RR_Header{Name: vlmcs, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 3600},
		Priority: uint16(prio), Weight: uint16(weight), Port: uint16(port), Target: target}
}

// addMsg is an UPDATE adding rrs to the zone.
func addMsg(zone string, rrs ...dns.RR) *dns.Msg {
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.Insert(rrs)
	return m
}

// exchangeOK sends m signed with sc and requires an answer with rcode
// whose signature verified as want says.
func exchangeOK(t *testing.T, sc *SecContext, m *dns.Msg, rcode int, want Verification) *dns.Msg {
	t.Helper()
	a, err := sc.Exchange(testCtx(t), m)
	if err != nil {
		t.Fatal(err)
	}
	if a.Msg.Rcode != rcode {
		t.Errorf("answer %s, want %s", rcodeName(a.Msg.Rcode), rcodeName(rcode))
	}
	if a.Verification != want {
		t.Errorf("answer %s: %v (%v), want %v", rcodeName(a.Msg.Rcode), a.Verification, a.Err, want)
	}
	return a.Msg
}

// served is the SRV RRset at _vlmcs._tcp as the DC answers an unsigned
// query, as zone-file lines, sorted.
func served(t *testing.T, dc *sambatest.DC) []string {
	t.Helper()
	r, err := dc.Query(vlmcs, dns.TypeSRV)
	if err != nil {
		t.Fatal(err)
	}
	return srvLines(r)
}

func srvLines(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, s.String())
		}
	}
	slices.Sort(out)
	return out
}

func lines(rrs ...*dns.SRV) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	slices.Sort(out)
	return out
}

// KMS1 with its keytab: one negotiation, two signed updates and a signed
// query on the same context, then Close.
func TestSambaPublish(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	ctx := testCtx(t)
	kms1 := dc.Computer(t, "KMS1")
	n := negotiator(t, keytabCreds(dc, kms1))
	sc := secContext(t, n, dc)
	if sc.Negotiation() != Verified {
		t.Errorf("final TKEY answer: %v, want verified (Samba signs it)", sc.Negotiation())
	}
	if got := n.Principal(); got != "KMS1$@SRVCTL.TEST" {
		t.Errorf("Principal() = %q", got)
	}

	first := srvRR(0, 100, 1688, "kms1.srvctl.test.")
	exchangeOK(t, sc, addMsg(dc.Zone, first), dns.RcodeSuccess, VerifiedSamba)
	if diff := cmp.Diff(lines(first), served(t, dc)); diff != "" {
		t.Fatalf("SRV after the first update, -want +got:\n%s", diff)
	}

	// The same context for the next messages.
	sc2, err := n.Context(ctx, dc.DNSAddr, dc.HostName)
	if err != nil {
		t.Fatal(err)
	}
	if sc2 != sc {
		t.Errorf("second Context: %s, want the first one, %s", sc2, sc)
	}
	second := srvRR(10, 50, 1689, "kms1.srvctl.test.")
	exchangeOK(t, sc2, addMsg(dc.Zone, second), dns.RcodeSuccess, VerifiedSamba)
	q := new(dns.Msg)
	q.SetQuestion(vlmcs, dns.TypeSRV)
	q.RecursionDesired = false
	r := exchangeOK(t, sc2, q, dns.RcodeSuccess, VerifiedSamba)
	if diff := cmp.Diff(lines(first, second), srvLines(r)); diff != "" {
		t.Errorf("signed query, -want +got:\n%s", diff)
	}
	// Why nsupdate (and any client that verifies the way miekg/dns's
	// TsigVerifyWithProvider does, RFC 8945's digest) fails against
	// Samba: the same answer verifies only with Samba's digest.
	q.Id = dns.Id()
	wire, mac, err := sc.Sign(q)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := exchange(ctx, &net.Dialer{}, 10*time.Second, sc.Server(), q.Id, wire)
	if err != nil {
		t.Fatal(err)
	}
	if err := dns.TsigVerifyWithProvider(slices.Clone(raw), sc, mac, false); !errors.Is(err, dns.ErrSig) {
		t.Errorf("RFC 8945 verification of Samba's answer: %v, want dns.ErrSig", err)
	}
	if v, err := sc.VerifyAnswer(raw, mac); v != VerifiedSamba || err != nil {
		t.Errorf("VerifyAnswer: %v, %v; want verified with Samba's digest", v, err)
	}
	// A negative answer is signed too.
	q = new(dns.Msg)
	q.SetQuestion("nothing-here.srvctl.test.", dns.TypeSRV)
	exchangeOK(t, sc, q, dns.RcodeNameError, VerifiedSamba)
	// An update Samba does not carry out comes back unsigned: the
	// request, with its own signature, and the rcode set.
	m := addMsg(dc.Zone, srvRR(0, 0, 1688, "kms9.srvctl.test."))
	m.RRsetNotUsed([]dns.RR{first})
	a, err := sc.Exchange(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if a.Msg.Rcode != dns.RcodeYXRrset || a.Verification != NotVerified || !errors.Is(a.Err, ErrEchoedMAC) {
		t.Errorf("failed prerequisite: %s, %v, %v; want YXRRSET, not verified, ErrEchoedMAC", rcodeName(a.Msg.Rcode), a.Verification, a.Err)
	}
	if n := n.Negotiations(); n != 1 {
		t.Errorf("%d negotiations, want 1", n)
	}

	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := sc.Sign(q); !errors.Is(err, ErrContextDeleted) {
		t.Errorf("signing after Close: %v, want ErrContextDeleted", err)
	}
	if _, err := n.Context(ctx, dc.DNSAddr, dc.HostName); !errors.Is(err, ErrClosed) {
		t.Errorf("Context after Close: %v, want ErrClosed", err)
	}
	if err := n.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Samba 4.17 answers the deletion NOERROR and keeps the context: a
	// message signed with it still passes. (If this fails, Samba has
	// learnt to delete contexts: update the package documentation.)
	sc.mu.Lock()
	sc.deleted = false
	sc.mu.Unlock()
	exchangeOK(t, sc, q, dns.RcodeNameError, VerifiedSamba)
}

// Concurrent callers for one server share one negotiation.
func TestSambaOneNegotiationPerServer(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	ctx := testCtx(t)
	n := negotiator(t, passwordCreds(dc, dc.Computer(t, "KMS2")))
	const callers = 8
	got := make([]*SecContext, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = n.Context(ctx, dc.DNSAddr, dc.HostName) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i] != got[0] {
			t.Errorf("caller %d got context %s, caller 0 %s", i, got[i], got[0])
		}
	}
	// A context about to expire is replaced by a new one; Close deletes
	// both.
	got[0].mu.Lock()
	got[0].expires = time.Now().Add(expiryMargin / 2)
	got[0].mu.Unlock()
	renewed, err := n.Context(ctx, dc.DNSAddr, dc.HostName)
	if err != nil {
		t.Fatal(err)
	}
	if renewed == got[0] || n.Negotiations() != 2 {
		t.Errorf("after expiry: context %s (old %s), %d negotiations; want a new one, 2", renewed, got[0], n.Negotiations())
	}
	q := new(dns.Msg)
	q.SetQuestion(dc.Zone, dns.TypeSOA)
	exchangeOK(t, renewed, q, dns.RcodeSuccess, VerifiedSamba)
	// Another name for the same server is another server to Kerberos.
	if _, err := n.Context(ctx, dc.DNSAddr, "nosuch.srvctl.test"); err == nil ||
		!strings.Contains(err.Error(), "the KDC knows no service principal DNS/nosuch.srvctl.test") {
		t.Errorf("unknown service principal: %v", err)
	}
	if n := n.Negotiations(); n != 3 {
		t.Errorf("%d negotiations, want 3", n)
	}
	// A failed negotiation is remembered for the run.
	_, err1 := n.Context(ctx, dc.DNSAddr, "nosuch.srvctl.test")
	if n := n.Negotiations(); n != 3 || err1 == nil {
		t.Errorf("%d negotiations (error %v), want 3 and the same error", n, err1)
	}
	// No DNS server there.
	if _, err := n.Context(ctx, closedPort(t), dc.HostName); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("no server: %v", err)
	}
	if err := n.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, sc := range []*SecContext{got[0], renewed} {
		if _, _, err := sc.Sign(q); !errors.Is(err, ErrContextDeleted) {
			t.Errorf("%s after Close: %v, want ErrContextDeleted", sc, err)
		}
	}
}

// KMS1 owns _vlmcs._tcp; KMS2 is refused (SERVFAIL, unsigned) until the
// group may write; KMS3, outside the group, stays refused.
func TestSambaAccessDenied(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	kms1, kms2, kms3 := dc.Computer(t, "KMS1"), dc.Computer(t, "KMS2"), dc.Computer(t, "KMS3")
	rec1, rec2, rec3 := srvRR(0, 100, 1688, "kms1.srvctl.test."), srvRR(0, 100, 1688, "kms2.srvctl.test."), srvRR(0, 100, 1688, "kms3.srvctl.test.")
	exchangeOK(t, secContext(t, negotiator(t, keytabCreds(dc, kms1)), dc), addMsg(dc.Zone, rec1), dns.RcodeSuccess, VerifiedSamba)

	denied := func(n *Negotiator, sc *SecContext, rr *dns.SRV, who string) {
		t.Helper()
		a, err := sc.Exchange(testCtx(t), addMsg(dc.Zone, rr))
		if err != nil {
			t.Fatal(err)
		}
		if a.Verification != NotVerified || !errors.Is(a.Err, ErrEchoedMAC) {
			t.Errorf("%s's refused update: %v, %v; want not verified, ErrEchoedMAC", who, a.Verification, a.Err)
		}
		err = UpdateDenied(a.Msg, n.Principal(), sc.Server(), vlmcs)
		want := "the account " + who + "@SRVCTL.TEST may not update _vlmcs._tcp.srvctl.test: see `srvctl audit ad` (" +
			dc.DNSAddr + " answered SERVFAIL, Samba's answer to an update the account may not make)"
		if err == nil || err.Error() != want || !errors.Is(err, ErrAccessDenied) {
			t.Errorf("UpdateDenied:\n got %v\nwant %s", err, want)
		}
	}
	n2 := negotiator(t, passwordCreds(dc, kms2))
	sc2 := secContext(t, n2, dc)
	denied(n2, sc2, rec2, "KMS2$")
	if diff := cmp.Diff(lines(rec1), served(t, dc)); diff != "" {
		t.Fatalf("SRV after KMS2's refused update, -want +got:\n%s", diff)
	}

	dc.AddACE(t, dc.NodeDN(vlmcs), "(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;"+dc.GroupSID+")")
	a := exchangeOK(t, sc2, addMsg(dc.Zone, rec2), dns.RcodeSuccess, VerifiedSamba)
	if err := UpdateDenied(a, n2.Principal(), sc2.Server(), vlmcs); err != nil {
		t.Errorf("UpdateDenied on success: %v", err)
	}
	if diff := cmp.Diff(lines(rec1, rec2), served(t, dc)); diff != "" {
		t.Errorf("SRV after the grant and KMS2's update, -want +got:\n%s", diff)
	}
	if n := n2.Negotiations(); n != 1 {
		t.Errorf("KMS2: %d negotiations, want 1", n)
	}

	cc3 := dc.KinitKeytab(t, kms3.SAM, kms3.Keytab)
	n3 := negotiator(t, Credentials{CCache: cc3, Krb5Conf: dc.Krb5Conf})
	denied(n3, secContext(t, n3, dc), rec3, "KMS3$")
	if diff := cmp.Diff(lines(rec1, rec2), served(t, dc)); diff != "" {
		t.Errorf("SRV after KMS3's refused update, -want +got:\n%s", diff)
	}
}

// Every way to log in works; the ways to fail each say what went wrong.
func TestSambaCredentials(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	kms1, kms2, kms3 := dc.Computer(t, "KMS1"), dc.Computer(t, "KMS2"), dc.Computer(t, "KMS3")
	ccKeytab := dc.KinitKeytab(t, kms3.SAM, kms3.Keytab)
	ccPassword := dc.KinitPassword(t, kms1.SAM, kms1.Password)
	expired := expireTGT(t, dc.KinitPassword(t, kms2.SAM, kms2.Password))
	for _, tc := range []struct {
		name      string
		creds     Credentials
		principal string   // of the logged-in negotiator
		is        error    // errors.Is; nil for success
		want      []string // substrings of the error
	}{
		{"keytab", keytabCreds(dc, kms1), "KMS1$@SRVCTL.TEST", nil, nil},
		{"password", passwordCreds(dc, kms2), "KMS2$@SRVCTL.TEST", nil, nil},
		{"password, realm in the principal", Credentials{Principal: "KMS2$@SRVCTL.TEST", Password: Secret(kms2.Password), Krb5Conf: dc.Krb5Conf}, "KMS2$@SRVCTL.TEST", nil, nil},
		{"ccache from a keytab", Credentials{Principal: kms3.SAM, CCache: ccKeytab, Krb5Conf: dc.Krb5Conf}, "KMS3$@SRVCTL.TEST", nil, nil},
		{"ccache from a password", Credentials{CCache: "FILE:" + ccPassword, Krb5Conf: dc.Krb5Conf}, "KMS1$@SRVCTL.TEST", nil, nil},
		{"wrong password", Credentials{Realm: dc.Realm, Principal: kms1.SAM, Password: password, Krb5Conf: dc.Krb5Conf}, "", ErrWrongPassword,
			[]string{"kerberos login as KMS1$@SRVCTL.TEST with password failed: wrong password"}},
		{"keytab of another account", Credentials{Realm: dc.Realm, Principal: kms2.SAM, Keytab: kms1.Keytab, Krb5Conf: dc.Krb5Conf}, "", nil,
			[]string{"kerberos login as KMS2$@SRVCTL.TEST: keytab " + kms1.Keytab + " holds no key for it"}},
		{"unknown principal", Credentials{Realm: dc.Realm, Principal: "NOSUCH$", Password: password, Krb5Conf: dc.Krb5Conf}, "", ErrUnknownPrincipal,
			[]string{"kerberos login as NOSUCH$@SRVCTL.TEST with password failed: the KDC does not know this principal"}},
		{"expired ticket", Credentials{CCache: expired, Krb5Conf: dc.Krb5Conf}, "", ErrTicketExpired,
			[]string{"kerberos: the TGT of KMS2$@SRVCTL.TEST in ccache " + expired + " expired at ", "renew it with kinit"}},
		{"ccache of another principal", Credentials{Principal: kms2.SAM, CCache: ccPassword, Krb5Conf: dc.Krb5Conf}, "", nil,
			[]string{"ccache " + ccPassword + " holds tickets for KMS1$@SRVCTL.TEST, not for KMS2$"}},
		{"ccache of another realm", Credentials{Realm: "OTHER.TEST", CCache: ccPassword, Krb5Conf: dc.Krb5Conf}, "", nil,
			[]string{"ccache " + ccPassword + " holds tickets for KMS1$@SRVCTL.TEST, not for realm OTHER.TEST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := negotiator(t, tc.creds)
			sc, err := n.Context(testCtx(t), dc.DNSAddr, dc.HostName)
			if tc.is == nil && tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				q := new(dns.Msg)
				q.SetQuestion(dc.Zone, dns.TypeSOA)
				exchangeOK(t, sc, q, dns.RcodeSuccess, VerifiedSamba)
				if got := n.Principal(); got != tc.principal {
					t.Errorf("Principal() = %q, want %q", got, tc.principal)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v: want errors.Is %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nwant %q in it", err, w)
				}
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("%v shows the password", err)
			}
			// The login is not tried again in the same run.
			if _, err2 := n.Context(testCtx(t), dc.DNSAddr, dc.HostName); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("second Context: %v, want %v", err2, err)
			}
		})
	}
}

// expireTGT copies the credential cache at path (version 4, as MIT kinit
// writes it) with the end time of every ticket moved an hour into the
// past, and returns the copy's path.
func expireTGT(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 4 || b[0] != 5 || b[1] != 4 {
		t.Fatalf("%s: not a version 4 credential cache", path)
	}
	p := 2
	u16 := func() int { v := int(binary.BigEndian.Uint16(b[p:])); p += 2; return v }
	u32 := func() int { v := int(binary.BigEndian.Uint32(b[p:])); p += 4; return v }
	data := func() { p += u32() }
	principal := func() {
		p += 4 // name type
		n := u32()
		data() // realm
		for range n {
			data()
		}
	}
	p += u16() // header
	principal()
	past := uint32(time.Now().Add(-time.Hour).Unix())
	for n := 0; p < len(b); n++ {
		principal() // client
		principal() // server
		p += 2      // key type
		data()      // key
		times := p
		p += 16 // auth, start, end, renew-till
		binary.BigEndian.PutUint32(b[times:], past-3600)
		binary.BigEndian.PutUint32(b[times+4:], past-3600)
		binary.BigEndian.PutUint32(b[times+8:], past)
		binary.BigEndian.PutUint32(b[times+12:], 0)
		p += 1 + 4 // is-skey, flags
		for range u32() {
			p += 2
			data()
		} // addresses
		for range u32() {
			p += 2
			data()
		} // authdata
		data() // ticket
		data() // second ticket
	}
	out := filepath.Join(t.TempDir(), "expired.ccache")
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}
