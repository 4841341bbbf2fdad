// Package probe tells a live KMS host from a dead one, as a KMS client
// would experience it: it resolves each target's host (A and AAAA, from a
// recursive resolver; an alias is an error, RFC 2782), then probes every
// address separately: a TCP connection to the target's port and a
// DCE/RPC bind to the KMS interface, whose bind_ack says a KMS host
// answers there.
//
// A probe sends the 72-octet bind and nothing else: never an activation
// request, which would register a client with the host and raise its
// count. Every step has a deadline, Options.Timeout, and the context
// stops everything at once.
package probe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Mode is how far a probe goes.
type Mode string

// The probe modes.
const (
	// ModeKMS connects and sends a DCE/RPC bind for the KMS interface: a
	// target is live when an address answers with an accepting bind_ack.
	ModeKMS Mode = "kms"
	// ModeTCP connects only: a target is live when an address accepts the
	// connection.
	ModeTCP Mode = "tcp"
	// ModeNone resolves only and never connects.
	ModeNone Mode = "none"
)

// Defaults of Options.
const (
	DefaultTimeout     = 3 * time.Second
	DefaultConcurrency = 32
	// DefaultResolvConf is where the system resolver is read from when
	// Options.Resolver is "".
	DefaultResolvConf = "/etc/resolv.conf"
)

// Options configure a Prober. The zero value probes in ModeKMS through the
// system resolver with a 3 s timeout and 32 probes in flight.
type Options struct {
	// Resolver is the "host:port" (an IP address; the port defaults to
	// 53) of the recursive resolver to ask, or in tests of an
	// authoritative server. "" means the first nameserver of
	// /etc/resolv.conf.
	Resolver string
	// Timeout bounds each DNS query and each step of a probe: the
	// connection, then the bind's round trip. 0 means DefaultTimeout.
	Timeout time.Duration
	// Mode is how far probes go; "" means ModeKMS.
	Mode Mode
	// Concurrency bounds the probes in flight, and separately the hosts
	// being resolved; 0 means DefaultConcurrency.
	Concurrency int
}

// Prober resolves and probes targets. Its methods may be called
// concurrently.
type Prober struct {
	resolver    string
	timeout     time.Duration
	mode        Mode
	concurrency int
	dialer      net.Dialer
	callID      atomic.Uint32
}

