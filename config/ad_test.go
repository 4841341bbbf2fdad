package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadAD(t *testing.T) {
	path := writeConfig(t, allOK+`ad:
  url: ldaps://DC1.corp.example.com:636
  ca_file: ca.pem
  bind:
    method: simple
    user: CORP\svc-srvctl
    password_file: ldap.pass
  base_dn: DC=corp,DC=example,DC=com
`)
	dir := filepath.Dir(path)
	if err := os.WriteFile(filepath.Join(dir, "ldap.pass"), []byte("s3cret pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := AD{
		URL: "ldaps://DC1.corp.example.com:636", CAFile: filepath.Join(dir, "ca.pem"),
		Bind:  ADBind{Method: "simple", User: `CORP\svc-srvctl`, PasswordFile: filepath.Join(dir, "ldap.pass"), Password: "s3cret pass"},
		Group: DefaultADGroup, BaseDN: "DC=corp,DC=example,DC=com", Timeout: DefaultADTimeout,
	}
	if diff := cmp.Diff(want, cfg.AD, cmp.Comparer(func(a, b Secret) bool { return a.Reveal() == b.Reveal() })); diff != "" {
		t.Errorf("ad (-want +got):\n%s", diff)
	}

	// Kerberos with a keytab over StartTLS; a host's account.
	path = writeConfig(t, `hosts:
  - name: kms1.corp.example.com
    account: KMS1$
`+keysOK+zonesOK+`ad:
  url: ldap://dc1.corp.example.com
  start_tls: true
  group: KMS Hosts
  timeout: 3s
  bind:
    method: kerberos
    realm: CORP.EXAMPLE.COM
    principal: srvctl
    keytab: srvctl.keytab
`)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "srvctl.keytab"), []byte{5, 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	wantK := AD{URL: "ldap://dc1.corp.example.com", StartTLS: true, Group: "KMS Hosts", Timeout: 3 * time.Second,
		Bind: ADBind{Method: "kerberos", Realm: "CORP.EXAMPLE.COM", Principal: "srvctl", Keytab: filepath.Join(filepath.Dir(path), "srvctl.keytab")}}
	if diff := cmp.Diff(wantK, cfg.AD); diff != "" {
		t.Errorf("ad kerberos (-want +got):\n%s", diff)
	}
	if cfg.Hosts[0].Account != "KMS1$" {
		t.Errorf("account %q, want KMS1$", cfg.Hosts[0].Account)
	}
}

func TestLoadADProblems(t *testing.T) {
	for _, tc := range []struct {
		name, ad string
		want     []string
	}{
		{"no url", "ad:\n  bind: {method: simple, user: u, password_file: p}\n", []string{"ad.url: missing: the domain controller, like ldaps://dc1.corp.example.com"}},
		{"http url", "ad:\n  url: https://dc1\n  bind: {method: kerberos, realm: R, principal: p, keytab: k}\n",
			[]string{`ad.url: "https://dc1": want ldaps://host[:port] or ldap://host[:port] (with start_tls: true)`}},
		{"simple in clear", "ad:\n  url: ldap://dc1\n  bind: {method: simple, user: u, password_file: p}\n",
			[]string{"ad.bind.method: simple over ldap:// without start_tls would send the password in clear: use ldaps:// or start_tls: true"}},
		{"starttls on ldaps", "ad:\n  url: ldaps://dc1\n  start_tls: true\n  bind: {method: simple, user: u, password_file: p}\n",
			[]string{"ad.start_tls: true with an ldaps:// url: StartTLS is for ldap://"}},
		{"kerberos without credentials", "ad:\n  url: ldaps://dc1\n  bind: {method: kerberos, realm: CORP.EXAMPLE.COM, principal: p}\n",
			[]string{"ad.bind: kerberos needs one of keytab, ccache or password_file"}},
		{"kerberos two credentials", "ad:\n  url: ldaps://dc1\n  bind: {method: kerberos, realm: CORP.EXAMPLE.COM, principal: p, keytab: k, ccache: c}\n",
			[]string{"ad.bind: kerberos takes one of keytab, ccache or password_file, not several"}},
		{"lower-case realm", "ad:\n  url: ldaps://dc1\n  bind: {method: kerberos, realm: corp.example.com, principal: p, ccache: c}\n",
			[]string{`ad.bind.realm: "corp.example.com" is not a realm (upper-case letters, digits, dots and hyphens)`}},
		{"unknown method", "ad:\n  url: ldaps://dc1\n  bind: {method: ntlm}\n", []string{`ad.bind.method: "ntlm" is not one of simple, kerberos`}},
		{"keytab with simple", "ad:\n  url: ldaps://dc1\n  bind: {method: simple, user: u, password_file: p, keytab: k}\n",
			[]string{"ad.bind.keytab: only for method kerberos"}},
		{"quote in group", "ad:\n  url: ldaps://dc1\n  group: 'KMS\" & calc'\n  bind: {method: simple, user: u, password_file: p}\n",
			[]string{`ad.group: "KMS\" & calc": no double quotes or control characters (it is printed into commands)`}},
		{"typo", "ad:\n  url: ldaps://dc1\n  grup: x\n  bind: {method: simple, user: u, password_file: p}\n", []string{"ad.grup: unknown key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, allOK+tc.ad)
			_, err := Load(LoadOptions{Path: path, Env: []string{}, NoSecrets: true})
			got := problemList(t, err)
			for i := range got {
				got[i], _, _ = strings.Cut(got[i], " (did you mean")
				got[i], _, _ = strings.Cut(got[i], " (line")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadADSecrets checks the password file's mode rule and that its
// content never shows in an error.
func TestLoadADSecrets(t *testing.T) {
	path := writeConfig(t, allOK+"ad:\n  url: ldaps://dc1\n  bind: {method: simple, user: u, password_file: ldap.pass}\n")
	pf := filepath.Join(filepath.Dir(path), "ldap.pass")
	if err := os.WriteFile(pf, []byte("hunter2-not-shown\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pf, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(LoadOptions{Path: path, Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), "is readable by group or others (mode 0644): chmod 600 it") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a 0644 password file: %v", err)
	}
	if err := os.WriteFile(pf, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pf, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(LoadOptions{Path: path, Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), "holds no password") {
		t.Errorf("an empty password file: %v", err)
	}
}
