package rfc2136_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

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

// TestGSSContextEvicted: Samba keeps only its last 128 contexts; when
// srvctl's is pushed out (or the server restarts), the next message gets
// BADKEY, srvctl negotiates a new context and sends again, once.
func TestGSSContextEvicted(t *testing.T) {
	sambatest.RequireSamba(t)
	dc := sambatest.Start(t, sambatest.Options{})
	kms1, kms2 := dc.Computer(t, "KMS1"), dc.Computer(t, "KMS2")
	zname := zones.Canonical(dc.Zone)
	gss := &rfc2136.GSS{HostName: dc.HostName, Credentials: gsstsig.Credentials{Realm: dc.Realm, Principal: kms1.SAM, Keytab: kms1.Keytab, Krb5Conf: dc.Krb5Conf}}
	b := rfc2136.New(rfc2136.Options{Zones: map[string]rfc2136.Zone{zname: {Server: dc.DNSAddr, GSS: gss}}})
	defer b.Close()
	ctx := context.Background()
	z := zone(zname, rec(kms1.DNSHostName+".", 0, 100))
	if _, err := b.Current(ctx, z); err != nil {
		t.Fatal(err)
	}
	other := gsstsig.Credentials{Realm: dc.Realm, Principal: kms2.SAM, Keytab: kms2.Keytab, Krb5Conf: dc.Krb5Conf}
	for i := range 130 {
		n := gsstsig.New(gsstsig.Options{Credentials: other})
		if _, err := n.Context(ctx, dc.DNSAddr, dc.HostName); err != nil {
			t.Fatal(i, err)
		}
	}
	for i := range 2 {
		if _, err := b.Current(ctx, z); err != nil {
			t.Fatalf("read %d after the context was evicted: %v", i, err)
		}
	}
	if got := b.Negotiations(); got != 2 {
		t.Errorf("%d negotiations, want 2: the evicted context and its replacement", got)
	}
}

// TestGSSErrors: a DNS server that does not answer is a network failure
// (not a refusal), and a refusal names the principal a ccache logged in
// as when the config names none.
func TestGSSErrors(t *testing.T) {
	sambatest.RequireSamba(t)
	dc := sambatest.Start(t, sambatest.Options{})
	kms1, kms2 := dc.Computer(t, "KMS1"), dc.Computer(t, "KMS2")
	zname := zones.Canonical(dc.Zone)
	ctx := context.Background()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	creds := gsstsig.Credentials{Realm: dc.Realm, Principal: kms1.SAM, Keytab: kms1.Keytab, Krb5Conf: dc.Krb5Conf}
	b := rfc2136.New(rfc2136.Options{Zones: map[string]rfc2136.Zone{zname: {Server: down, GSS: &rfc2136.GSS{HostName: dc.HostName, Credentials: creds}}}, Timeout: 2 * time.Second})
	defer b.Close()
	_, err = b.Current(ctx, zone(zname))
	if err == nil || errors.Is(err, rfc2136.ErrNotAuthorized) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("a DNS server that is down: %v, want a connection error that is not ErrNotAuthorized", err)
	}

	// KMS1 publishes; KMS2, from a ccache and no configured principal,
	// is refused with its own name.
	b1 := rfc2136.New(rfc2136.Options{Zones: map[string]rfc2136.Zone{zname: {Server: dc.DNSAddr, GSS: &rfc2136.GSS{HostName: dc.HostName, Credentials: creds}}}})
	defer b1.Close()
	r1 := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"rfc2136": b1}})
	if p := r1.Apply(ctx, []zones.Zone{zone(zname, rec(kms1.DNSHostName+".", 0, 100))}); p[0].Err != nil {
		t.Fatal(p[0].Err)
	}
	cc := dc.KinitKeytab(t, kms2.SAM, kms2.Keytab)
	b2 := rfc2136.New(rfc2136.Options{Zones: map[string]rfc2136.Zone{zname: {Server: dc.DNSAddr, GSS: &rfc2136.GSS{HostName: dc.HostName,
		Credentials: gsstsig.Credentials{CCache: cc, Krb5Conf: dc.Krb5Conf}}}}})
	defer b2.Close()
	r2 := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"rfc2136": b2}})
	p := r2.Apply(ctx, []zones.Zone{zone(zname, rec(kms1.DNSHostName+".", 0, 100), rec(kms2.DNSHostName+".", 10, 100))})
	want := "the account " + kms2.SAM + "@" + dc.Realm + " may not update _vlmcs._tcp." + strings.TrimSuffix(zname, ".")
	if p[0].Err == nil || !errors.Is(p[0].Err, rfc2136.ErrNotAuthorized) || !strings.Contains(p[0].Err.Error(), want) {
		t.Errorf("KMS2 from a ccache: %v, want %q", p[0].Err, want)
	}
}
