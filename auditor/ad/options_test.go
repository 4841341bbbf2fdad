package ad

import (
	"strings"
	"testing"
)

// Options are checked before anything is sent.
func TestOptionsCheck(t *testing.T) {
	simple := Bind{User: "svc", Password: "pw-Secret-1"}
	krb := Bind{Method: "kerberos", Principal: "svc", Keytab: "/k"}
	for _, tc := range []struct {
		name string
		o    Options
		addr string // the endpoint when valid
		err  string
	}{
		{"ldaps", Options{URL: "ldaps://dc1.corp.example", Bind: simple}, "dc1.corp.example:636", ""},
		{"ldaps port", Options{URL: "LDAPS://dc1.corp.example:3269/", Bind: simple}, "dc1.corp.example:3269", ""},
		{"starttls", Options{URL: "ldap://10.0.0.1", StartTLS: true, Bind: simple}, "10.0.0.1:389", ""},
		{"ipv6", Options{URL: "ldaps://[2001:db8::1]", Bind: krb}, "[2001:db8::1]:636", ""},
		{"kerberos ccache", Options{URL: "ldaps://dc", Bind: Bind{Method: "kerberos", CCache: "/tmp/cc"}}, "dc:636", ""},
		{"no url", Options{Bind: simple}, "", "no URL"},
		{"bad scheme", Options{URL: "https://dc", Bind: simple}, "", `scheme "https": want ldaps:// or ldap://`},
		{"no host", Options{URL: "ldaps://", Bind: simple}, "", "has no host"},
		{"user in url", Options{URL: "ldaps://svc:hunter2@dc", Bind: simple}, "", "user information in the URL is not allowed"},
		{"dn in url", Options{URL: "ldaps://dc/DC=corp,DC=example", Bind: simple}, "", "give scheme://host[:port] only"},
		{"ldaps and starttls", Options{URL: "ldaps://dc", StartTLS: true, Bind: simple}, "", "StartTLS is for ldap:// URLs"},
		{"plain simple", Options{URL: "ldap://dc", Bind: simple}, "", "refusing a simple bind to ldap://dc:389 as svc without TLS"},
		{"plain kerberos", Options{URL: "ldap://dc", Bind: krb}, "", "refusing a Kerberos bind to ldap://dc:389 without TLS"},
		{"no user", Options{URL: "ldaps://dc"}, "", "a simple bind needs a user"},
		{"simple keytab", Options{URL: "ldaps://dc", Bind: Bind{User: "svc", Keytab: "/k"}}, "", "needs the kerberos bind method"},
		{"kerberos nothing", Options{URL: "ldaps://dc", Bind: Bind{Method: "kerberos", User: "svc"}}, "", "needs a keytab, a credential cache or a password"},
		{"kerberos two", Options{URL: "ldaps://dc", Bind: Bind{Method: "kerberos", User: "svc", Keytab: "/k", Password: "x"}}, "", "set only one of"},
		{"kerberos no principal", Options{URL: "ldaps://dc", Bind: Bind{Method: "kerberos", Keytab: "/k"}}, "", "needs a principal"},
		{"method", Options{URL: "ldaps://dc", Bind: Bind{Method: "ntlm", User: "svc"}}, "", `bind method "ntlm"`},
		{"timeout", Options{URL: "ldaps://dc", Bind: simple, Timeout: -1}, "", "negative timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := tc.o.check()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("check: %v", err)
			case tc.err == "" && ep.addr != tc.addr:
				t.Errorf("address %s, want %s", ep.addr, tc.addr)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("check: %v, want an error with %q", err, tc.err)
			}
			if err != nil && (strings.Contains(err.Error(), "pw-Secret-1") || strings.Contains(err.Error(), "hunter2")) {
				t.Errorf("the error %q holds a password", err)
			}
		})
	}
}

func TestPrincipals(t *testing.T) {
	for _, tc := range []struct{ in, name, realm string }{
		{"KMS1$", "KMS1$", ""},
		{"svc@corp.example", "svc", "CORP.EXAMPLE"},
		{`CORP\svc`, "svc", ""},
	} {
		if n, r := splitPrincipal(tc.in); n != tc.name || r != tc.realm {
			t.Errorf("splitPrincipal(%q) = %q, %q; want %q, %q", tc.in, n, r, tc.name, tc.realm)
		}
	}
	for _, tc := range []struct{ dn, realm string }{
		{"DC=corp,DC=example,DC=com", "CORP.EXAMPLE.COM"},
		{"dc=srvctl, dc=test", "SRVCTL.TEST"},
		{`OU=a\,b,DC=x`, "X"},
	} {
		if got := realmOf(tc.dn); got != tc.realm {
			t.Errorf("realmOf(%q) = %q, want %q", tc.dn, got, tc.realm)
		}
	}
}
