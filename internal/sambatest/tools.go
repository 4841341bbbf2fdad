package sambatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// python3 is the interpreter of samba-tool and samba_spnupdate (their
// shebang); another python3 on PATH (pyenv) cannot import samba.
const python3 = "/usr/bin/python3"

// findBinary looks a program up in PATH, then in the sbin and bin
// directories Debian installs to (sbin is often not in a user's PATH).
func findBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("sambatest: %s is not installed; install it with `%s`", name, InstallHint)
}

// toolEnv is the environment of a child process: this process's, without
// the Kerberos, Samba password and Python variables that would change what
// the tools do, with the system directories first in PATH, plus extra
// ("KEY=value").
func toolEnv(extra []string) []string {
	drop := map[string]bool{
		"KRB5_CONFIG": true, "KRB5CCNAME": true, "KRB5_KTNAME": true, "KRB5_CLIENT_KTNAME": true,
		"PASSWD": true, "PASSWD_FD": true, "PASSWD_FILE": true,
		"PYTHONPATH": true, "PYTHONHOME": true, "PATH": true,
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	path := "/usr/sbin:/usr/bin:/sbin:/bin"
	if p := os.Getenv("PATH"); p != "" {
		path += ":" + p
	}
	return append(append(env, "PATH="+path), extra...)
}

// command is one run of an external tool.
type command struct {
	name  string   // program, looked up with findBinary
	args  []string // arguments
	env   []string // extra environment, "KEY=value"
	stdin string   // fed to the program
	// redact are secrets in args, replaced by "***" in errors.
	redact []string
	// timeout bounds the run; default toolTimeout.
	timeout time.Duration
}

// run runs c and returns its combined output; the error names the
// program and its arguments (secrets redacted) and holds the output.
func (c command) run() (string, error) {
	bin, err := findBinary(c.name)
	if err != nil {
		return "", err
	}
	timeout := c.timeout
	if timeout == 0 {
		timeout = toolTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, c.args...)
	cmd.Env = toolEnv(c.env)
	cmd.Stdin = strings.NewReader(c.stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		args := strings.Join(c.args, " ")
		for _, r := range c.redact {
			args = strings.ReplaceAll(args, r, "***")
		}
		return out.String(), fmt.Errorf("sambatest: %s %s: %w:\n%s", c.name, args, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// krbEnv is the environment of a Kerberos tool using the DC's krb5.conf
// and the credential cache ccache.
func (dc *DC) krbEnv(ccache string) []string {
	return []string{"KRB5_CONFIG=" + dc.Krb5Conf, "KRB5CCNAME=FILE:" + ccache}
}

// sambaTool is the samba-tool command for args, with the Administrator's
// credentials (NTLM; the password in the environment, not the command
// line), the client smb.conf, and -H LDAPURL unless args[0] is "dns"
// (those commands take the server as an argument).
func (dc *DC) sambaTool(args ...string) command {
	a := append([]string{}, args...)
	if len(args) == 0 || args[0] != "dns" {
		a = append(a, "-H", dc.LDAPURL)
	}
	a = append(a, "-s", dc.clientConfPath(), "-U", netbios+`\`+adminUser, "--use-kerberos=off")
	return command{name: "samba-tool", args: a, env: []string{"PASSWD=" + dc.AdminPassword}}
}

// SambaTool runs samba-tool with args as the Administrator against this
// DC and returns its output; a failure fails the test with the output.
// -H LDAPURL, the credentials and a client smb.conf are added; `dns`
// commands take the server as their first argument: pass dc.Addr, e.g.
// SambaTool(t, "dns", "query", dc.Addr, "srvctl.test", "@", "ALL").
func (dc *DC) SambaTool(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := dc.sambaTool(args...).run()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// SambaToolOutput runs samba-tool like SambaTool, for a test that expects
// it to fail: it returns the output and samba-tool's error.
func (dc *DC) SambaToolOutput(args ...string) (string, error) {
	return dc.sambaTool(args...).run()
}

// principal adds the realm to a principal name that has none.
func principal(p string) string {
	if strings.Contains(p, "@") {
		return p
	}
	return p + "@" + realm
}

// KinitPassword gets a TGT for principal ("KMS1$", "Administrator", or
// with "@SRVCTL.TEST") with password, with MIT kinit and the DC's
// krb5.conf, into a new credential cache in tb.TempDir, and returns the
// cache's path. A failure fails the test.
func (dc *DC) KinitPassword(tb testing.TB, principalName, password string) string {
	tb.Helper()
	cc := filepath.Join(tb.TempDir(), "krb5cc")
	c := command{name: "kinit", args: []string{principal(principalName)}, env: dc.krbEnv(cc), stdin: password + "\n"}
	if _, err := c.run(); err != nil {
		tb.Fatalf("sambatest: kinit %s with a password: %v", principal(principalName), err)
	}
	return cc
}

// KinitKeytab gets a TGT for principal with its keys from keytab (e.g. a
// Computer's Keytab), like KinitPassword, and returns the cache's path.
func (dc *DC) KinitKeytab(tb testing.TB, principalName, keytab string) string {
	tb.Helper()
	cc := filepath.Join(tb.TempDir(), "krb5cc")
	c := command{name: "kinit", args: []string{"-k", "-t", keytab, principal(principalName)}, env: dc.krbEnv(cc)}
	if _, err := c.run(); err != nil {
		tb.Fatalf("sambatest: kinit -k -t %s %s: %v", keytab, principal(principalName), err)
	}
	return cc
}

// NSUpdateGSS runs `nsupdate -g` (GSS-TSIG, with the credentials in
// ccache) against the DC's DNS server, feeding it "server Addr DNSPort",
// script (update lines, e.g. "update add _vlmcs._tcp.srvctl.test. 3600 IN
// SRV 0 100 1688 kms1.srvctl.test.") and "send", and returns its output
// and exit error.
//
// Samba signs its responses in a way nsupdate cannot verify: nsupdate
// prints "tsig verify failure" and exits 2 even when the update was
// applied. A refused update (no write access) is answered SERVFAIL. So
// callers decide what happened by a query (Query) or LDAP, not by the
// error alone.
func (dc *DC) NSUpdateGSS(tb testing.TB, ccache, script string) (string, error) {
	tb.Helper()
	in := fmt.Sprintf("server %s %d\n%s\nsend\n", dc.Addr, dc.DNSPort, strings.TrimSpace(script))
	return command{name: "nsupdate", args: []string{"-g"}, env: dc.krbEnv(ccache), stdin: in}.run()
}

// Query sends a non-recursive query for name (made absolute) and qtype to
// the DC's DNS server over TCP, and returns the answer whatever its
// rcode.
func (dc *DC) Query(name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	ctx, cancel := context.WithTimeout(context.Background(), netTimeout)
	defer cancel()
	r, _, err := (&dns.Client{Net: "tcp", Timeout: netTimeout}).ExchangeContext(ctx, m, dc.DNSAddr)
	if err != nil {
		return nil, fmt.Errorf("sambatest: query %s %s at %s: %w", dns.Fqdn(name), dns.TypeToString[qtype], dc.DNSAddr, err)
	}
	return r, nil
}
