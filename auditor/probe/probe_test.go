package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/kmstest"
)

// zone is the zone the test named serves; its names resolve to loopback
// addresses where the tests' peers listen, each on its own port.
const zone = "probe.test."

// zoneRecords are the names of zone, in zone-file syntax.
var zoneRecords = func() []string {
	rrs := []string{
		"kms.probe.test. 300 IN A 127.0.0.1",
		"kms2.probe.test. 300 IN A 127.0.0.1",
		"kms3.probe.test. 300 IN A 127.0.0.1",
		"dual.probe.test. 300 IN A 127.0.0.1",
		"dual.probe.test. 300 IN A 127.0.0.2",
		"v6.probe.test. 300 IN A 127.0.0.1",
		"v6.probe.test. 300 IN AAAA ::1",
		"alias.probe.test. 300 IN CNAME kms.probe.test.",
		"txt.probe.test. 300 IN TXT \"a name without an address\"",
	}
	// More A records than fit in a 1232-octet UDP answer: asked again
	// over TCP.
	for i := 1; i <= 100; i++ {
		rrs = append(rrs, fmt.Sprintf("big.probe.test. 300 IN A 127.0.1.%d", i))
	}
	return rrs
}()

// startNamed serves zone on loopback and returns its address.
func startNamed(t testing.TB) string {
	t.Helper()
	srv := bindtest.Start(t, bindtest.Options{
		Static:  []string{zone},
		Records: map[string][]string{zone: zoneRecords},
	})
	return srv.Addr
}

// compare compares results but their latency, which varies.
var compare = cmp.Options{ignoreLatency, cmpopts.EquateEmpty()}

