package probe

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// TestCombine makes one verdict of an A and an AAAA answer, for the cases
// named cannot be made to answer.
func TestCombine(t *testing.T) {
	const resolver = "192.0.2.53:53"
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	a := func(rcode int, addrs ...netip.Addr) answer {
		return answer{qtype: dns.TypeA, rcode: rcode, addrs: addrs}
	}
	aaaa := func(rcode int, addrs ...netip.Addr) answer {
		return answer{qtype: dns.TypeAAAA, rcode: rcode, addrs: addrs}
	}
	timeout := answer{qtype: dns.TypeAAAA, err: errors.New("no answer within 3s")}
	tests := []struct {
		name    string
		answers []answer
		want    resolution
	}{
		{"both", []answer{a(0, v4), aaaa(0, v6)}, resolution{status: ResolveOK, addrs: []netip.Addr{v4, v6}}},
		{"duplicates and order", []answer{a(0, netip.MustParseAddr("192.0.2.9"), v4, v4), aaaa(0)},
			resolution{status: ResolveOK, addrs: []netip.Addr{v4, netip.MustParseAddr("192.0.2.9")}}},
		{"A only, AAAA times out", []answer{a(0, v4), timeout},
			resolution{status: ResolveOK, addrs: []netip.Addr{v4},
				detail: "the other query succeeded, but AAAA query to 192.0.2.53:53: no answer within 3s"}},
		{"A only, AAAA SERVFAIL", []answer{a(0, v4), aaaa(dns.RcodeServerFailure)},
			resolution{status: ResolveOK, addrs: []netip.Addr{v4},
				detail: "the other query succeeded, but AAAA query to 192.0.2.53:53: SERVFAIL"}},
		{"SERVFAIL and NOERROR without addresses", []answer{a(dns.RcodeServerFailure), aaaa(0)},
			resolution{status: ResolveError, detail: "A query to 192.0.2.53:53: SERVFAIL"}},
		{"unknown rcode", []answer{a(12), aaaa(12)},
			resolution{status: ResolveError, detail: "A query to 192.0.2.53:53: rcode 12; AAAA query to 192.0.2.53:53: rcode 12"}},
		{"NXDOMAIN and a timeout", []answer{a(dns.RcodeNameError), timeout}, resolution{status: ResolveNXDomain}},
		{"alias in one answer", []answer{a(0), {qtype: dns.TypeAAAA, alias: "x.example.com."}},
			resolution{status: ResolveCNAME, alias: "x.example.com."}},
		{"no addresses", []answer{a(0), aaaa(0)}, resolution{status: ResolveNoAddress}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := combine(resolver, tt.answers...)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(resolution{}), compare); diff != "" {
				t.Errorf("combine (-want +got):\n%s", diff)
			}
		})
	}
}
