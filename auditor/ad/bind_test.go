package ad

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/srvctl/srvctl/internal/sambatest"
	"github.com/srvctl/srvctl/zones"
)

// Every way to bind reads the same verdicts: LDAPS and StartTLS, simple
// binds as the Administrator and as a KMS host's computer account, and
// Kerberos with a keytab, a credential cache and a password (with the
// generated krb5.conf and with the DC's). Binds that must fail fail before
// anything is sent, or with an error that names the server and the
// account but not the password.
func TestBinds(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	kms1, kms2 := dc.Computer(t, "KMS1"), dc.Computer(t, "KMS2")
	if !register(t, dc, "KMS1", "_vlmcs._tcp") {
		t.Fatal("KMS1 could not register")
	}
	want := map[string]string{zones.Canonical(kms1.DNSHostName): VerdictCan, zones.Canonical(kms2.DNSHostName): VerdictCannot,
		zones.Canonical(dc.Computer(t, "KMS3").DNSHostName): VerdictCannot}
	t.Run("errors", func(t *testing.T) { bindErrors(t, dc) })
	ccache := dc.KinitKeytab(t, kms1.SAM, kms1.Keytab)
	admin := adminOptions(t, dc)
	with := func(f func(o *Options)) Options {
		o := admin
		f(&o)
		return o
	}
	for _, tc := range []struct {
		name string
		opts Options
		user string
	}{
		{"simple admin upn", admin, "Administrator@srvctl.test"},
		{"simple admin netbios", with(func(o *Options) { o.Bind.User = `SRVCTL\Administrator` }), `SRVCTL\Administrator`},
		{"simple admin dn", with(func(o *Options) { o.Bind.User = "CN=Administrator,CN=Users," + dc.BaseDN }), "CN=Administrator,CN=Users," + dc.BaseDN},
		{"simple computer", with(func(o *Options) { o.Bind = Bind{User: `SRVCTL\` + kms2.SAM, Password: Secret(kms2.Password)} }), `SRVCTL\KMS2$`},
		{"starttls", with(func(o *Options) { o.URL, o.StartTLS = dc.LDAPURL, true }), "Administrator@srvctl.test"},
		{"starttls server name", with(func(o *Options) { o.URL, o.StartTLS, o.ServerName = dc.LDAPURL, true, dc.HostName }), "Administrator@srvctl.test"},
		{"kerberos keytab", with(func(o *Options) { o.Bind = Bind{Method: "kerberos", Principal: kms1.SAM, Keytab: kms1.Keytab} }), "KMS1$@SRVCTL.TEST"},
		{"kerberos ccache", with(func(o *Options) { o.Bind = Bind{Method: "Kerberos", CCache: ccache} }), "KMS1$@SRVCTL.TEST"},
		{"kerberos password", with(func(o *Options) {
			o.Bind = Bind{Method: "kerberos", User: "Administrator@srvctl.test", Password: Secret(dc.AdminPassword), Krb5Conf: dc.Krb5Conf}
		}), "Administrator@SRVCTL.TEST"},
		{"kerberos starttls", with(func(o *Options) {
			o.URL, o.StartTLS = dc.LDAPURL, true
			o.Bind = Bind{Method: "kerberos", User: kms2.SAM, Password: Secret(kms2.Password), Realm: "srvctl.test"}
		}), "KMS2$@SRVCTL.TEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, tc.opts)
			if c.Server() != dc.HostName || c.Domain() != dc.Domain || c.DomainDN() != dc.BaseDN {
				t.Errorf("server %q, domain %q, DN %q", c.Server(), c.Domain(), c.DomainDN())
			}
			rep, z := auditOne(t, c, dc, "_vlmcs._tcp", kmsHosts(dc))
			if rep.User != tc.user {
				t.Errorf("user %q, want %q", rep.User, tc.user)
			}
			if diff := cmp.Diff(want, verdicts(z)); diff != "" {
				t.Errorf("verdicts, -want +got:\n%s", diff)
			}
		})
	}
}

// bindErrors tries binds that must fail, and checks how: every error names
// the server and the account, never the password, and neither do the
// logs.
func bindErrors(t *testing.T, dc *sambatest.DC) {
	const secret = "Wr0ng-but-secret!"
	core, logs := observer.New(zapcore.DebugLevel)
	base := Options{URL: dc.LDAPSURL, CAFile: dc.CAFile, Logger: zap.New(core), Timeout: 10 * time.Second}
	for _, tc := range []struct {
		name string
		bind Bind
		url  string
		want []string
	}{
		{"simple", Bind{User: "Administrator@srvctl.test", Password: secret}, "",
			[]string{"simple bind to " + dc.LDAPSURL + " as Administrator@srvctl.test", "Invalid Credentials"}},
		{"simple unknown user", Bind{User: `SRVCTL\nobody`, Password: secret}, "",
			[]string{`as SRVCTL\nobody`, "Invalid Credentials"}},
		{"kerberos password", Bind{Method: "kerberos", User: "Administrator", Password: secret}, "",
			[]string{"Kerberos login as Administrator@SRVCTL.TEST for " + dc.LDAPSURL}},
		{"kerberos wrong keytab", Bind{Method: "kerberos", Principal: "KMS2$", Keytab: dc.Computer(t, "KMS1").Keytab}, "",
			[]string{"Kerberos login as KMS2$@SRVCTL.TEST"}},
		{"no CA", Bind{User: "Administrator", Password: secret}, "system roots",
			[]string{"TLS handshake with " + dc.LDAPSURL, "certificate signed by unknown authority"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			o.Bind = tc.bind
			if tc.url == "system roots" {
				o.CAFile = ""
			}
			c, err := Dial(testCtx(t), o)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			t.Logf("%v", err)
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
	// A bind that works, and an audit, log too: with the same logger.
	good := base
	good.Bind = Bind{User: "Administrator@srvctl.test", Password: Secret(dc.AdminPassword)}
	c := dial(t, good)
	if _, err := c.Audit(testCtx(t), []Request{{Zone: dc.Zone, Hosts: kmsHosts(dc)}}); err != nil {
		t.Fatal(err)
	}
	if len(logs.All()) < 2 {
		t.Fatalf("%d log entries; want the bind's and the audit's", len(logs.All()))
	}
	for _, e := range logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		if strings.Contains(e.Message+string(b), secret) || strings.Contains(e.Message+string(b), dc.AdminPassword) {
			t.Errorf("log %q %s holds a password", e.Message, b)
		}
	}
	if got := fmt.Sprintf("%v %s %#v %q", Secret(secret), Secret(secret), Secret(secret), Secret(secret)); strings.Contains(got, secret) {
		t.Errorf("a Secret formats as %s", got)
	}
	if b, _ := json.Marshal(Bind{Password: secret}); strings.Contains(string(b), secret) {
		t.Errorf("a Bind marshals as %s", b)
	}

	// Refused before anything is sent: a listener that must never see a
	// connection stands in for the server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
			accepted <- struct{}{}
		}
	}()
	plain := "ldap://" + ln.Addr().String()
	for _, tc := range []struct {
		name string
		bind Bind
		want string
	}{
		{"simple", Bind{User: "Administrator", Password: secret}, "refusing a simple bind to " + plain + " as Administrator without TLS"},
		{"kerberos", Bind{Method: "kerberos", User: "Administrator", Password: secret}, "refusing a Kerberos bind to " + plain + " without TLS: Active Directory requires LDAP signing"},
	} {
		o := base
		o.URL, o.Bind = plain, tc.bind
		if _, err := Dial(testCtx(t), o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s over ldap:// without StartTLS: %v, want %q", tc.name, err, tc.want)
		}
	}
	ln.Close()
	<-done
	select {
	case <-accepted:
		t.Error("Dial connected before refusing the bind")
	default:
	}

	// The DC itself refuses a simple bind on plain LDAP (strong auth), so
	// the refusal costs nothing that would have worked.
	l, err := ldap.DialURL(dc.LDAPURL)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Bind("Administrator@srvctl.test", dc.AdminPassword); err == nil {
		t.Error("Samba accepted a simple bind on plain LDAP")
	}
}
