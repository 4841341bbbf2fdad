package dnsview

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// udpSize is the EDNS0 buffer size advertised in every query (the DNS flag
// day 2020 value): large enough for any sane SRV RRset, small enough not to
// be fragmented. Larger answers come back truncated and are asked again
// over TCP.
const udpSize = 1232

// maxMsg is the largest DNS message, the read buffer size.
const maxMsg = 65535

// resends is how many times, after the first, the queries of an exchange
// that are still unanswered are sent again over UDP within the timeout: a
// lost datagram must not make a server look dead.
const resends = 2

// silentLimit is how many exchanges with one address may time out without
// any answer, while it has answered nothing at all in this View, before the
// rest of the View stops asking it: a dead server of thousands of zones
// must not cost a timeout per zone. A server that has answered once (and
// drops only the queries for some zones) is always asked.
const silentLimit = 3

// exchangeError is an exchange that got no usable answer: no answer at all
// (a timeout, an ICMP port unreachable, an unreachable network) or answers
// that could not be parsed.
type exchangeError struct {
	status  Status // StatusNoAnswer or StatusError
	detail  string
	silence bool // a timeout without a single answer
	partial bool // some of the queries were answered
}

func (e *exchangeError) Error() string { return e.detail }

// transport sends queries over UDP, retrying truncated answers over TCP,
// with at most cap(slots) exchanges in flight. It keeps connected UDP
// sockets for reuse, at most maxIdle of them idle, so that thousands of
// queries to one server go through a few sockets. A transport lives for
// one View call; close releases its sockets.
type transport struct {
	timeout time.Duration
	slots   chan struct{}
	dialer  net.Dialer
	bufs    sync.Pool // *[]byte of maxMsg bytes

	mu      sync.Mutex
	peers   map[netip.AddrPort]*peer
	nidle   int
	maxIdle int
}

// peer is what the transport knows of one address.
type peer struct {
	idle     []*net.UDPConn
	silent   int  // exchanges that timed out without any answer
	answered bool // any exchange got an answer
}

func newTransport(timeout time.Duration, concurrency int) *transport {
	return &transport{
		timeout: timeout,
		slots:   make(chan struct{}, concurrency),
		peers:   make(map[netip.AddrPort]*peer),
		maxIdle: concurrency,
		bufs:    sync.Pool{New: func() any { b := make([]byte, maxMsg); return &b }},
	}
}

// peer returns addr's peer; t.mu must be held.
func (t *transport) peer(addr netip.AddrPort) *peer {
	p := t.peers[addr]
	if p == nil {
		p = &peer{}
		t.peers[addr] = p
	}
	return p
}

// get returns an idle socket connected to addr, or dials one. Dialing UDP
// sends nothing: it only binds a random local port and sets the peer, so
// that the kernel drops datagrams from anyone else and reports ICMP port
// unreachable as ECONNREFUSED.
func (t *transport) get(addr netip.AddrPort) (*net.UDPConn, error) {
	t.mu.Lock()
	if p := t.peers[addr]; p != nil && len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		t.nidle--
		t.mu.Unlock()
		return c, nil
	}
	t.mu.Unlock()
	return net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
}

// put keeps a socket for reuse, or closes it when enough are idle.
func (t *transport) put(addr netip.AddrPort, c *net.UDPConn) {
	t.mu.Lock()
	if t.nidle < t.maxIdle {
		p := t.peer(addr)
		p.idle = append(p.idle, c)
		t.nidle++
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.Close()
}

// silent reports whether addr has timed out silentLimit times and never
// answered.
func (t *transport) silent(addr netip.AddrPort) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers[addr]
	return p != nil && !p.answered && p.silent >= silentLimit
}

// heard counts an exchange with addr that timed out without any answer,
// or notes that addr answered.
func (t *transport) heard(addr netip.AddrPort, err error) {
	var ee *exchangeError
	isEE := errors.As(err, &ee)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch p := t.peer(addr); {
	case err == nil, isEE && (ee.status != StatusNoAnswer || ee.partial):
		p.answered = true
	case isEE && ee.silence:
		p.silent++
	}
}

