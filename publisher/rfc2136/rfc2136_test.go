package rfc2136_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/publisher/rfc2136"
	"github.com/srvctl/srvctl/zones"
)

const key = "srvctl-test"

func rec(target string, prio, weight uint16) zones.Record {
	return zones.Record{Target: target, Port: 1688, Priority: prio, Weight: weight, TTL: 3600}
}

func zone(name string, desired ...zones.Record) zones.Zone {
	return zones.Zone{Name: name, Service: zones.DefaultService, Backend: "rfc2136", Desired: desired}
}

// backend returns a Backend that reaches every zone at srv with its key.
func backend(t *testing.T, srv *bindtest.Server, keyName string, names ...string) *rfc2136.Backend {
	t.Helper()
	k, err := rfc2136.NewKey(keyName, srv.Algorithm, srv.Secrets[keyName])
	if err != nil {
		t.Fatal(err)
	}
	zc := make(map[string]rfc2136.Zone)
	for _, n := range names {
		zc[n] = rfc2136.Zone{Server: srv.Addr, Key: k}
	}
	b := rfc2136.New(rfc2136.Options{Zones: zc, Timeout: 3 * time.Second})
	t.Cleanup(func() { b.Close() })
	return b
}

// served returns the zone's SRV RRset as the server answers it.
func served(t *testing.T, srv *bindtest.Server, z string) []zones.Record {
	t.Helper()
	got, err := srv.Records(z)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func apply(t *testing.T, b *rfc2136.Backend, z zones.Zone, prune zones.Prune) zones.Plan {
	t.Helper()
	ctx := context.Background()
	cur, err := b.Current(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	p := zones.Diff(z, cur, zones.Policy{Prune: prune})
	if err := b.Apply(ctx, &p); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return p
}

func TestApplyAndReadBack(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{
		Zones: []string{"example.com."},
		Records: map[string][]string{"example.com.": {
			"www.example.com. 300 IN A 192.0.2.1",
			"_ldap._tcp.example.com. 600 IN SRV 0 100 389 dc1.example.com.",
		}},
	})
	b := backend(t, srv, key, "example.com.")
	ctx := context.Background()

	cur, err := b.Current(ctx, zone("example.com."))
	if err != nil || len(cur) != 0 {
		t.Fatalf("empty zone: %v, %v", cur, err)
	}
	want := []zones.Record{rec("kms1.example.com.", 0, 100), rec("kms2.example.com.", 10, 0)}
	z := zone("example.com.", want...)
	apply(t, b, z, zones.PruneNone)
	if diff := cmp.Diff(zones.Sort(want), served(t, srv, "example.com.")); diff != "" {
		t.Errorf("served after apply (-want +got):\n%s", diff)
	}
	got, err := b.Current(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(zones.Sort(want), got); diff != "" {
		t.Errorf("Current after apply (-want +got):\n%s", diff)
	}

	// A weight change is one update message: the serial moves by one.
	serial, _ := srv.Serial("example.com.")
	z.Desired[1].Weight = 50
	p := apply(t, b, z, zones.PruneNone)
	if a, u, d := p.Counts(); a != 0 || u != 1 || d != 0 {
		t.Errorf("plan counts %d %d %d, want one update", a, u, d)
	}
	if s, _ := srv.Serial("example.com."); s != serial+1 {
		t.Errorf("serial %d → %d, want one update", serial, s)
	}

	// A TTL change rewrites the RRset.
	for i := range z.Desired {
		z.Desired[i].TTL = 600
	}
	apply(t, b, z, zones.PruneNone)
	for _, r := range served(t, srv, "example.com.") {
		if r.TTL != 600 {
			t.Errorf("TTL of %s is %d, want 600", r.Target, r.TTL)
		}
	}

	// Records at other names are untouched.
	for name, qtype := range map[string]uint16{"www.example.com.": dns.TypeA, "_ldap._tcp.example.com.": dns.TypeSRV} {
		m, err := srv.Query(name, qtype)
		if err != nil || len(m.Answer) != 1 {
			t.Errorf("%s: %v %v", name, m, err)
		}
	}
}

// TestManyUpdatesOnePool sends many signed exchanges over reused
// connections: with miekg/dns's Conn reused for TSIG every second one would
// fail with BADSIG.
func TestManyUpdatesOnePool(t *testing.T) {
	names := make([]string, 40)
	for i := range names {
		names[i] = fmt.Sprintf("z%d.example.", i)
	}
	srv := bindtest.Start(t, bindtest.Options{Zones: names})
	k, err := rfc2136.NewKey(key, srv.Algorithm, srv.Secrets[key])
	if err != nil {
		t.Fatal(err)
	}
	zc := make(map[string]rfc2136.Zone)
	for _, n := range names {
		zc[n] = rfc2136.Zone{Server: srv.Addr, Key: k}
	}
	b := rfc2136.New(rfc2136.Options{Zones: zc, MaxIdle: 2})
	defer b.Close()
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(names); i += 2 {
				z := zone(names[i], rec("kms1.example.com.", 0, uint16(i)))
				for range 3 { // read, update, read back, three times per zone
					cur, err := b.Current(context.Background(), z)
					if err != nil {
						errs <- err
						return
					}
					p := zones.Diff(z, cur, zones.Policy{Prune: zones.PruneAll})
					if err := b.Apply(context.Background(), &p); err != nil {
						errs <- err
						return
					}
					z.Desired[0].Weight++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, n := range names {
		if got := served(t, srv, n); len(got) != 1 || got[0].Weight != uint16(i)+2 {
			t.Errorf("%s serves %v", n, got)
		}
	}
}

func TestAlgorithms(t *testing.T) {
	for _, alg := range []string{"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha384", "hmac-sha512"} {
		t.Run(alg, func(t *testing.T) {
			srv := bindtest.Start(t, bindtest.Options{Zones: []string{"example.com."}, Algorithm: alg})
			b := backend(t, srv, key, "example.com.")
			apply(t, b, zone("example.com.", rec("kms1.example.com.", 0, 0)), zones.PruneNone)
			if got := served(t, srv, "example.com."); len(got) != 1 {
				t.Errorf("served %v", got)
			}
		})
	}
}

func TestConflict(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{Zones: []string{"example.com."}, Keys: []string{key, "kms-host"}})
	b := backend(t, srv, key, "example.com.")
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		before string // records present when srvctl reads
		write  string // what the other writer does after srvctl read
	}{
		{"empty RRset, a KMS host publishes itself", "",
			"update add _vlmcs._tcp.example.com. 3600 IN SRV 0 0 1688 kms9.example.com."},
		{"existing RRset, another writer removes a record", "update add _vlmcs._tcp.example.com. 3600 IN SRV 0 0 1688 kms9.example.com.",
			"update delete _vlmcs._tcp.example.com. SRV 0 0 1688 kms9.example.com."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := srv.NSUpdate(key, "update delete _vlmcs._tcp.example.com. SRV"); err != nil {
				t.Fatal(err)
			}
			if tt.before != "" {
				if err := srv.NSUpdate("kms-host", tt.before); err != nil {
					t.Fatal(err)
				}
			}
			z := zone("example.com.", rec("kms1.example.com.", 0, 0))
			cur, err := b.Current(ctx, z)
			if err != nil {
				t.Fatal(err)
			}
			p := zones.Diff(z, cur, zones.Policy{Prune: zones.PruneAll})
			if err := srv.NSUpdate("kms-host", tt.write); err != nil {
				t.Fatal(err)
			}
			after := served(t, srv, "example.com.")
			err = b.Apply(ctx, &p)
			if !errors.Is(err, publisher.ErrConflict) {
				t.Fatalf("Apply = %v, want ErrConflict", err)
			}
			if diff := cmp.Diff(after, served(t, srv, "example.com.")); diff != "" {
				t.Errorf("a failed prerequisite changed the zone (-before +after):\n%s", diff)
			}
		})
	}
}

// TestMinimalResponses reads from a server that sends no authority section
// with positive answers (minimal-responses yes): the apex is then proven
// with an SOA query. (Negative answers always carry the SOA.)
func TestMinimalResponses(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{
		Zones:   []string{"example.com."},
		Options: []string{"minimal-responses yes;"},
		Records: map[string][]string{"example.com.": {"_vlmcs._tcp.sub.example.com. 300 IN SRV 0 0 1688 kms1.example.com."}},
	})
	b := backend(t, srv, key, "example.com.", "sub.example.com.")
	z := zone("example.com.", rec("kms1.example.com.", 0, 0))
	apply(t, b, z, zones.PruneNone)
	m, err := srv.Query("_vlmcs._tcp.example.com.", dns.TypeSRV)
	if err != nil || len(m.Answer) != 1 || len(m.Ns) != 0 {
		t.Fatalf("want a positive answer without authority section: %v %v", m, err)
	}
	if got, err := b.Current(context.Background(), z); err != nil || len(got) != 1 {
		t.Fatalf("Current: %v %v", got, err)
	}
	// A positive answer for a name that is inside example.com., not a zone.
	_, err = b.Current(context.Background(), zone("sub.example.com."))
	if !errors.Is(err, rfc2136.ErrNotAuthoritative) || !strings.Contains(err.Error(), "inside zone example.com.") {
		t.Errorf("a name inside the zone: %v", err)
	}
}

