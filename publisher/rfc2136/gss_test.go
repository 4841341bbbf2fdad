package rfc2136_test

import (
	"context"
	"testing"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/sambatest"
	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/publisher/gsstsig"
	"github.com/srvctl/srvctl/publisher/rfc2136"
	"github.com/srvctl/srvctl/zones"
)

// TestGSSOneNegotiationPerRun: three AD-integrated zones on one Samba DC,
// published with KMS1's keytab: one TKEY negotiation serves every read,
// update and read-back of the run; the next run negotiates once more.
func TestGSSOneNegotiationPerRun(t *testing.T) {
	sambatest.RequireSamba(t)
	dc := sambatest.Start(t, sambatest.Options{})
	names := []string{dc.Zone, "a." + dc.Zone, "b." + dc.Zone}
	for _, z := range names[1:] {
		dc.SambaTool(t, "dns", "zonecreate", dc.Addr, z)
	}
	kms1 := dc.Computer(t, "KMS1")
	gss := &rfc2136.GSS{HostName: dc.HostName, Credentials: gsstsig.Credentials{
		Realm: dc.Realm, Principal: kms1.SAM, Keytab: kms1.Keytab, Krb5Conf: dc.Krb5Conf}}
	zc := map[string]rfc2136.Zone{}
	var zs []zones.Zone
	for _, n := range names {
		zc[zones.Canonical(n)] = rfc2136.Zone{Server: dc.DNSAddr, GSS: gss}
		zs = append(zs, zone(zones.Canonical(n), rec(kms1.DNSHostName+".", 0, 100)))
	}
	b := rfc2136.New(rfc2136.Options{Zones: zc})
	defer b.Close()
	r := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"rfc2136": b}, Concurrency: 3})

	for run := 1; run <= 2; run++ {
		for _, p := range r.Apply(context.Background(), zs) {
			if p.Err != nil {
				t.Fatalf("run %d: %s: %v", run, p.Zone, p.Err)
			}
			if a, _, _ := p.Counts(); (run == 1) != (a == 1) {
				t.Errorf("run %d: %s adds %d records", run, p.Zone, a)
			}
		}
		if got := b.Negotiations(); got != run {
			t.Errorf("after run %d: %d negotiations, want %d (one per server per run)", run, got, run)
		}
		if err := b.EndRun(context.Background()); err != nil {
			t.Errorf("EndRun: %v", err)
		}
	}
	for _, n := range names {
		got := servedSamba(t, dc, "_vlmcs._tcp."+n)
		if len(got) != 1 || got[0] != kms1.DNSHostName+"." {
			t.Errorf("%s serves %v", n, got)
		}
	}
}

func servedSamba(t *testing.T, dc *sambatest.DC, name string) []string {
	t.Helper()
	m, err := dc.Query(name, dns.TypeSRV)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range m.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			out = append(out, s.Target)
		}
	}
	return out
}