func newProber(t testing.TB, o Options) *Prober {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// checkLatency checks that every probed address has a latency.
func checkLatency(t *testing.T, results map[Target]Result) {
	t.Helper()
	for tg, r := range results {
		for _, a := range r.Addrs {
			if a.Status != StatusUnprobed && a.Status != StatusCanceled && a.Latency <= 0 {
				t.Errorf("%s %s: latency %v, want > 0", tg, a.Addr, a.Latency)
			}
			if a.Status == StatusUnprobed && a.Latency != 0 {
				t.Errorf("%s %s: unprobed with latency %v", tg, a.Addr, a.Latency)
			}
		}
	}
}

// TestProbe probes targets through a real named and real peers.
func TestProbe(t *testing.T) {
	resolver := startNamed(t)
	ctx := context.Background()

	t.Run("one probe per target however often it is named", func(t *testing.T) {
		kms := kmstest.Start(t)
		p := newProber(t, Options{Resolver: resolver})
		a := Target{"kms.probe.test.", kms.Port}
		b := Target{"kms2.probe.test.", kms.Port} // another name, the same address
		got := p.Probe(ctx, []Target{a, a, b, a, b})
		live := []AddrResult{{Addr: addr("127.0.0.1"), Status: StatusKMS}}
		want := map[Target]Result{
			a: {Target: a, Mode: ModeKMS, Resolve: ResolveOK, Addrs: live, Live: true, Probed: true},
			b: {Target: b, Mode: ModeKMS, Resolve: ResolveOK, Addrs: live, Live: true, Probed: true},
		}
		if diff := cmp.Diff(want, got, compare); diff != "" {
			t.Errorf("Probe (-want +got):\n%s", diff)
		}
		checkLatency(t, got)
		if n := kms.Binds(); n != 1 {
			t.Errorf("the KMS host answered %d binds, want 1", n)
		}
		if n := kms.Requests(); n != 0 {
			t.Errorf("the KMS host received %d requests, want 0", n)
		}
		if r := got[a]; r.Failed() || r.Reason() != fmt.Sprintf("KMS host answers on %d at 127.0.0.1", kms.Port) {
			t.Errorf("Failed() = %v, Reason() = %q", r.Failed(), r.Reason())
		}
	})

	t.Run("every kind of peer", func(t *testing.T) {
		le := byteOrder(binary.LittleEndian)
		peers := []struct {
			name       string
			port       uint16
			wantStatus Status
			wantReason string // %d is the port
		}{
			{"KMS host", kmstest.Start(t).Port, StatusKMS, "KMS host answers on %d at 127.0.0.1"},
			{"closed port", closedPort(t).Port(), StatusRefused, "no answer on %d (1 address: 127.0.0.1 refused)"},
			{"HTTP server", localPeer(t, httpServer).addr.Port(), StatusNotKMS,
				`port %d open but not a KMS host: not DCE/RPC, starts with "HTTP/1.1 400 Bad Request"`},
			{"SSH server", localPeer(t, banner("SSH-2.0-OpenSSH_9.6\r\n")).addr.Port(), StatusNotKMS,
				`port %d open but not a KMS host: not DCE/RPC, starts with "SSH-2.0-OpenSSH_9.6"`},
			{"bind_nak", localPeer(t, rpcServer(func(b []byte) []byte { return bindNak(callID(b), 2) })).addr.Port(), StatusNotKMS,
				"port %d open but not a KMS host: bind_nak reason 2 (local limit exceeded)"},
			{"rejecting bind_ack", localPeer(t, rpcServer(func(b []byte) []byte { return bindAck(le, callID(b), 2, 1) })).addr.Port(), StatusNotKMS,
				"port %d open but not a KMS host: bind_ack rejected: provider rejection, abstract syntax not supported"},
			// Last: probed with a short timeout.
			{"never replies", localPeer(t, silent).addr.Port(), StatusTimeout, "no answer on %d (1 address: 127.0.0.1 timeout)"},
		}
		var targets []Target
		for _, pr := range peers {
			targets = append(targets, Target{"kms.probe.test.", pr.port})
		}
		// The peer that never replies gets a prober with a short timeout (1 s,
		// which its DNS queries to named on loopback have too);
		// the others answer at once, and get a long one.
		got := newProber(t, Options{Resolver: resolver, Timeout: 10 * time.Second}).Probe(ctx, targets[:len(targets)-1])
		maps.Copy(got, newProber(t, Options{Resolver: resolver, Timeout: time.Second}).Probe(ctx, targets[len(targets)-1:]))
		checkLatency(t, got)
		for i, pr := range peers {
			r := got[targets[i]]
			if len(r.Addrs) != 1 || r.Addrs[0].Status != pr.wantStatus {
				t.Errorf("%s: addresses %v, want one with status %s", pr.name, r.Addrs, pr.wantStatus)
			}
			if want := fmt.Sprintf(pr.wantReason, pr.port); r.Reason() != want {
				t.Errorf("%s: Reason() = %q, want %q", pr.name, r.Reason(), want)
			}
			if wantLive := pr.wantStatus == StatusKMS; r.Live != wantLive || r.Failed() == wantLive {
				t.Errorf("%s: Live %v, Failed() %v; want live %v", pr.name, r.Live, r.Failed(), wantLive)
			}
		}
	})

	t.Run("two addresses, one dead, one live", func(t *testing.T) {
		kms := kmstest.Start(t) // on 127.0.0.1 only: 127.0.0.2 refuses
		tg := Target{"dual.probe.test.", kms.Port}
		got := newProber(t, Options{Resolver: resolver}).Probe(ctx, []Target{tg})
		want := Result{
			Target: tg, Mode: ModeKMS, Resolve: ResolveOK, Live: true, Probed: true,
			Addrs: []AddrResult{
				{Addr: addr("127.0.0.1"), Status: StatusKMS},
				{Addr: addr("127.0.0.2"), Status: StatusRefused, Detail: "connection refused"},
			},
		}
		if diff := cmp.Diff(want, got[tg], compare); diff != "" {
			t.Errorf("Probe (-want +got):\n%s", diff)
		}
		if want := fmt.Sprintf("KMS host answers on %d at 127.0.0.1; not at 127.0.0.2 refused", kms.Port); got[tg].Reason() != want {
			t.Errorf("Reason() = %q, want %q", got[tg].Reason(), want)
		}
	})

	t.Run("IPv4 and IPv6", func(t *testing.T) {
		kms := kmstest.Start(t)
		kms6, err := kmstest.Listen(net.JoinHostPort("::1", fmt.Sprint(kms.Port)))
		if err != nil {
			t.Skipf("SKIPPED: no KMS responder on [::1]:%d (no IPv6 loopback here, or the port is taken): %v", kms.Port, err)
		}
		t.Cleanup(func() { kms6.Close() })
		tg := Target{"v6.probe.test.", kms.Port}
		got := newProber(t, Options{Resolver: resolver}).Probe(ctx, []Target{tg})
		want := Result{
			Target: tg, Mode: ModeKMS, Resolve: ResolveOK, Live: true, Probed: true,
			Addrs: []AddrResult{{Addr: addr("127.0.0.1"), Status: StatusKMS}, {Addr: addr("::1"), Status: StatusKMS}},
		}
		if diff := cmp.Diff(want, got[tg], compare); diff != "" {
			t.Errorf("Probe (-want +got):\n%s", diff)
		}
		if kms.Binds() != 1 || kms6.Binds() != 1 {
			t.Errorf("binds answered: %d on IPv4, %d on IPv6; want 1 each", kms.Binds(), kms6.Binds())
		}
	})

	t.Run("names that do not lead to an address", func(t *testing.T) {
		kms := kmstest.Start(t)
		port := kms.Port
		tests := []struct {
			host       string
			want       Result
			wantReason string
		}{
			{
				host:       "alias.probe.test.",
				want:       Result{Resolve: ResolveCNAME, Alias: "kms.probe.test."},
				wantReason: "is a CNAME to kms.probe.test. (RFC 2782 forbids aliases as targets)",
			},
			{
				host:       "missing.probe.test.",
				want:       Result{Resolve: ResolveNXDomain},
				wantReason: "does not resolve (NXDOMAIN)",
			},
			{
				host:       "txt.probe.test.",
				want:       Result{Resolve: ResolveNoAddress},
				wantReason: "has no address (the name exists but has no A or AAAA record)",
			},
			{
				host: "kms.elsewhere.example.", // not served: REFUSED
				want: Result{Resolve: ResolveError, ResolveDetail: fmt.Sprintf(
					"A query to %s: REFUSED; AAAA query to %[1]s: REFUSED", resolver)},
				wantReason: fmt.Sprintf("cannot be resolved: A query to %s: REFUSED; AAAA query to %[1]s: REFUSED", resolver),
			},
			{
				host:       ".",
				want:       Result{Resolve: ResolveError, ResolveDetail: `target "." means the service is decidedly not available (RFC 2782)`},
				wantReason: `cannot be resolved: target "." means the service is decidedly not available (RFC 2782)`,
			},
		}
		var targets []Target
		for _, tt := range tests {
			targets = append(targets, Target{tt.host, port})
		}
		got := newProber(t, Options{Resolver: resolver}).Probe(ctx, targets)
		for i, tt := range tests {
			tt.want.Target, tt.want.Mode, tt.want.Probed = targets[i], ModeKMS, true
			if diff := cmp.Diff(tt.want, got[targets[i]], compare); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.host, diff)
			}
			if r := got[targets[i]]; !r.Failed() || r.Reason() != tt.wantReason {
				t.Errorf("%s: Failed() = %v, Reason() = %q; want true, %q", tt.host, r.Failed(), r.Reason(), tt.wantReason)
			}
		}
		if n := kms.Binds(); n != 0 {
			t.Errorf("%d binds answered, want 0: no name led to the KMS host but through an alias", n)
		}
	})

	t.Run("TCP mode", func(t *testing.T) {
		open := localPeer(t, silent).addr.Port()
		closed := closedPort(t).Port()
		a, b := Target{"kms.probe.test.", open}, Target{"kms.probe.test.", closed}
		got := newProber(t, Options{Resolver: resolver, Mode: ModeTCP}).Probe(ctx, []Target{a, b})
		want := map[Target]Result{
			a: {Target: a, Mode: ModeTCP, Resolve: ResolveOK, Live: true, Probed: true,
				Addrs: []AddrResult{{Addr: addr("127.0.0.1"), Status: StatusOpen}}},
			b: {Target: b, Mode: ModeTCP, Resolve: ResolveOK, Live: false, Probed: true,
				Addrs: []AddrResult{{Addr: addr("127.0.0.1"), Status: StatusRefused, Detail: "connection refused"}}},
		}
		if diff := cmp.Diff(want, got, compare); diff != "" {
			t.Errorf("Probe (-want +got):\n%s", diff)
		}
		if r := got[a].Reason(); r != fmt.Sprintf("open on %d at 127.0.0.1", open) {
			t.Errorf("Reason() = %q", r)
		}
	})

	t.Run("none mode resolves only", func(t *testing.T) {
		kms := kmstest.Start(t)
		a, b, c := Target{"dual.probe.test.", kms.Port}, Target{"missing.probe.test.", kms.Port}, Target{"big.probe.test.", kms.Port}
		got := newProber(t, Options{Resolver: resolver, Mode: ModeNone}).Probe(ctx, []Target{a, b, c})
		var big []AddrResult
		for i := 1; i <= 100; i++ {
			big = append(big, AddrResult{Addr: addr(fmt.Sprintf("127.0.1.%d", i)), Status: StatusUnprobed})
		}
		want := map[Target]Result{
			a: {Target: a, Mode: ModeNone, Resolve: ResolveOK, Addrs: []AddrResult{
				{Addr: addr("127.0.0.1"), Status: StatusUnprobed}, {Addr: addr("127.0.0.2"), Status: StatusUnprobed},
			}},
			b: {Target: b, Mode: ModeNone, Resolve: ResolveNXDomain},
			c: {Target: c, Mode: ModeNone, Resolve: ResolveOK, Addrs: big},
		}
		if diff := cmp.Diff(want, got, compare); diff != "" {
			t.Errorf("Probe (-want +got):\n%s", diff)
		}
		checkLatency(t, got)
		for tg, r := range got {
			if r.Failed() {
				t.Errorf("%s: Failed() in none mode", tg)
			}
		}
		if r := got[a].Reason(); r != "resolves to 127.0.0.1, 127.0.0.2 (not probed)" {
			t.Errorf("Reason() = %q", r)
		}
		if n := kms.Binds(); n != 0 {
			t.Errorf("%d binds in none mode, want 0", n)
		}
	})

	t.Run("concurrency is bounded", func(t *testing.T) {
		// Each peer holds the bind until the test releases it, counting
		// the binds held; the test releases one only when two are held.
		// A prober with fewer in flight would leave it waiting for a
		// second bind, one with more would show in the peak.
		const n, limit = 6, 2
		var held, peak atomic.Int64
		arrived := make(chan struct{}, n)
		release, abort := make(chan struct{}), make(chan struct{})
		gated := rpcServer(func(b []byte) []byte {
			h := held.Add(1)
			for p := peak.Load(); h > p && !peak.CompareAndSwap(p, h); p = peak.Load() {
			}
			arrived <- struct{}{}
			select {
			case <-release:
			case <-abort:
			}
			held.Add(-1) // before the reply, which frees the prober's slot
			return bindAck(byteOrder(binary.LittleEndian), callID(b), 0, 0)
		})
		var targets []Target
		for range n {
			targets = append(targets, Target{"kms.probe.test.", localPeer(t, gated).addr.Port()})
		}
		p := newProber(t, Options{Resolver: resolver, Concurrency: limit, Timeout: time.Minute})
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var got map[Target]Result
		var wg sync.WaitGroup
		wg.Go(func() { got = p.Probe(pctx, targets) })
		stall := time.NewTimer(30 * time.Second)
		defer stall.Stop()
	loop:
		for released, pending := 0, 0; released < n; released++ {
			for pending < min(limit, n-released) {
				select {
				case <-arrived:
					pending++
				case <-stall.C:
					t.Errorf("%d binds held, %d released: the prober does not keep %d probes in flight", pending, released, limit)
					cancel()
					break loop
				}
			}
			if released == 0 {
				// With a broken bound the other probes would start at
				// once with these two: give them time to show in the
				// peak. (A correct prober passes however long this is.)
				time.Sleep(200 * time.Millisecond)
			}
			release <- struct{}{}
			pending--
		}
		close(abort)
		wg.Wait()
		if p := peak.Load(); p != limit {
			t.Errorf("at most %d binds held at once, want %d (Concurrency %d)", p, limit, limit)
		}
		for _, tg := range targets {
			if !got[tg].Live {
				t.Errorf("%s: %s", tg, got[tg].Reason())
			}
		}
	})
}