// New validates o and returns a Prober.
func New(o Options) (*Prober, error) {
	p := &Prober{timeout: o.Timeout, mode: o.Mode, concurrency: o.Concurrency}
	switch p.mode {
	case "":
		p.mode = ModeKMS
	case ModeKMS, ModeTCP, ModeNone:
	default:
		return nil, fmt.Errorf("probe: mode %q is not one of %s, %s, %s", o.Mode, ModeKMS, ModeTCP, ModeNone)
	}
	switch {
	case p.timeout < 0:
		return nil, fmt.Errorf("probe: timeout %v is negative", o.Timeout)
	case p.timeout == 0:
		p.timeout = DefaultTimeout
	}
	switch {
	case p.concurrency < 0:
		return nil, fmt.Errorf("probe: concurrency %d is negative", o.Concurrency)
	case p.concurrency == 0:
		p.concurrency = DefaultConcurrency
	}
	var err error
	if o.Resolver == "" {
		p.resolver, err = systemResolver(DefaultResolvConf)
	} else {
		p.resolver, err = resolverAddr(o.Resolver)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Resolver returns the "ip:port" the Prober sends its queries to.
func (p *Prober) Resolver() string { return p.resolver }

// resolverAddr checks a resolver address: an IP address with an optional
// port (default 53).
func resolverAddr(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return "", fmt.Errorf("probe: resolver %q: port 0", s)
		}
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	return "", fmt.Errorf("probe: resolver %q is not an IP address with an optional port (e.g. 192.0.2.53:53 or [2001:db8::53]:53)", s)
}

// systemResolver is the first nameserver of the resolv.conf at path.
func systemResolver(path string) (string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return "", fmt.Errorf("probe: no resolver given and none from %s: %w", path, err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("probe: no resolver given and %s names no nameserver", path)
	}
	addr, err := resolverAddr(net.JoinHostPort(cc.Servers[0], cc.Port))
	if err != nil {
		return "", fmt.Errorf("probe: the first nameserver of %s: %w", path, err)
	}
	return addr, nil
}

// Probe resolves and probes every distinct target once and returns a
// result for each, keyed by the targets as given (pass canonical host
// names, as zones.Canonical makes them, so that equal names are equal
// keys). Each host is resolved once however many ports it is named with,
// and each address and port is probed once however many targets lead to
// it. Probes run concurrently, at most Options.Concurrency at a time.
//
// When ctx ends, Probe returns promptly: what was not finished is marked
// canceled, and those results have Probed false.
func (p *Prober) Probe(ctx context.Context, targets []Target) map[Target]Result {
	var uniq []Target
	results := make(map[Target]Result)
	for _, t := range targets {
		if _, dup := results[t]; !dup {
			results[t] = Result{}
			uniq = append(uniq, t)
		}
	}

	// Resolve each host once.
	hostIndex := make(map[string]int)
	var hosts []string
	for _, t := range uniq {
		h := strings.ToLower(dns.Fqdn(t.Host))
		if _, ok := hostIndex[h]; !ok {
			hostIndex[h] = len(hosts)
			hosts = append(hosts, h)
		}
	}
	resolved := make([]resolution, len(hosts))
	for i := range resolved {
		resolved[i] = resolution{status: ResolveCanceled, detail: "canceled before the host was resolved"}
	}
	p.parallel(ctx, len(hosts), func(i int) { resolved[i] = p.resolve(ctx, hosts[i]) })

	// Probe each address and port once.
	type job struct {
		ap  netip.AddrPort
		out AddrResult
	}
	var jobs []job
	jobIndex := make(map[netip.AddrPort]int)
	if p.mode != ModeNone {
		for _, t := range uniq {
			for _, a := range resolved[hostIndex[strings.ToLower(dns.Fqdn(t.Host))]].addrs {
				ap := netip.AddrPortFrom(a, t.Port)
				if _, ok := jobIndex[ap]; !ok {
					jobIndex[ap] = len(jobs)
					jobs = append(jobs, job{ap: ap, out: AddrResult{Addr: a, Status: StatusCanceled, Detail: "canceled before the probe"}})
				}
			}
		}
	}
	p.parallel(ctx, len(jobs), func(i int) { jobs[i].out = p.probeAddr(ctx, jobs[i].ap) })

	for _, t := range uniq {
		res := resolved[hostIndex[strings.ToLower(dns.Fqdn(t.Host))]]
		r := Result{
			Target:        t,
			Mode:          p.mode,
			Resolve:       res.status,
			ResolveDetail: res.detail,
			Alias:         res.alias,
			Addrs:         make([]AddrResult, 0, len(res.addrs)),
			Probed:        p.mode != ModeNone && res.status != ResolveCanceled,
		}
		for _, a := range res.addrs {
			ar := AddrResult{Addr: a, Status: StatusUnprobed}
			if p.mode != ModeNone {
				ar = jobs[jobIndex[netip.AddrPortFrom(a, t.Port)]].out
			}
			r.Live = r.Live || ar.live()
			if ar.Status == StatusCanceled {
				r.Probed = false
			}
			r.Addrs = append(r.Addrs, ar)
		}
		results[t] = r
	}
	return results
}

// parallel calls fn(i) for i in [0, n) from at most p.concurrency
// goroutines, starting no call once ctx has ended, and returns when every
// call has returned.
func (p *Prober) parallel(ctx context.Context, n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, p.concurrency) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// sortAddrs sorts and deduplicates addresses, IPv4 first.
func sortAddrs(addrs []netip.Addr) []netip.Addr {
	slices.SortFunc(addrs, netip.Addr.Compare)
	return slices.Compact(addrs)
}
