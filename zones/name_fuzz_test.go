package zones_test

import (
	"strings"
	"testing"

	"github.com/srvctl/srvctl/zones"
)

// FuzzCheckHostname checks that CheckHostname never panics and that every
// name it accepts is safe to write unquoted into a zone file or named.conf:
// only letters, digits, hyphens and dots; no empty label; labels of at most
// 63 and names of at most 253 characters; and that its canonical form is
// the same name, and accepted too.
func FuzzCheckHostname(f *testing.F) {
	for _, s := range []string{
		"kms1.corp.example.com", "KMS1.Corp.Example.COM.", "a.b", "a", ".", "", "a..b", "-a.b", "a-.b",
		"a.b.", "a.b..", "_vlmcs._tcp.example.com", "xn--bcher-kva.example", "1.2.3.4",
		strings.Repeat("a", 63) + ".b", strings.Repeat("a", 64) + ".b",
		strings.Repeat("a.", 126) + "b", "kms1.example.com. IN A 1.2.3.4", "k\x00s.example", "kms\n.example.com",
		"ünï.example", " a.b", "a.b ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if zones.CheckHostname(name) != nil {
			return
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				t.Fatalf("accepted %q, which contains %q", name, c)
			}
		}
		n := strings.TrimSuffix(name, ".")
		if len(n) > 253 {
			t.Fatalf("accepted %q, %d characters long", name, len(n))
		}
		for _, l := range strings.Split(n, ".") {
			if l == "" || len(l) > 63 {
				t.Fatalf("accepted %q, which has a label of %d characters", name, len(l))
			}
		}
		c := zones.Canonical(name)
		if c != strings.ToLower(n)+"." {
			t.Fatalf("Canonical(%q) = %q, want %q", name, c, strings.ToLower(n)+".")
		}
		if err := zones.CheckHostname(c); err != nil {
			t.Fatalf("accepted %q but not its canonical form %q: %v", name, c, err)
		}
		if cc := zones.Canonical(c); cc != c {
			t.Fatalf("Canonical is not idempotent: %q → %q → %q", name, c, cc)
		}
	})
}
