package dnsview

import (
	"fmt"
	"testing"
	"time"

	"github.com/srvctl/srvctl/internal/bindtest"
)

// benchZones is the number of zones of BenchmarkView, as in `make bench`.
const benchZones = 5000

// BenchmarkView audits 5,000 zones on one real named: each zone's one
// server configured (two queries per zone), and found through NS records
// (NS, A and AAAA through the resolver, then the two queries). It reports
// zones/s; every zone must come back with one ok server and no finding.
func BenchmarkView(b *testing.B) {
	names := make([]string, benchZones)
	for i := range names {
		names[i] = fmt.Sprintf("z%05d.bench.test", i)
	}
	s := bindtest.Start(b, bindtest.Options{Zones: names})
	v, err := New(Options{Resolver: s.Addr, Port: uint16(s.Port)})
	if err != nil {
		b.Fatal(err)
	}
	configured := make([]Query, len(names))
	discovered := make([]Query, len(names))
	for i, n := range names {
		configured[i] = Query{Zone: n, Servers: []string{s.Addr}}
		discovered[i] = Query{Zone: n}
	}
	for _, bc := range []struct {
		name string
		qs   []Query
	}{
		{"configured", configured},
		{"discovered", discovered},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var zs []Zone
			start := time.Now()
			n := 0
			for b.Loop() {
				zs = v.View(b.Context(), bc.qs)
				n++
			}
			b.ReportMetric(float64(n*len(bc.qs))/time.Since(start).Seconds(), "zones/s")
			for _, z := range zs {
				if z.Err != "" || len(z.Findings) > 0 || len(z.Servers) != 1 || z.Servers[0].Status != StatusOK {
					b.Fatalf("zone %s: %+v", z.Zone, z)
				}
			}
		})
	}
}
