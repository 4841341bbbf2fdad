package rfc2136_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/publisher/rfc2136"
	"github.com/srvctl/srvctl/zones"
)

// BenchmarkCurrent reads the RRset of 1,000 zones with 16 workers, as a
// no-change plan does; ns/op is per zone.
func BenchmarkCurrent(b *testing.B) {
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("z%04d.bench.", i)
	}
	srv := bindtest.Start(b, bindtest.Options{Zones: names})
	k, err := rfc2136.NewKey(key, srv.Algorithm, srv.Secrets[key])
	if err != nil {
		b.Fatal(err)
	}
	zc := make(map[string]rfc2136.Zone)
	for _, n := range names {
		zc[n] = rfc2136.Zone{Server: srv.Addr, Key: k}
	}
	be := rfc2136.New(rfc2136.Options{Zones: zc, MaxIdle: 16})
	defer be.Close()
	b.ResetTimer()
	next := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := be.Current(context.Background(), zone(names[i%len(names)])); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "zones/s")
}

var _ = zones.Canonical
