package bindtest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// rrStrings renders RRs as zone-file lines, for cmp.Diff.
func rrStrings[T dns.RR](rrs []T) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	return out
}

func TestStartServesZonesAndRecords(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := Start(t, Options{
		Zones:   []string{"a.example.", "b.example"},
		Records: map[string][]string{"a.example": {"www.a.example. 300 IN A 192.0.2.1"}},
	})
	t.Logf("named with 2 zones ready on %s in %v", s.Addr, time.Since(start).Round(time.Millisecond))

	if s.Addr != fmt.Sprintf("127.0.0.1:%d", s.Port) {
		t.Errorf("Addr %q, Port %d", s.Addr, s.Port)
	}
	for _, z := range []string{"a.example.", "b.example"} {
		got, err := s.SRV(z)
		if err != nil {
			t.Fatalf("SRV(%s): %v", z, err)
		}
		if len(got) != 0 {
			t.Errorf("SRV(%s) of a new zone: %v, want none", z, got)
		}
		if serial, err := s.Serial(z); err != nil || serial != 1 {
			t.Errorf("Serial(%s) = %d, %v; want 1", z, serial, err)
		}
	}
	m, err := s.Query("www.a.example", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"www.a.example.\t300\tIN\tA\t192.0.2.1"}, rrStrings(m.Answer)); diff != "" || !m.Authoritative {
		t.Errorf("preloaded record (aa %v), -want +got:\n%s", m.Authoritative, diff)
	}
}

func TestNSUpdateAddsSRV(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Zones: []string{"corp.example."}})
	err := s.NSUpdate(DefaultKey, strings.Join([]string{
		"update add _vlmcs._tcp.corp.example. 60 IN SRV 10 0 1688 kms2.corp.example.",
		"update add _vlmcs._tcp.corp.example. 60 IN SRV 0 100 1688 kms1.corp.example.",
	}, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SRV("corp.example")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ // sorted by priority
		"_vlmcs._tcp.corp.example.\t60\tIN\tSRV\t0 100 1688 kms1.corp.example.",
		"_vlmcs._tcp.corp.example.\t60\tIN\tSRV\t10 0 1688 kms2.corp.example.",
	}
	if diff := cmp.Diff(want, rrStrings(got)); diff != "" {
		t.Errorf("SRV after nsupdate, -want +got:\n%s", diff)
	}
	if serial, err := s.Serial("corp.example."); err != nil || serial != 2 {
		t.Errorf("Serial = %d, %v; want 2", serial, err)
	}
}

func TestNSUpdateRefused(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{
		Zones: []string{"corp.example."},
		Keys:  []string{"srvctl-test", "outsider"},
		// Only srvctl-test is granted; outsider is a key named knows.
		Policy: `grant "srvctl-test" name _vlmcs._tcp.{zone} SRV;`,
		Static: []string{"static.example."},
	})
	for _, tc := range []struct {
		name, key, owner, rr string
	}{
		{"key not in the policy", "outsider", "_vlmcs._tcp.corp.example.", "SRV 0 0 1688 kms.example."},
		{"another name", "srvctl-test", "_kerberos._tcp.corp.example.", "SRV 0 0 88 dc.example."},
		{"another type", "srvctl-test", "_vlmcs._tcp.corp.example.", `TXT "hello"`},
		{"static zone", "srvctl-test", "_vlmcs._tcp.static.example.", "SRV 0 0 1688 kms.example."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.NSUpdate(tc.key, fmt.Sprintf("update add %s 60 IN %s", tc.owner, tc.rr))
			if err == nil {
				t.Fatalf("update accepted")
			}
			if !strings.Contains(err.Error(), "REFUSED") {
				t.Errorf("error does not say REFUSED: %v", err)
			}
			m, err := s.Query(tc.owner, dns.TypeANY)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Answer) != 0 {
				t.Errorf("refused update left records: %v", m.Answer)
			}
		})
	}
	if err := s.NSUpdate("srvctl-test", "update add _vlmcs._tcp.corp.example. 60 IN SRV 0 0 1688 kms.example."); err != nil {
		t.Errorf("the granted key: %v", err)
	}
	if err := s.NSUpdate("nobody", "update add _vlmcs._tcp.corp.example. 60 IN SRV 0 0 1688 kms.example."); err == nil {
		t.Error("NSUpdate with an unknown key succeeded")
	}
}

