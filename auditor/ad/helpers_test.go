package ad

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/miekg/dns"
	"go.uber.org/zap/zaptest"

	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/internal/sambatest"
	"github.com/srvctl/srvctl/zones"
)

// startDC starts a Samba AD DC for the test, or skips (fails under CI)
// when Samba is missing.
func startDC(t *testing.T) *sambatest.DC {
	t.Helper()
	sambatest.RequireSamba(t)
	return sambatest.Start(t, sambatest.Options{})
}

// adminOptions binds as the Administrator over LDAPS, trusting the DC's CA.
func adminOptions(t *testing.T, dc *sambatest.DC) Options {
	return Options{
		URL:    dc.LDAPSURL,
		CAFile: dc.CAFile,
		Bind:   Bind{User: dc.AdminUser + "@srvctl.test", Password: Secret(dc.AdminPassword)},
		Logger: zaptest.NewLogger(t),
	}
}

// testCtx is a context that ends with the test, bounded.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// dial connects with o and closes the client when the test ends.
func dial(t *testing.T, o Options) *Client {
	t.Helper()
	c, err := Dial(testCtx(t), o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// kmsHosts are the three KMS hosts of the test domain, by dNSHostName.
func kmsHosts(dc *sambatest.DC) []Host {
	var out []Host
	for _, c := range dc.Computers {
		out = append(out, Host{Name: zones.Canonical(c.DNSHostName)})
	}
	return out
}

// register publishes an SRV record for computer at name (relative to the
// zone) by a GSS-TSIG update as that computer, and reports whether the
// DNS server then answers it.
func register(t *testing.T, dc *sambatest.DC, computer, name string) bool {
	t.Helper()
	c := dc.Computer(t, computer)
	cc := dc.KinitKeytab(t, c.SAM, c.Keytab)
	fqdn := name + "." + dc.Zone
	out, err := dc.NSUpdateGSS(t, cc, "update add "+fqdn+" 3600 IN SRV 0 100 1688 "+c.DNSHostName+".")
	t.Logf("nsupdate as %s for %s (%v):\n%s", c.SAM, fqdn, err, out)
	return slices.ContainsFunc(served(t, dc, fqdn), func(r zones.Record) bool { return r.Target == zones.Canonical(c.DNSHostName) })
}

// served is what the DC's DNS server answers for name's SRV RRset.
func served(t *testing.T, dc *sambatest.DC, fqdn string) []zones.Record {
	t.Helper()
	r, err := dc.Query(fqdn, dns.TypeSRV)
	if err != nil {
		t.Fatal(err)
	}
	out := []zones.Record{}
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, zones.Record{Target: zones.Canonical(s.Target), Port: s.Port, Priority: s.Priority, Weight: s.Weight, TTL: s.Hdr.Ttl})
		}
	}
	return zones.Sort(out)
}

// verdicts maps each host of z to its verdict.
func verdicts(z Zone) map[string]string {
	out := map[string]string{}
	for _, h := range z.Hosts {
		out[h.Host] = h.Verdict
	}
	return out
}

// findingsOf returns the findings of kind k in fs.
func findingsOf(fs []Finding, k Kind) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

// hostAccess returns the access of host in z.
func hostAccess(t *testing.T, z Zone, host string) HostAccess {
	t.Helper()
	for _, h := range z.Hosts {
		if h.Host == host {
			return h
		}
	}
	t.Fatalf("no host %s in the audit of %s", host, z.Owner)
	return HostAccess{}
}

// hasLine reports whether one of lines contains every part.
func hasLine(lines []string, parts ...string) bool {
	return slices.ContainsFunc(lines, func(l string) bool {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				return false
			}
		}
		return true
	})
}

// auditOne audits one name in the test zone for hosts.
func auditOne(t *testing.T, c *Client, dc *sambatest.DC, owner string, hosts []Host) (*Report, Zone) {
	t.Helper()
	rep, err := c.Audit(testCtx(t), []Request{{Zone: dc.Zone, Owner: owner, Hosts: hosts, Served: served(t, dc, owner+"."+dc.Zone)}})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if len(rep.Zones) != 1 {
		t.Fatalf("%d zones in the report", len(rep.Zones))
	}
	return rep, rep.Zones[0]
}

// runFix runs a fix command as the audit printed it against dc, as the
// Administrator, and returns its output; a failure fails the test. A
// samba-tool line gets its -H and -U values and, for `dns` commands, its
// server argument pointed at dc, and the client configuration and
// password added before its "--" (so every argument the audit put after
// "--" reaches samba-tool as printed). A `printf ... | ldapmodify -H ...
// -D '<admin DN>' -W` line gets dc's LDAPS URL, the Administrator's DN and
// a password file in place of its -H, -D and -W.
func runFix(t *testing.T, dc *sambatest.DC, line string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if printf, rest, ok := strings.Cut(line, " | ldapmodify "); ok {
		if want := "-H " + shQuote("ldaps://"+dc.HostName) + " -D " + shQuote(adminDN) + " -W"; rest != want {
			t.Fatalf("ldapmodify arguments %q, want %q", rest, want)
		}
		pw := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(pw, []byte(dc.AdminPassword), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", printf+" | ldapmodify -H "+shQuote(dc.LDAPSURL)+" -D "+shQuote("CN="+dc.AdminUser+",CN=Users,"+dc.BaseDN)+" -y "+shQuote(pw))
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+dc.CAFile, "LDAPTLS_REQCERT=demand")
	} else {
		args := shArgs(t, line)
		dash := slices.Index(args, "--")
		if dash < 0 {
			t.Fatalf("no -- before the positional arguments of %s", line)
		}
		opts, pos := slices.Clone(args[:dash]), slices.Clone(args[dash+1:])
		for i := range len(opts) - 1 {
			switch opts[i] {
			case "-H":
				opts[i+1] = dc.LDAPURL
			case "-U":
				opts[i+1] = dc.Domain + `\` + dc.AdminUser
			}
		}
		if opts[0] == "dns" {
			pos[0] = dc.Addr
		}
		full := append(append(opts, "-s", filepath.Join(dc.Dir, "etc", "client.conf"), "--use-kerberos=off", "--"), pos...)
		cmd = exec.CommandContext(ctx, "/usr/bin/samba-tool", full...)
		cmd.Env = append(os.Environ(), "PASSWD="+dc.AdminPassword)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

// ageRecord replaces the records of name (relative to the zone) with one
// SRV record for target whose TimeStamp is stamp, as a host that stopped
// refreshing leaves it.
func ageRecord(t *testing.T, dc *sambatest.DC, name, target string, stamp time.Time) {
	t.Helper()
	old, err := wire.MarshalSRV(wire.SRV{Priority: 0, Weight: 100, Port: 1688, Target: target}, 3600, 7, stamp)
	if err != nil {
		t.Fatal(err)
	}
	m := ldap.NewModifyRequest(dc.NodeDN(name), nil)
	m.Replace("dnsRecord", []string{string(old)})
	if err := dc.LDAP(t).Modify(m); err != nil {
		t.Fatal(err)
	}
}

// fixLines returns the lines of fix that start with prefix.
func fixLines(fix []string, prefix string) []string {
	var out []string
	for _, l := range fix {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}
