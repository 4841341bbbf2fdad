package bindtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// needNamed skips a test that calls Launch or launch without named, like
// Start does.

// TestSameZoneTwoServers starts two servers at once that serve the same zone
// with different records: asked over many fresh connections (which
// SO_REUSEPORT would spread over both if they shared a port), each answers
// with its own data only.
func TestSameZoneTwoServers(t *testing.T) {
	t.Parallel()
	RequireNamed(t)
	var (
		servers [2]*Server
		errs    [2]error
		wg      sync.WaitGroup
	)
	for i := range servers {
		wg.Go(func() {
			servers[i], errs[i] = Launch(Options{
				Zones:   []string{"example.com."},
				Records: map[string][]string{"example.com.": {fmt.Sprintf("who.example.com. 60 IN TXT server%d", i)}},
			})
		})
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
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	if servers[0].Port == servers[1].Port {
		t.Fatalf("both servers on port %d", servers[0].Port)
	}
	for i, s := range servers {
		for range 10 {
			m, err := s.Query("who.example.com.", dns.TypeTXT)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Answer) != 1 || m.Answer[0].(*dns.TXT).Txt[0] != fmt.Sprintf("server%d", i) {
				t.Fatalf("server %d answers %v", i, m.Answer)
			}
		}
	}
}

// TestConcurrentStop calls Stop from several goroutines: all wait for
// named to exit and all return nil.
func TestConcurrentStop(t *testing.T) {
	t.Parallel()
	RequireNamed(t)
	s, err := Launch(Options{Zones: []string{"example.com."}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := s.Stop(); err != nil {
				t.Error(err)
			}
			if !s.proc.exited() {
				t.Error("Stop returned before named exited")
			}
		})
	}
	wg.Wait()
}

// TestStopAfterCrash: Stop reports a named that died on its own.
func TestStopAfterCrash(t *testing.T) {
	t.Parallel()
	RequireNamed(t)
	s, err := Launch(Options{Zones: []string{"example.com."}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.proc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.proc.done
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "exited before Stop") {
		t.Errorf("Stop after named died = %v, want an error saying so", err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Launch's directory is still there after Stop: %v", err)
	}
}

// TestPortTaken starts named on ports it must not accept: one another
// named serves (named binds with SO_REUSEPORT and would run, sharing the
// queries; the sentinel check must notice), and one a plain socket holds
// (named cannot bind it).
func TestPortTaken(t *testing.T) {
	t.Parallel()
	first := Start(t, Options{Zones: []string{"example.com."}})
	named := RequireNamed(t)
	cfg, err := newLayout(Options{Zones: []string{"example.com."}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.writeFiles(map[string]string{}); err != nil {
		t.Fatal(err)
	}

	p, err := startNamed(cfg, named, first.Port, time.Now().Add(20*time.Second))
	if err == nil {
		p.stop()
		t.Fatal("a second named on the same port passed the readiness check")
	}
	if !errors.Is(err, errPortTaken) {
		t.Errorf("startNamed on a port another named serves = %v, want errPortTaken", err)
	}
	if _, err := first.Serial("example.com."); err != nil {
		t.Errorf("the first named suffered: %v", err)
	}

	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	p, err = startNamed(cfg, named, u.LocalAddr().(*net.UDPAddr).Port, time.Now().Add(20*time.Second))
	if err == nil {
		p.stop()
		t.Fatal("named started on a port held by another socket")
	}
	if !errors.Is(err, errPortTaken) {
		t.Errorf("startNamed on a held port = %v, want errPortTaken", err)
	}
}

// TestCopiedBinary runs a copy of named, what launch falls back to when
// AppArmor keeps /usr/sbin/named out of the temporary directory.
func TestCopiedBinary(t *testing.T) {
	t.Parallel()
	named := RequireNamed(t)
	dir := t.TempDir()
	copied, err := copyBinary(named, filepath.Join(dir, "named"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := launch(Options{Zones: []string{"example.com."}}, dir, copied)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, err := s.Serial("example.com."); err != nil {
		t.Error(err)
	}
}

// TestSharedZoneFile checks that the hard-linked zone files stay apart:
// named keeps updates in the zone's journal and dumps a zone to a new file
// renamed over the old one (checked by hand with rndc sync), never writing
// the shared file.
func TestSharedZoneFile(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Zones: []string{"a.example.", "b.example."}})
	if err := s.NSUpdate(DefaultKey, "update add _vlmcs._tcp.a.example. 60 IN SRV 0 0 1688 kms.a.example."); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	var tmpl strings.Builder
	writeZone(&tmpl, nil)
	for _, name := range []string{"template", "db.a.example", "db.b.example"} {
		data, err := os.ReadFile(filepath.Join(s.Dir, "zones", name))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tmpl.String(), string(data)); diff != "" {
			t.Errorf("%s changed (-want +got):\n%s", name, diff)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "zones", "db.a.example.jnl")); err != nil {
		t.Errorf("no journal for the updated zone: %v", err)
	}
}

// TestStartupTimes logs how long start-up takes for a few zones, to compare
// with TestManyZones.
func TestStartupTimes(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3, 100} {
		zones := make([]string, n)
		for i := range zones {
			zones[i] = fmt.Sprintf("z%d.example.", i)
		}
		start := time.Now()
		s := Start(t, Options{Zones: zones})
		t.Logf("named with %d zones ready in %v", n, time.Since(start).Round(time.Millisecond))
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	}
}
