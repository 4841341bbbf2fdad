package probe

import (
	"context"
	"testing"

	"github.com/srvctl/srvctl/internal/kmstest"
)

// BenchmarkProbe probes 3 KMS hosts named 5,000 times each (as when every
// zone of a large site lists the same hosts): each iteration is one Probe
// call that resolves 3 names and sends 3 binds.
func BenchmarkProbe(b *testing.B) {
	resolver := startNamed(b)
	const names = 5000
	hosts := []string{"kms.probe.test.", "kms2.probe.test.", "kms3.probe.test."}
	servers := make([]*kmstest.Server, len(hosts))
	var distinct, targets []Target
	for i, h := range hosts {
		servers[i] = kmstest.Start(b)
		distinct = append(distinct, Target{h, servers[i].Port})
	}
	for range names {
		targets = append(targets, distinct...)
	}
	p := newProber(b, Options{Resolver: resolver})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		got := p.Probe(ctx, targets)
		if len(got) != len(distinct) {
			b.Fatalf("%d results, want %d", len(got), len(distinct))
		}
		for _, tg := range distinct {
			if !got[tg].Live {
				b.Fatalf("%s: %s", tg, got[tg].Reason())
			}
		}
	}
	b.StopTimer()
	for i, s := range servers {
		if s.Binds() != int64(b.N) {
			b.Errorf("%s: %d binds in %d iterations, want one per iteration", distinct[i], s.Binds(), b.N)
		}
	}
}