func TestErrors(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{
		Zones:  []string{"example.com."},
		Static: []string{"static.example."},
		Keys:   []string{key, "other"},
		Policy: `grant "{key}" name _vlmcs._tcp.{zone} SRV;`,
	})
	ctx := context.Background()
	desired := rec("kms1.example.com.", 0, 0)
	wrongSecret, _ := rfc2136.NewKey(key, srv.Algorithm, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==")
	unknownKey, _ := rfc2136.NewKey("nobody", srv.Algorithm, srv.Secrets[key])
	goodKey, _ := rfc2136.NewKey(key, srv.Algorithm, srv.Secrets[key])

	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	// A port nothing listens on.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name   string
		zone   string
		server string
		key    *rfc2136.Key
		read   bool // the read fails (else the update)
		want   []string
		is     error
	}{
		{"wrong secret", "example.com.", srv.Addr, wrongSecret, true,
			[]string{"not authorized", "BADSIG", "srvctl-test.", srv.Addr, "example.com."}, rfc2136.ErrNotAuthorized},
		{"unknown key", "example.com.", srv.Addr, unknownKey, true,
			[]string{"not authorized", "BADKEY", "nobody."}, rfc2136.ErrNotAuthorized},
		{"zone not served", "elsewhere.example.", srv.Addr, goodKey, true,
			[]string{"not authoritative", "elsewhere.example."}, rfc2136.ErrNotAuthoritative},
		{"name inside a zone, not a zone", "sub.example.com.", srv.Addr, goodKey, true,
			[]string{"not authoritative", "inside zone example.com."}, rfc2136.ErrNotAuthoritative},
		{"update not granted", "static.example.", srv.Addr, goodKey, false,
			[]string{"not authorized", "REFUSED", "update-policy"}, rfc2136.ErrNotAuthorized},
		{"server never answers", "example.com.", silent.Addr().String(), goodKey, true,
			[]string{"timeout", "no answer within 300ms", silent.Addr().String()}, nil},
		{"server down", "example.com.", closedAddr, goodKey, true,
			[]string{"connection refused", closedAddr}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := rfc2136.New(rfc2136.Options{
				Zones:   map[string]rfc2136.Zone{tt.zone: {Server: tt.server, Key: tt.key}},
				Timeout: 300 * time.Millisecond,
			})
			defer b.Close()
			z := zone(tt.zone, desired)
			cur, err := b.Current(ctx, z)
			if !tt.read {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				p := zones.Diff(z, cur, zones.Policy{Prune: zones.PruneNone})
				err = b.Apply(ctx, &p)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			var re *rfc2136.Error
			if !errors.As(err, &re) || re.Zone != tt.zone || re.Server != tt.server {
				t.Errorf("error %#v does not carry zone and server", err)
			}
			if strings.Contains(err.Error(), srv.Secrets[key]) {
				t.Error("error shows the secret")
			}
		})
	}
}

