package ad

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap/zaptest"

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
