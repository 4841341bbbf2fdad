package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/zones"
)

// ednsSize is the UDP payload size offered in queries (the DNS flag day
// 2020 value); a truncated answer is asked again over TCP.
const ednsSize = 1232

// resolution is what the A and AAAA queries for one host found.
type resolution struct {
	status ResolveStatus
	detail string
	alias  string
	addrs  []netip.Addr // sorted, IPv4 first
}

// answer is the outcome of one query.
type answer struct {
	qtype uint16
	rcode int
	alias string       // the CNAME at the queried name, canonical
	addrs []netip.Addr // A or AAAA records at the queried name
	err   error
}

// resolve asks the resolver for host's A and AAAA records, concurrently,
// each with its own deadline. It follows nothing: a CNAME at host is the
// verdict.
func (p *Prober) resolve(ctx context.Context, host string) resolution {
	if host == "." {
		return resolution{status: ResolveError, detail: `target "." means the service is decidedly not available (RFC 2782)`}
	}
	if _, ok := dns.IsDomainName(host); !ok {
		return resolution{status: ResolveError, detail: fmt.Sprintf("%q is not a valid host name", host)}
	}
	var a, aaaa answer
	var wg sync.WaitGroup
	wg.Go(func() { aaaa = p.query(ctx, host, dns.TypeAAAA) })
	a = p.query(ctx, host, dns.TypeA)
	wg.Wait()
	if ctx.Err() != nil {
		return resolution{status: ResolveCanceled, detail: "canceled while resolving: " + context.Cause(ctx).Error()}
	}
	return combine(p.resolver, a, aaaa)
}

// combine makes one verdict of the A and AAAA answers. A CNAME wins; then
// NXDOMAIN; then addresses (a failed query is noted in the detail); then
// a failure; else the name exists without addresses.
func combine(resolver string, answers ...answer) resolution {
	var r resolution
	var failed []string
	nx := false
	for _, an := range answers {
		switch {
		case an.alias != "":
			return resolution{status: ResolveCNAME, alias: an.alias}
		case an.err != nil:
			failed = append(failed, fmt.Sprintf("%s query to %s: %v", dns.TypeToString[an.qtype], resolver, an.err))
		case an.rcode == dns.RcodeNameError:
			nx = true
		case an.rcode != dns.RcodeSuccess:
			failed = append(failed, fmt.Sprintf("%s query to %s: %s", dns.TypeToString[an.qtype], resolver, rcodeString(an.rcode)))
		default:
			r.addrs = append(r.addrs, an.addrs...)
		}
	}
	switch {
	case nx && len(r.addrs) == 0:
		r.status = ResolveNXDomain
	case len(r.addrs) > 0:
		r.status = ResolveOK
		r.addrs = sortAddrs(r.addrs)
		if len(failed) > 0 {
			r.detail = "the other query succeeded, but " + strings.Join(failed, "; ")
		}
	case len(failed) > 0:
		r.status = ResolveError
		r.detail = strings.Join(failed, "; ")
	default:
		r.status = ResolveNoAddress
	}
	return r
}

func rcodeString(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("rcode %d", rcode)
}

// query sends one recursive query (RD set) for host and qtype, over UDP
// and again over TCP if the answer is truncated, within p.timeout.
func (p *Prober) query(ctx context.Context, host string, qtype uint16) answer {
	qctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(host, qtype)
	m.RecursionDesired = true
	m.SetEdns0(ednsSize, false)
	r, err := p.exchange(qctx, m, "udp")
	if err == nil && r.Truncated {
		r, err = p.exchange(qctx, m, "tcp")
	}
	an := answer{qtype: qtype}
	switch {
	case err != nil && ctx.Err() == nil && (errors.Is(qctx.Err(), context.DeadlineExceeded) || isTimeout(err)):
		an.err = fmt.Errorf("no answer within %v", p.timeout)
		return an
	case err != nil:
		an.err = netError(err)
		return an
	}
	an.rcode = r.Rcode
	for _, rr := range r.Answer {
		if !strings.EqualFold(rr.Header().Name, host) {
			continue // the rest of a chain the resolver followed
		}
		switch rr := rr.(type) {
		case *dns.CNAME:
			an.alias = zones.Canonical(rr.Target)
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok && qtype == dns.TypeA {
				an.addrs = append(an.addrs, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok && qtype == dns.TypeAAAA {
				an.addrs = append(an.addrs, a)
			}
		}
	}
	return an
}

// exchange sends m to the resolver over network ("udp" or "tcp") and reads
// the answer, giving up as soon as ctx ends.
func (p *Prober) exchange(ctx context.Context, m *dns.Msg, network string) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: p.timeout}
	conn, err := c.DialContext(ctx, p.resolver)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	release := closeOnDone(ctx, conn.Conn)
	defer release()
	r, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	if err == nil && (len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, m.Question[0].Name) || r.Question[0].Qtype != m.Question[0].Qtype) {
		return nil, errors.New("the answer is for another question")
	}
	return r, err
}

// closeOnDone closes c as soon as ctx ends, which makes any read or write
// on it fail at once. release stops that and waits for the close if it
// has begun; call it before returning.
func closeOnDone(ctx context.Context, c net.Conn) (release func()) {
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		c.SetDeadline(time.Unix(1, 0)) // wakes blocked reads even where Close would not
		c.Close()
	})
	return func() {
		if !stop() {
			<-done
		}
	}
}
