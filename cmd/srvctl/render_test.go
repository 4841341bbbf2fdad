package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/bindtest"
)

// TestRenderNamedConfCLI: the policy srvctl renders for its own config,
// loaded by a real named, lets srvctl's apply in and keeps the key to the
// SRV records at _vlmcs._tcp.
func TestRenderNamedConfCLI(t *testing.T) {
	bindtest.RequireNamed(t)
	// A first named only to get a key file in tsig-keygen format.
	keys := bindtest.Start(t, bindtest.Options{})
	cfg := writeConfig(t, keys, `
hosts:
  - name: kms1.render.test
    weight: 100
keys:
  - name: srvctl-test
    secret_file: {keyfile}
zones:
  - name: render.test
    server: {server}
    key: srvctl-test
`)
	r := srvctl(t, keys, "-c", cfg, "render", "named-conf", "--check")
	if r.code != 0 || !strings.Contains(r.stdout, "grant \"srvctl-test\" name _vlmcs._tcp.render.test. SRV;") {
		t.Fatalf("render named-conf --check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The rendered statements in a real named: the key include, and the
	// update-policy inside the zone block.
	include, policy, _ := strings.Cut(r.stdout[strings.Index(r.stdout, "include "):], "update-policy")
	policy = "update-policy" + policy
	zoneFile := t.TempDir() + "/db.render.test"
	if err := os.WriteFile(zoneFile, []byte("$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := bindtest.Start(t, bindtest.Options{Keys: []string{"bindtest-other"}, Conf: []string{
		include,
		fmt.Sprintf("zone \"render.test\" {\n\ttype primary;\n\tfile %q;\n%s};", zoneFile, policy),
	}})
	cfg = writeConfig(t, keys, strings.NewReplacer("server: "+keys.Addr, "server: "+srv.Addr).Replace(mustRead(t, cfg)))
	// named loads the zones of its config before it reports running.
	if _, err := srv.Serial("render.test"); err != nil {
		t.Fatalf("named does not serve render.test with the rendered policy: %v\n%s", err, srv.LogTail(20))
	}
	if r = srvctl(t, keys, "-c", cfg, "apply"); r.code != 0 {
		t.Fatalf("apply under the rendered policy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if diff := cmp.Diff([]string{"0 100 1688 kms1.render.test."}, served(t, srv, "render.test")); diff != "" {
		t.Errorf("served (-want +got):\n%s", diff)
	}
	nsupdate := func(script string) error {
		cmd := exec.Command("nsupdate", "-k", keys.KeyFile(key))
		cmd.Stdin = strings.NewReader(fmt.Sprintf("server 127.0.0.1 %d\n%s\nsend\n", srv.Port, script))
		out, err := cmd.CombinedOutput()
		if err != nil && !strings.Contains(string(out), "REFUSED") {
			t.Errorf("nsupdate failed otherwise than REFUSED: %v: %s", err, out)
		}
		return err
	}
	if err := nsupdate("update add www.render.test. 300 IN A 192.0.2.1"); err == nil {
		t.Error("the rendered policy let srvctl's key add an A record")
	}
	if err := nsupdate("update add _other._tcp.render.test. 300 IN SRV 0 0 1 kms1.render.test."); err == nil {
		t.Error("the rendered policy let srvctl's key add an SRV record at another name")
	}

	r = srvctl(t, keys, "-c", cfg, "render", "named-conf", "--style", "allow-update", "--allow-update", "any")
	if r.code != 1 || !strings.Contains(r.stderr, "--insecure") && !strings.Contains(r.stderr, "insecure") {
		t.Errorf("allow-update any without --insecure: exit %d, want 1 and a refusal\n%s", r.code, r.stderr)
	}
	r = srvctl(t, keys, "-c", cfg, "render", "dnsdomainpublishlist", "--host", "kms1.render.test", "-o", "powershell")
	if r.code != 0 || !strings.Contains(r.stdout, "-Type MultiString") || !strings.Contains(r.stdout, "'render.test,0,100'") {
		t.Errorf("dnsdomainpublishlist: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = srvctl(t, keys, "-c", cfg, "render", "dnsdomainpublishlist", "--host", "kms9.render.test"); r.code != 1 {
		t.Errorf("dnsdomainpublishlist for an unknown host: exit %d, want 1", r.code)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRenderNamedConfGSSTSIG: a gss-tsig zone's grant names srvctl's
// principal with its realm, the keytab option comes with it, and
// named-checkconf accepts the result; a principal without a realm is
// refused.
func TestRenderNamedConfGSSTSIG(t *testing.T) {
	bindtest.RequireNamed(t)
	keys := bindtest.Start(t, bindtest.Options{})
	cfg := writeConfig(t, keys, `
hosts:
  - name: kms1.ad.test
named_conf:
  tkey_keytab: /etc/bind/dns.keytab
zones:
  - name: ad.test
    server: ns1.ad.test
    auth: gss-tsig
    kerberos:
      realm: AD.TEST
      principal: SRVCTL$
      keytab: srvctl.keytab
`)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "srvctl.keytab"), []byte{5, 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	r := srvctl(t, keys, "-c", cfg, "render", "named-conf", "--check")
	for _, want := range []string{
		`grant "SRVCTL$@AD.TEST" name _vlmcs._tcp.ad.test. SRV;`,
		`tkey-gssapi-keytab "/etc/bind/dns.keytab";`,
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("render named-conf --check with a gss-tsig zone: exit %d, want %q\n%s%s", r.code, want, r.stdout, r.stderr)
		}
	}
	cfg = writeConfig(t, keys, `
hosts:
  - name: kms1.ad.test
zones:
  - name: ad.test
    server: ns1.ad.test
    auth: gss-tsig
    kerberos:
      ccache: krb5cc_srvctl
`)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "krb5cc_srvctl"), []byte{5, 4}, 0o600); err != nil {
		t.Fatal(err)
	}
	r = srvctl(t, keys, "-c", cfg, "render", "named-conf")
	if r.code != 1 || !strings.Contains(r.stderr, "zone ad.test: render named-conf needs kerberos.principal") {
		t.Errorf("a gss-tsig zone without a principal: exit %d\n%s", r.code, r.stderr)
	}
}
