package bindtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestConfAndRndc serves a caller-written static zone that $INCLUDEs a
// fragment, changes the fragment and reloads the zone through rndc.
func TestConfAndRndc(t *testing.T) {
	dir := t.TempDir()
	frag := filepath.Join(dir, "frag")
	zoneFile := filepath.Join(dir, "db.lab.test")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(frag, "_vlmcs._tcp.lab.test. 60 IN SRV 0 0 1688 kms1.lab.test.\n")
	zone := func(serial int) string {
		return fmt.Sprintf("$TTL 300\n@ IN SOA ns hostmaster %d 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n$INCLUDE %q\n", serial, frag)
	}
	write(zoneFile, zone(1))
	s := Start(t, Options{
		Rndc: true,
		Conf: []string{fmt.Sprintf("zone \"lab.test\" {\n\ttype primary;\n\tfile %q;\n};", zoneFile)},
	})
	if s.RndcConf == "" {
		t.Fatal("RndcConf is empty with Options.Rndc set")
	}
	targets := func() []string {
		t.Helper()
		m, err := s.Query("_vlmcs._tcp.lab.test", dns.TypeSRV)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, rr := range m.Answer {
			if srv, ok := rr.(*dns.SRV); ok {
				got = append(got, srv.Target)
			}
		}
		return got
	}
	if got := targets(); len(got) != 1 || got[0] != "kms1.lab.test." {
		t.Fatalf("before reload: targets %v, want [kms1.lab.test.]", got)
	}
	write(frag, "_vlmcs._tcp.lab.test. 60 IN SRV 0 0 1688 kms2.lab.test.\n")
	write(zoneFile, zone(2))
	if out, err := s.Rndc("reload", "lab.test"); err != nil || !strings.Contains(out, "reload") {
		t.Fatalf("rndc reload: %q, %v", out, err)
	}
	if got := targets(); len(got) != 1 || got[0] != "kms2.lab.test." {
		t.Fatalf("after reload: targets %v, want [kms2.lab.test.]", got)
	}
	if serial, err := s.Serial("lab.test"); err != nil || serial != 2 {
		t.Fatalf("serial after reload: %d, %v; want 2", serial, err)
	}

	off := Start(t, Options{})
	if _, err := off.Rndc("status"); err == nil {
		t.Fatal("Rndc without Options.Rndc: no error")
	}
}