// silentResolver is a UDP socket on loopback that reads queries and never
// answers; each query's arrival is sent on the returned channel.
func silentResolver(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			select {
			case got <- struct{}{}:
			default:
			}
		}
	})
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String(), got
}

// closedUDP returns a loopback UDP port nothing listens on.
func closedUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

// TestResolveFailures: resolvers that do not answer, without named.
func TestResolveFailures(t *testing.T) {
	silentAddr, _ := silentResolver(t)
	closedAddr := closedUDP(t)
	tg := Target{"kms.probe.test.", 1688}
	tests := []struct {
		name     string
		resolver string
		want     Result
	}{
		{
			name:     "a resolver that never answers",
			resolver: silentAddr,
			want: Result{Resolve: ResolveError, ResolveDetail: fmt.Sprintf(
				"A query to %s: no answer within 300ms; AAAA query to %[1]s: no answer within 300ms", silentAddr)},
		},
		{
			name:     "no resolver on the port",
			resolver: closedAddr,
			want: Result{Resolve: ResolveError, ResolveDetail: fmt.Sprintf(
				"A query to %s: connection refused; AAAA query to %[1]s: connection refused", closedAddr)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProber(t, Options{Resolver: tt.resolver, Timeout: 300 * time.Millisecond})
			got := p.Probe(context.Background(), []Target{tg})
			tt.want.Target, tt.want.Mode, tt.want.Probed = tg, ModeKMS, true
			if diff := cmp.Diff(tt.want, got[tg], compare); diff != "" {
				t.Errorf("Probe (-want +got):\n%s", diff)
			}
			if !got[tg].Failed() {
				t.Error("Failed() = false")
			}
		})
	}
}

