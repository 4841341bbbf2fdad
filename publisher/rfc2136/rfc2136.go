// Package rfc2136 reads and writes the service SRV RRset of zones on their
// primary server with TSIG-signed DNS messages: a non-recursive query to
// read (RFC 1034), a dynamic update to write (RFC 2136), one update message
// per zone whose prerequisite pins exactly the RRset that was read.
package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/zones"
)

// Zone is where one zone is read and written.
type Zone struct {
	Server string // host:port of the zone's primary
	Key    *Key   // TSIG key that signs every message; nil sends them unsigned
}

// Options configure a Backend. Only Zones is required.
type Options struct {
	// Zones by canonical zone name.
	Zones map[string]Zone
	// Timeout bounds each exchange with a server (connect, send, answer);
	// 0 means 5 seconds.
	Timeout time.Duration
	// MaxIdle bounds the idle connections kept per server; 0 means 16. Set
	// it to the number of zones processed at once.
	MaxIdle int
}

// Backend is the rfc2136 publisher backend. It keeps TCP connections open
// for reuse until Close.
type Backend struct {
	zones   map[string]Zone
	timeout time.Duration
	dialer  net.Dialer
	pools   pools
}

var _ publisher.Backend = (*Backend)(nil)

// New returns a Backend.
func New(opts Options) *Backend {
	b := &Backend{zones: opts.Zones, timeout: opts.Timeout}
	if b.timeout <= 0 {
		b.timeout = 5 * time.Second
	}
	b.pools.size = opts.MaxIdle
	if b.pools.size <= 0 {
		b.pools.size = 16
	}
	return b
}

// Close closes the idle connections.
func (b *Backend) Close() error {
	b.pools.close()
	return nil
}

func (b *Backend) zone(name string) (Zone, error) {
	z, ok := b.zones[name]
	if !ok {
		return Zone{}, fmt.Errorf("zone %s: no server configured for it", name)
	}
	return z, nil
}

// Current reads the zone's service RRset from its server with a
// non-recursive SRV query. The answer must be authoritative (AA) and must
// show that the zone's apex is the configured zone, not a parent of it: a
// negative answer carries the zone's SOA, a positive one (from servers such
// as BIND that fill the authority section) the zone's NS RRset. Only when
// the authority section names no apex is a second query, for the SOA, sent.
// (The two are not pipelined: a server that answers them back to back runs
// into Nagle's algorithm and delayed ACKs, and every read then takes 40 ms.)
func (b *Backend) Current(ctx context.Context, z zones.Zone) ([]zones.Record, error) {
	zc, err := b.zone(z.Name)
	if err != nil {
		return nil, err
	}
	fail := func(m *dns.Msg, err error) error {
		e := &Error{Zone: z.Name, Server: zc.Server, Op: "read", Rcode: -1, Err: err}
		if m != nil {
			e.Rcode, e.TSIGError = m.Rcode, tsigError(m)
		}
		return e
	}
	owner := z.Owner()
	answers, err := b.send(ctx, zc, query(owner, dns.TypeSRV))
	if err != nil {
		return nil, fail(nil, err)
	}
	m := answers[0].msg
	if err := checkAnswer("read", answers[0], zc.Key, z.Name, dns.RcodeSuccess, dns.RcodeNameError); err != nil {
		return nil, fail(m, err)
	}
	if !m.Authoritative {
		return nil, fail(m, fmt.Errorf("%w for zone %s: the answer for %s has no AA bit (a delegation, a secondary that lost the zone, or a resolver?)", ErrNotAuthoritative, z.Name, owner))
	}
	switch apex, ok := authorityApex(m); {
	case ok && !strings.EqualFold(apex, z.Name):
		return nil, fail(m, fmt.Errorf("%w for zone %s: %s is not a zone there, it is inside zone %s", ErrNotAuthoritative, z.Name, z.Name, apex))
	case !ok:
		soa, err := b.send(ctx, zc, query(z.Name, dns.TypeSOA))
		if err != nil {
			return nil, fail(nil, err)
		}
		if err := checkAnswer("read", soa[0], zc.Key, z.Name, dns.RcodeSuccess, dns.RcodeNameError); err != nil {
			return nil, fail(soa[0].msg, err)
		}
		if err := checkSOA(soa[0].msg, z.Name); err != nil {
			return nil, fail(soa[0].msg, err)
		}
	}
	var out []zones.Record
	for _, rr := range m.Answer {
		if !strings.EqualFold(rr.Header().Name, owner) {
			continue
		}
		s, ok := rr.(*dns.SRV)
		if !ok {
			return nil, fail(m, fmt.Errorf("%s holds a %s record, not SRV records", owner, dns.TypeToString[rr.Header().Rrtype]))
		}
		out = append(out, zones.Record{
			Target:   zones.Canonical(s.Target),
			Port:     s.Port,
			Priority: s.Priority,
			Weight:   s.Weight,
			TTL:      s.Hdr.Ttl,
		})
	}
	return zones.Sort(out), nil
}

// authorityApex returns the zone apex an authoritative answer names in its
// authority section: the owner of its SOA (negative answers) or NS RRset
// (positive answers).
func authorityApex(m *dns.Msg) (string, bool) {
	for _, rr := range m.Ns {
		switch rr.(type) {
		case *dns.SOA, *dns.NS:
			return rr.Header().Name, true
		}
	}
	return "", false
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	return m
}