// TestTwoServers starts two instances at once: each gets its own port and
// serves only its own zones.
func TestTwoServers(t *testing.T) {
	t.Parallel()
	RequireNamed(t)
	zones := []string{"one.example.", "two.example."}
	servers := make([]*Server, len(zones))
	errs := make([]error, len(zones))
	var wg sync.WaitGroup
	for i, z := range zones {
		wg.Go(func() { servers[i], errs[i] = Launch(Options{Zones: []string{z}}) })
	}
	wg.Wait()
	for _, s := range servers {
		if s != nil {
			t.Cleanup(func() {
				if err := s.Stop(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if servers[0].Port == servers[1].Port {
		t.Fatalf("both on port %d", servers[0].Port)
	}
	for i, s := range servers {
		for j, z := range zones {
			m, err := s.Query(z, dns.TypeSOA)
			if err != nil {
				t.Fatal(err)
			}
			want := dns.RcodeRefused
			if i == j {
				want = dns.RcodeSuccess
			}
			if m.Rcode != want {
				t.Errorf("server %d (%s), SOA %s: %s, want %s", i, s.Addr, z, dns.RcodeToString[m.Rcode], dns.RcodeToString[want])
			}
		}
	}
}

func TestStopIsIdempotent(t *testing.T) {
	t.Parallel()
	RequireNamed(t)
	s, err := Launch(Options{Zones: []string{"stop.example."}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("first Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Launch's directory %s after Stop: %v", s.Dir, err)
	}
	if m, err := s.Query("stop.example.", dns.TypeSOA); err == nil {
		t.Errorf("named still answers after Stop: %v", m)
	}
}

func TestKeyFile(t *testing.T) {
	t.Parallel()
	// tsig-keygen's output format.
	keyRE := regexp.MustCompile(`^key "([^"]+)" \{\n\talgorithm ([a-z0-9-]+);\n\tsecret "([A-Za-z0-9+/=]+)";\n\};\n$`)
	s := Start(t, Options{
		Zones:     []string{"corp.example."},
		Keys:      []string{"srvctl-test", "kms1.corp.example."},
		Algorithm: "hmac-sha512",
	})
	for _, key := range []string{"srvctl-test", "kms1.corp.example"} {
		path := s.KeyFile(key)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := keyRE.FindStringSubmatch(string(data))
		if m == nil {
			t.Fatalf("%s is not in tsig-keygen format:\n%s", path, data)
		}
		if diff := cmp.Diff([]string{key, "hmac-sha512", s.Secrets[key]}, m[1:]); diff != "" {
			t.Errorf("%s: name, algorithm, secret -want +got:\n%s", path, diff)
		}
		if raw, err := base64.StdEncoding.DecodeString(m[3]); err != nil || len(raw) != 32 {
			t.Errorf("%s: secret of %d bytes (%v), want 32", path, len(raw), err)
		}
		// nsupdate -k reads the file: the key works.
		if err := s.NSUpdate(key, "update add _vlmcs._tcp.corp.example. 60 IN SRV 0 0 1688 "+key+"."); err != nil {
			t.Errorf("nsupdate with %s: %v", path, err)
		}
	}
	if s.Algorithm != "hmac-sha512" {
		t.Errorf("Algorithm %q", s.Algorithm)
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	t.Parallel()
	RequireNamed(t)
	s, err := Launch(Options{
		Zones:   []string{"broken.example."},
		Records: map[string][]string{"broken.example.": {"www.broken.example. 300 IN A not-an-address"}},
	})
	if err == nil {
		s.Stop()
		t.Fatal("Launch with a broken zone file succeeded")
	}
	for _, want := range []string{"did not load", "named.log", "broken.example"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestOptionsRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"zone with a space", Options{Zones: []string{"bad zone.example."}}},
		{"zone with a quote", Options{Zones: []string{`x";.example.`}}},
		{"empty label", Options{Zones: []string{"a..example."}}},
		{"empty zone", Options{Zones: []string{""}}},
		{"zone twice", Options{Zones: []string{"a.example"}, Static: []string{"A.example."}}},
		{"key with a brace", Options{Keys: []string{"k}"}}},
		{"key twice", Options{Keys: []string{"k", "k."}}},
		{"unknown algorithm", Options{Algorithm: "hmac-sha3"}},
		{"records of an unknown zone", Options{Zones: []string{"a.example."}, Records: map[string][]string{"b.example.": {"b.example. 1 IN A 192.0.2.1"}}}},
		{"record with a newline", Options{Zones: []string{"a.example."}, Records: map[string][]string{"a.example.": {"a.example. 1 IN A 192.0.2.1\n$INCLUDE /etc/passwd"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := newLayout(tc.opts, dir); err == nil {
				t.Errorf("newLayout(%+v) accepted", tc.opts)
			}
		})
	}
}

// TestManyZones is the benchmarks' set-up: 5,000 dynamic zones.
func TestManyZones(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 zones: skipped in -short mode")
	}
	t.Parallel()
	zones := make([]string, 5000)
	for i := range zones {
		zones[i] = fmt.Sprintf("z%05d.bench.example.", i)
	}
	start := time.Now()
	s := Start(t, Options{Zones: zones})
	t.Logf("named with %d zones ready in %v", len(zones), time.Since(start).Round(time.Millisecond))
	for _, z := range []string{zones[0], zones[len(zones)/2], zones[len(zones)-1]} {
		if _, err := s.Serial(z); err != nil {
			t.Error(err)
		}
	}
}