// TestProbeCanceled: canceling the context stops Probe at once; what was
// not finished is canceled, not failed.
func TestProbeCanceled(t *testing.T) {
	tg := Target{"kms.probe.test.", 1688}
	want := Result{Target: tg, Mode: ModeKMS, Resolve: ResolveCanceled, Probed: false}

	t.Run("before Probe", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p := newProber(t, Options{Resolver: "127.0.0.1:53"})
		got := p.Probe(ctx, []Target{tg, tg})
		want := want
		want.ResolveDetail = "canceled before the host was resolved"
		if diff := cmp.Diff(map[Target]Result{tg: want}, got, compare); diff != "" {
			t.Errorf("Probe (-want +got):\n%s", diff)
		}
		if got[tg].Failed() || got[tg].Reason() != "not checked: canceled" {
			t.Errorf("Failed() = %v, Reason() = %q", got[tg].Failed(), got[tg].Reason())
		}
	})

	t.Run("while resolving", func(t *testing.T) {
		resolver, queried := silentResolver(t)
		p := newProber(t, Options{Resolver: resolver, Timeout: time.Hour})
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			select {
			case <-queried:
				cancel(errors.New("the operator pressed ^C"))
			case <-done:
			}
		})
		got := p.Probe(ctx, []Target{tg})
		close(done)
		wg.Wait()
		want := want
		want.ResolveDetail = "canceled while resolving: the operator pressed ^C"
		if diff := cmp.Diff(want, got[tg], compare); diff != "" {
			t.Errorf("Probe (-want +got):\n%s", diff)
		}
	})
}