// close closes the idle sockets.
func (t *transport) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.peers {
		for _, c := range p.idle {
			c.Close()
		}
	}
	t.peers, t.nidle = nil, 0
}

// exchange sends the queries qs to addr together over one UDP socket and
// returns their answers in the order of qs, and the time from the first
// send to the last answer. Each query gets a random message ID; a datagram
// whose ID and question match no pending query is ignored. Unanswered
// queries are sent again every timeout/(resends+1). A truncated answer is
// asked again over TCP, with a timeout of its own. The error is an
// *exchangeError, or ctx's error when ctx ended first. Once addr has
// timed out silentLimit times and never answered, exchange fails at once
// without asking it.
func (t *transport) exchange(ctx context.Context, addr netip.AddrPort, qs []*dns.Msg) ([]*dns.Msg, time.Duration, error) {
	if t.silent(addr) {
		return nil, 0, &exchangeError{status: StatusNoAnswer, silence: true,
			detail: fmt.Sprintf("not asked: no answer within %v to %d queries before", t.timeout, silentLimit)}
	}
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-t.slots }()

	answers, rtt, err := t.udp(ctx, addr, qs)
	t.heard(addr, err)
	if err != nil {
		return nil, 0, err
	}
	for i, a := range answers {
		if !a.Truncated {
			continue
		}
		start := time.Now()
		if answers[i], err = t.tcp(ctx, addr, qs[i]); err != nil {
			return nil, 0, err
		}
		rtt += time.Since(start)
	}
	return answers, rtt, nil
}

// udp is exchange's UDP part.
func (t *transport) udp(ctx context.Context, addr netip.AddrPort, qs []*dns.Msg) ([]*dns.Msg, time.Duration, error) {
	wires := make([][]byte, len(qs))
	if err := setIDs(qs); err != nil {
		return nil, 0, err
	}
	for i, q := range qs {
		w, err := q.Pack()
		if err != nil {
			return nil, 0, &exchangeError{status: StatusError, detail: fmt.Sprintf("packing the %s query: %v", qname(q), err)}
		}
		wires[i] = w
	}

	c, err := t.get(addr)
	if err != nil {
		return nil, 0, netErr(ctx, err, t.timeout)
	}
	// Cancelling ctx ends a blocked read at once. If the function has
	// already run (or is running) when the exchange ends, it may move the
	// deadline under the next user of the socket: close the socket then.
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	reusable := false
	defer func() {
		if stop() && reusable {
			t.put(addr, c)
		} else {
			c.Close()
		}
	}()

	bp := t.bufs.Get().(*[]byte)
	defer t.bufs.Put(bp)
	buf := *bp

	answers := make([]*dns.Msg, len(qs))
	pending := len(qs)
	send := func() error {
		for i, w := range wires {
			if answers[i] == nil {
				if _, err := c.Write(w); err != nil {
					return err
				}
			}
		}
		return nil
	}
	start := time.Now()
	deadline := start.Add(t.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := send(); err != nil {
		return nil, 0, netErr(ctx, err, t.timeout)
	}
	interval := t.timeout / (resends + 1)
	nextSend := start.Add(interval)
	var malformed error
	for pending > 0 {
		rd := deadline
		if nextSend.Before(rd) {
			rd = nextSend
		}
		c.SetReadDeadline(rd)
		if ctx.Err() != nil { // AfterFunc may have run just before
			c.SetReadDeadline(time.Unix(1, 0))
		}
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil && time.Now().Before(deadline) {
				if err := send(); err != nil {
					return nil, 0, netErr(ctx, err, t.timeout)
				}
				nextSend = nextSend.Add(interval)
				continue
			}
			if malformed != nil && ctxErr(ctx) == nil {
				return nil, 0, &exchangeError{status: StatusError, detail: malformed.Error()}
			}
			return nil, 0, unanswered(ctx, err, t.timeout, qs, answers)
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:n]); err != nil {
			malformed = fmt.Errorf("malformed answer: %w", err)
			continue
		}
		if i := match(qs, answers, m); i >= 0 {
			answers[i] = m
			pending--
		}
	}
	reusable = true
	return answers, time.Since(start), nil
}

