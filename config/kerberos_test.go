package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadGSSTSIG(t *testing.T) {
	path := writeConfig(t, hostsOK+keysOK+`zones:
  - name: corp.example.com
    server: dc1.corp.example.com
    auth: GSS-TSIG
    kerberos:
      realm: CORP.EXAMPLE.COM
      principal: SRVCTL$
      keytab: srvctl.keytab
`)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "srvctl.keytab"), []byte{5, 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	z := cfg.Zones[0]
	want := &Kerberos{Realm: "CORP.EXAMPLE.COM", Principal: "SRVCTL$", Keytab: filepath.Join(filepath.Dir(path), "srvctl.keytab")}
	if z.Auth != AuthGSSTSIG || z.Key != "" {
		t.Errorf("auth %q key %q, want gss-tsig and no key", z.Auth, z.Key)
	}
	if diff := cmp.Diff(want, z.Kerberos); diff != "" {
		t.Errorf("kerberos (-want +got):\n%s", diff)
	}
}

func TestLoadGSSTSIGProblems(t *testing.T) {
	const krb = "\n    kerberos: {realm: CORP.EXAMPLE.COM, principal: SRVCTL$, ccache: /tmp/krb5cc_0}\n"
	for _, tc := range []struct {
		name, zone string
		want       []string
	}{
		{"key and gss", "    server: dc1.corp.example.com\n    key: srvctl-corp\n    auth: gss-tsig" + krb,
			[]string{"zones[0].key: auth gss-tsig signs with Kerberos, not a TSIG key: drop key"}},
		{"no kerberos", "    server: dc1.corp.example.com\n    auth: gss-tsig\n",
			[]string{"zones[0].kerberos: missing: auth gss-tsig needs srvctl's Kerberos identity (realm, principal, and one of keytab, ccache, password_file)"}},
		{"kerberos without auth", "    server: dc1.corp.example.com\n    key: srvctl-corp" + krb,
			[]string{"zones[0].kerberos: only for auth: gss-tsig"}},
		{"address without server_name", "    server: 192.0.2.53\n    auth: gss-tsig" + krb,
			[]string{"zones[0].kerberos.server_name: missing: the server 192.0.2.53:53 is an address; Kerberos needs the DNS server's host name (the service principal is DNS/<name>)"}},
		{"unknown auth", "    server: dc1.corp.example.com\n    key: srvctl-corp\n    auth: ntlm\n",
			[]string{`zones[0].auth: "ntlm" is not one of tsig, gss-tsig`}},
		{"two credentials", "    server: dc1.corp.example.com\n    auth: gss-tsig\n    kerberos: {principal: SRVCTL$, ccache: /tmp/c, keytab: /tmp/k}\n",
			[]string{"zones[0].kerberos: one of keytab, ccache or password_file, not several"}},
		{"bindfile", "    backend: bindfile\n    file: /tmp/x.vlmcs\n    auth: gss-tsig" + krb,
			[]string{"zones[0].auth: only backend rfc2136 signs updates"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, hostsOK+keysOK+"zones:\n  - name: corp.example.com\n"+tc.zone)
			_, err := Load(LoadOptions{Path: path, Env: []string{}, NoSecrets: true})
			got := problemList(t, err)
			for i := range got {
				got[i], _, _ = strings.Cut(got[i], " (line")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
