package gsstsig

import (
	"context"
	"crypto/rand"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/sambatest"
)

// bindKeytab makes a computer account NS-BIND with the service principal
// DNS/<host> in the Samba domain, AES keys only, and exports its keys to
// a keytab for named's tkey-gssapi-keytab.
func bindKeytab(t *testing.T, dc *sambatest.DC, host string) string {
	t.Helper()
	dc.SambaTool(t, "computer", "create", "NSBIND")
	// A password set after creation gives the account its AES keys.
	dc.SambaTool(t, "user", "setpassword", "NSBIND$", "--newpassword=Ns-bind-"+rand.Text())
	dc.SambaTool(t, "spn", "add", "DNS/"+host, "NSBIND$")
	mod := ldap.NewModifyRequest("CN=NSBIND,CN=Computers,"+dc.BaseDN, nil)
	mod.Replace("msDS-SupportedEncryptionTypes", []string{"24"}) // AES128, AES256
	if err := dc.LDAP(t).Modify(mod); err != nil {
		t.Fatal(err)
	}
	kt := filepath.Join(t.TempDir(), "named.keytab")
	// exportkeytab reads the keys from the DC's database directly.
	out, err := exec.CommandContext(testCtx(t), "samba-tool", "domain", "exportkeytab", kt, "--principal=DNS/"+host,
		"-s", filepath.Join(dc.Dir, "etc", "smb.conf")).CombinedOutput()
	if err != nil {
		t.Fatalf("samba-tool domain exportkeytab: %v\n%s", err, out)
	}
	return kt
}

// Interop with BIND 9 accepting GSS-TSIG with a keytab the Samba KDC
// issued: BIND signs its answers as RFC 8945 says, refuses what the
// update-policy does not grant, and really deletes a context.
func TestBINDInterop(t *testing.T) {
	t.Parallel()
	bindtest.RequireNamed(t)
	dc := startDC(t)
	const host = "ns.bind.test"
	kt := bindKeytab(t, dc, host)
	srv := bindtest.Start(t, bindtest.Options{
		Zones:   []string{"bind.test"},
		Options: []string{`tkey-gssapi-keytab "` + kt + `";`},
		Policy:  `grant KMS1$@SRVCTL.TEST name _vlmcs._tcp.{zone} SRV;`,
	})
	ctx := testCtx(t)
	const owner = "_vlmcs._tcp.bind.test."
	rr := srvRR(0, 100, 1688, "kms1.srvctl.test.")
	rr.Hdr.Name = owner

	n := negotiator(t, keytabCreds(dc, dc.Computer(t, "KMS1")))
	sc, err := n.Context(ctx, srv.Addr, host)
	if err != nil {
		t.Fatalf("%v\n%s", err, srv.LogTail(20))
	}
	if sc.Negotiation() != Verified {
		t.Errorf("final TKEY answer: %v, want verified (BIND signs it)", sc.Negotiation())
	}
	exchangeOK(t, sc, addMsg("bind.test.", rr), dns.RcodeSuccess, Verified)
	got, err := srv.SRV("bind.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].String() != rr.String() {
		t.Errorf("SRV after the update: %v, want %v", got, rr)
	}
	q := new(dns.Msg)
	q.SetQuestion(owner, dns.TypeSRV)
	r := exchangeOK(t, sc, q, dns.RcodeSuccess, Verified)
	if diff := cmp.Diff(lines(rr), srvLines(r)); diff != "" {
		t.Errorf("signed query, -want +got:\n%s", diff)
	}

	// KMS2 is not in the update-policy: REFUSED, signed.
	n2 := negotiator(t, passwordCreds(dc, dc.Computer(t, "KMS2")))
	sc2, err := n2.Context(ctx, srv.Addr, host)
	if err != nil {
		t.Fatal(err)
	}
	rr2 := srvRR(0, 100, 1688, "kms2.srvctl.test.")
	rr2.Hdr.Name = owner
	a := exchangeOK(t, sc2, addMsg("bind.test.", rr2), dns.RcodeRefused, Verified)
	want := "the account KMS2$@SRVCTL.TEST may not update _vlmcs._tcp.bind.test: see `srvctl audit ad` (" + srv.Addr + " answered REFUSED)"
	if err := UpdateDenied(a, n2.Principal(), srv.Addr, owner); err == nil || err.Error() != want {
		t.Errorf("UpdateDenied:\n got %v\nwant %s", err, want)
	}

	// Close deletes the context on the server: a message signed with it
	// afterwards is answered BADKEY.
	if err := n.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	sc.mu.Lock()
	sc.deleted = false // sign anyway, to see what the server says
	sc.mu.Unlock()
	a2, err := sc.Exchange(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var te *TSIGError
	if !errors.As(a2.Err, &te) || te.TSIG != dns.RcodeBadKey || a2.Msg.Rcode != dns.RcodeNotAuth {
		t.Errorf("query signed with the deleted context: %s, %v; want NOTAUTH with TSIG error BADKEY", rcodeName(a2.Msg.Rcode), a2.Err)
	}
}