// tcp sends q again over a new TCP connection and returns the answer.
func (t *transport) tcp(parent context.Context, addr netip.AddrPort, q *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(parent, t.timeout)
	defer cancel()
	if err := setIDs([]*dns.Msg{q}); err != nil {
		return nil, err
	}
	w, err := q.Pack()
	if err != nil {
		return nil, &exchangeError{status: StatusError, detail: fmt.Sprintf("packing the %s query: %v", qname(q), err)}
	}
	fail := func(err error) error {
		e := netErr(parent, err, t.timeout)
		if ee, ok := e.(*exchangeError); ok {
			ee.detail = fmt.Sprintf("%s over TCP after a truncated UDP answer: %s", qname(q), ee.detail)
		}
		return e
	}
	c, err := t.dialer.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, fail(err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(w)), uint16(len(w)))
	if _, err := c.Write(append(out, w...)); err != nil {
		return nil, fail(err)
	}
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return nil, fail(err)
		}
		raw := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, raw); err != nil {
			return nil, fail(err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(raw); err != nil {
			return nil, &exchangeError{status: StatusError, detail: fmt.Sprintf("%s over TCP: malformed answer: %v", qname(q), err)}
		}
		if match([]*dns.Msg{q}, []*dns.Msg{nil}, m) == 0 {
			return m, nil
		}
	}
}

// setIDs gives every query a random message ID.
func setIDs(qs []*dns.Msg) error {
	b := make([]byte, 2*len(qs))
	if _, err := rand.Read(b); err != nil {
		return &exchangeError{status: StatusError, detail: fmt.Sprintf("random message IDs: %v", err)}
	}
	for i, q := range qs {
		q.Id = binary.BigEndian.Uint16(b[2*i:])
	}
	return nil
}

// match returns the index of the unanswered query that m answers: same
// ID, a response, and the same question (name compared case-insensitively,
// as servers may change its case). It returns -1 for anything else.
func match(qs, answers []*dns.Msg, m *dns.Msg) int {
	if !m.Response || len(m.Question) != 1 {
		return -1
	}
	for i, q := range qs {
		if answers[i] != nil || q.Id != m.Id {
			continue
		}
		a, b := q.Question[0], m.Question[0]
		if a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name) {
			return i
		}
	}
	return -1
}

// qname is "NAME TYPE" of a query, for messages.
func qname(q *dns.Msg) string {
	return q.Question[0].Name + " " + dns.TypeToString[q.Question[0].Qtype]
}

// unanswered is the error of an exchange that ended before every answer
// came: which queries went unanswered and why.
func unanswered(parent context.Context, err error, timeout time.Duration, qs, answers []*dns.Msg) error {
	e := netErr(parent, err, timeout)
	ee, ok := e.(*exchangeError)
	if !ok {
		return e
	}
	var missing []string
	for i, q := range qs {
		if answers[i] == nil {
			missing = append(missing, qname(q))
		}
	}
	if len(missing) < len(qs) {
		ee.detail = fmt.Sprintf("%s (to %s)", ee.detail, strings.Join(missing, ", "))
		ee.silence, ee.partial = false, true
	}
	return ee
}

// ctxErr is ctx.Err(), or context.DeadlineExceeded once ctx's deadline
// has passed even if its timer has not fired yet (a socket deadline set to
// the same time may fire first).
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// netErr turns a socket error into an *exchangeError, or into the parent
// context's error when that ended the exchange.
func netErr(parent context.Context, err error, timeout time.Duration) error {
	if err := ctxErr(parent); err != nil {
		return err
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return &exchangeError{status: StatusNoAnswer, detail: fmt.Sprintf("no answer within %v", timeout), silence: true}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &exchangeError{status: StatusNoAnswer, detail: "connection refused (nothing listens on the port)"}
	case errors.Is(err, syscall.ENETUNREACH):
		return &exchangeError{status: StatusNoAnswer, detail: "network unreachable"}
	case errors.Is(err, syscall.EHOSTUNREACH):
		return &exchangeError{status: StatusNoAnswer, detail: "host unreachable"}
	}
	return &exchangeError{status: StatusNoAnswer, detail: err.Error()}
}
