package ad

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// The node DN srvctl builds and the same DN as a server may write it
// (every byte of the name hex-escaped, attribute types and the zone in
// another case) have the same key, so a subtree search's entries are
// matched to the nodes asked for; other names have other keys.
func FuzzNodeDNKey(f *testing.F) {
	for _, s := range []string{"_vlmcs._tcp", "@", "a,b", "#x", " lead", "trail ", `q"u+o;t<e>s\`, "x=y", "nul\x00", "ünï", "_VLMCS._tcp"} {
		f.Add(s)
	}
	const zoneDN = "DC=corp.example,CN=MicrosoftDNS,DC=DomainDnsZones,DC=corp,DC=example"
	f.Fuzz(func(t *testing.T, rel string) {
		if rel == "" || !utf8.ValidString(rel) {
			return
		}
		dn := nodeDN(rel, zoneDN)
		var hex strings.Builder
		for _, b := range []byte(rel) {
			fmt.Fprintf(&hex, `\%02X`, b)
		}
		if a, b := dnKey(dn), dnKey("dc="+hex.String()+","+strings.ToLower(zoneDN)); a != b {
			t.Errorf("dnKey(%q) = %q, dnKey of its hex-escaped form %q", dn, a, b)
		}
		if other := nodeDN(rel+"x", zoneDN); dnKey(other) == dnKey(dn) {
			t.Errorf("%q and %q have the same key", dn, other)
		}
	})
}