// TestIdleConnectionsClosedByServer: named closes idle TCP connections
// (tcp-idle-timeout, 0.5 s here; 30 s by default). A backend that sat idle
// longer than that, with a pool full of dead connections, must still read
// every zone: srvctl run keeps one backend from run to run.
func TestIdleConnectionsClosedByServer(t *testing.T) {
	names := make([]string, 8)
	for i := range names {
		names[i] = fmt.Sprintf("idle%d.example.", i)
	}
	srv := bindtest.Start(t, bindtest.Options{Zones: names, Options: []string{"tcp-idle-timeout 5;"}})
	k, err := rfc2136.NewKey(key, srv.Algorithm, srv.Secrets[key])
	if err != nil {
		t.Fatal(err)
	}
	zc := make(map[string]rfc2136.Zone)
	for _, n := range names {
		zc[n] = rfc2136.Zone{Server: srv.Addr, Key: k}
	}
	b := rfc2136.New(rfc2136.Options{Zones: zc, MaxIdle: 4, Timeout: 3 * time.Second})
	defer b.Close()
	readAll := func(round int) {
		var wg sync.WaitGroup
		errs := make(chan error, len(names))
		for _, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := b.Current(context.Background(), zone(n)); err != nil {
					errs <- fmt.Errorf("round %d: %w", round, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	readAll(0) // fills the pool
	for round := 1; round <= 2; round++ {
		time.Sleep(1500 * time.Millisecond) // longer than named's idle timeout
		readAll(round)
	}
}