// checkSOA requires an authoritative answer with the SOA of the zone itself.
func checkSOA(m *dns.Msg, zone string) error {
	if !m.Authoritative {
		return fmt.Errorf("%w for zone %s: the SOA answer has no AA bit (a secondary that lost the zone, or a resolver?)", ErrNotAuthoritative, zone)
	}
	for _, rr := range m.Answer {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, zone) {
			return nil
		}
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return fmt.Errorf("%w for zone %s: %s is not a zone there, it is inside zone %s", ErrNotAuthoritative, zone, zone, soa.Hdr.Name)
		}
	}
	return fmt.Errorf("%w for zone %s: no SOA record in the answer (%s)", ErrNotAuthoritative, zone, rcodeName(m.Rcode))
}

// Apply sends the plan as one UPDATE message. Its prerequisite is exactly
// the RRset the plan was made from: "RRset exists (value dependent)" with
// every record read (RFC 2136 2.4.2), or "RRset does not exist" (2.4.3)
// when it was empty. Then it deletes single RRs (2.5.4) and adds RRs
// (2.5.1), so records srvctl does not touch stay as they are. If another
// writer changed the RRset since it was read, the server applies nothing
// and Apply returns an error wrapping publisher.ErrConflict.
func (b *Backend) Apply(ctx context.Context, p *zones.Plan) error {
	zc, err := b.zone(p.Zone)
	if err != nil {
		return err
	}
	m := updateMsg(p)
	answers, err := b.send(ctx, zc, m)
	if err != nil {
		return &Error{Zone: p.Zone, Server: zc.Server, Op: "update", Rcode: -1, Err: err}
	}
	a := answers[0]
	// A failed prerequisite (NXRRSET, YXRRSET) means nothing was changed.
	// Its answer is verified like any other, so a forged one cannot cause
	// a retry.
	if err := checkAnswer("update", a, zc.Key, p.Zone, dns.RcodeSuccess, dns.RcodeNXRrset, dns.RcodeYXRrset); err != nil {
		return &Error{Zone: p.Zone, Server: zc.Server, Op: "update", Rcode: a.msg.Rcode, TSIGError: tsigError(a.msg), Err: err}
	}
	if a.msg.Rcode != dns.RcodeSuccess {
		return &Error{Zone: p.Zone, Server: zc.Server, Op: "update", Rcode: a.msg.Rcode,
			Err: fmt.Errorf("%w (%s)", publisher.ErrConflict, rcodeName(a.msg.Rcode))}
	}
	return nil
}

// updateMsg builds the UPDATE message for p.
func updateMsg(p *zones.Plan) *dns.Msg {
	m := new(dns.Msg)
	m.SetUpdate(p.Zone)
	if len(p.Current) == 0 {
		m.Answer = append(m.Answer, &dns.ANY{Hdr: dns.RR_Header{Name: p.Owner, Rrtype: dns.TypeSRV, Class: dns.ClassNONE}})
	}
	for _, r := range p.Current {
		m.Answer = append(m.Answer, srv(p.Owner, r, dns.ClassINET, 0))
	}
	for _, r := range p.Deletes() {
		m.Ns = append(m.Ns, srv(p.Owner, r, dns.ClassNONE, 0))
	}
	for _, r := range p.Adds() {
		m.Ns = append(m.Ns, srv(p.Owner, r, dns.ClassINET, r.TTL))
	}
	return m
}

func srv(owner string, r zones.Record, class uint16, ttl uint32) *dns.SRV {
	return &dns.SRV{
		Hdr:      dns.RR_Header{Name: owner, Rrtype: dns.TypeSRV, Class: class, Ttl: ttl},
		Priority: r.Priority,
		Weight:   r.Weight,
		Port:     r.Port,
		Target:   r.Target,
	}
}

// send signs (when the zone has a key) and sends the messages on one
// connection and returns their answers in order.
func (b *Backend) send(ctx context.Context, zc Zone, msgs ...*dns.Msg) ([]answer, error) {
	ids := make([]uint16, len(msgs))
	wires := make([][]byte, len(msgs))
	macs := make([]string, len(msgs))
	now := time.Now().Unix()
	for i, m := range msgs {
		m.Id = dns.Id()
		for indexOf(ids[:i], m.Id) >= 0 {
			m.Id = dns.Id()
		}
		ids[i] = m.Id
		var err error
		if zc.Key != nil {
			wires[i], macs[i], err = zc.Key.sign(m, now)
		} else {
			wires[i], err = m.Pack()
		}
		if err != nil {
			return nil, fmt.Errorf("packing the request: %w", err)
		}
	}
	answers, err := b.exchange(ctx, zc.Server, ids, wires)
	if err != nil {
		return nil, transportError(err, b.timeout)
	}
	for i := range answers {
		answers[i].mac = macs[i]
	}
	return answers, nil
}

// checkAnswer turns an answer whose rcode is not one of ok into an error in
// srvctl's words, and verifies the TSIG of the others when the request was
// signed.
func checkAnswer(op string, a answer, key *Key, zone string, ok ...int) error {
	m := a.msg
	if !slices.Contains(ok, m.Rcode) {
		return rcodeError(op, m, key, zone)
	}
	if t := m.IsTsig(); t != nil && t.Error != 0 {
		return rcodeError(op, m, key, zone)
	}
	if key == nil {
		return nil
	}
	if err := key.verify(a.raw, m, a.mac); err != nil {
		if errors.Is(err, dns.ErrTime) {
			return errors.New("clock skew: the answer's signature time is outside the allowed fudge; check this host's and the server's clocks (NTP)")
		}
		return fmt.Errorf("the answer's TSIG signature does not verify with key %s (%v)", key.Name(), err)
	}
	return nil
}

func tsigError(m *dns.Msg) uint16 {
	if t := m.IsTsig(); t != nil {
		return t.Error
	}
	return 0
}