// TestProbeCanceledWhileProbing needs named to resolve the target.
func TestProbeCanceledWhileProbing(t *testing.T) {
	resolver := startNamed(t)
	accepted := make(chan struct{}, 1)
	pr := localPeer(t, func(c net.Conn) {
		accepted <- struct{}{}
		drain(c)
	})
	kms := kmstest.Start(t)
	stuck, fine := Target{"kms.probe.test.", pr.addr.Port()}, Target{"kms2.probe.test.", kms.Port}
	p := newProber(t, Options{Resolver: resolver, Timeout: time.Hour, Concurrency: 1})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-accepted:
			cancel(errors.New("SIGTERM"))
		case <-done:
		}
	})
	got := p.Probe(ctx, []Target{stuck, fine})
	close(done)
	wg.Wait()
	want := map[Target]Result{
		stuck: {Target: stuck, Mode: ModeKMS, Resolve: ResolveOK,
			Addrs: []AddrResult{{Addr: addr("127.0.0.1"), Status: StatusCanceled, Detail: "canceled: SIGTERM"}}},
		fine: {Target: fine, Mode: ModeKMS, Resolve: ResolveOK,
			Addrs: []AddrResult{{Addr: addr("127.0.0.1"), Status: StatusCanceled, Detail: "canceled before the probe"}}},
	}
	if diff := cmp.Diff(want, got, compare); diff != "" {
		t.Errorf("Probe (-want +got):\n%s", diff)
	}
	for tg, r := range got {
		if r.Failed() || r.Reason() != "probe canceled" {
			t.Errorf("%s: Failed() = %v, Reason() = %q", tg, r.Failed(), r.Reason())
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name         string
		opts         Options
		wantResolver string
		wantErr      string
	}{
		{name: "resolver with port", opts: Options{Resolver: "192.0.2.53:5353"}, wantResolver: "192.0.2.53:5353"},
		{name: "resolver without port", opts: Options{Resolver: "192.0.2.53"}, wantResolver: "192.0.2.53:53"},
		{name: "IPv6 resolver", opts: Options{Resolver: "[2001:db8::53]:53"}, wantResolver: "[2001:db8::53]:53"},
		{name: "IPv6 resolver without port", opts: Options{Resolver: "2001:db8::53"}, wantResolver: "[2001:db8::53]:53"},
		{name: "every mode", opts: Options{Resolver: "::1", Mode: ModeTCP}, wantResolver: "[::1]:53"},
		{name: "a host name as resolver", opts: Options{Resolver: "dns.example.com:53"},
			wantErr: `probe: resolver "dns.example.com:53" is not an IP address with an optional port`},
		{name: "port 0", opts: Options{Resolver: "192.0.2.53:0"}, wantErr: `probe: resolver "192.0.2.53:0": port 0`},
		{name: "port out of range", opts: Options{Resolver: "192.0.2.53:65536"},
			wantErr: `probe: resolver "192.0.2.53:65536" is not an IP address`},
		{name: "unknown mode", opts: Options{Resolver: "192.0.2.53", Mode: "icmp"},
			wantErr: `probe: mode "icmp" is not one of kms, tcp, none`},
		{name: "negative timeout", opts: Options{Resolver: "192.0.2.53", Timeout: -time.Second},
			wantErr: "probe: timeout -1s is negative"},
		{name: "negative concurrency", opts: Options{Resolver: "192.0.2.53", Concurrency: -1},
			wantErr: "probe: concurrency -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Errorf("New: error %v, want one starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Resolver() != tt.wantResolver {
				t.Errorf("Resolver() = %q, want %q", p.Resolver(), tt.wantResolver)
			}
		})
	}

	// The zero value's defaults.
	p, err := New(Options{Resolver: "192.0.2.53"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{ModeKMS, DefaultTimeout, DefaultConcurrency}, []any{p.mode, p.timeout, p.concurrency}); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestSystemResolver(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		conf    string // "" for no file
		want    string
		wantErr string
	}{
		{name: "first nameserver", conf: "search example.com\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n", want: "192.0.2.53:53"},
		{name: "IPv6 nameserver", conf: "nameserver 2001:db8::53\n", want: "[2001:db8::53]:53"},
		{name: "no nameserver", conf: "search example.com\n", wantErr: "names no nameserver"},
		{name: "no file", wantErr: "no resolver given and none from"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("resolv%d.conf", i))
			if tt.conf != "" {
				if err := os.WriteFile(path, []byte(tt.conf), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := systemResolver(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Errorf("error %v, want one naming %s and saying %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("systemResolver = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
