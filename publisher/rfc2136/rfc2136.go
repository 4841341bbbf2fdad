// Package rfc2136 reads and writes the service SRV RRset of zones on their
// primary server with TSIG-signed DNS messages: a non-recursive query to
// read (RFC 1034), a dynamic update to write (RFC 2136), one update message
// per zone whose prerequisite pins exactly the RRset that was read.
package rfc2136

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/publisher/gsstsig"
	"github.com/srvctl/srvctl/zones"
)

// Zone is where one zone is read and written.
type Zone struct {
	Server string // host:port of the zone's primary
	Key    *Key   // TSIG key that signs every message; nil sends them unsigned
	// GSS, instead of Key, signs every message with a GSS-TSIG security
	// context (RFC 3645): AD-integrated zones that take secure updates
	// only.
	GSS *GSS
}

// GSS is how a zone's messages are signed with Kerberos: srvctl's
// credentials and the DNS server's host name (the service principal is
// DNS/<HostName>). Zones with the same credentials share one security
// context per server and run.
type GSS struct {
	Credentials gsstsig.Credentials
	HostName    string
}

// principal is the client principal with its realm, for messages.
func (g *GSS) principal() string {
	c := g.Credentials
	if c.Realm != "" && c.Principal != "" && !strings.Contains(c.Principal, "@") {
		return c.Principal + "@" + c.Realm
	}
	return c.Principal
}

func (z Zone) signer() string {
	switch {
	case z.GSS != nil:
		return "the Kerberos principal " + z.GSS.principal()
	case z.Key != nil:
		return "key " + z.Key.Name()
	}
	return "no key"
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

	mu           sync.Mutex
	negotiators  map[string]*gsstsig.Negotiator // this run's, by credentials
	negotiations int                            // of the runs ended
	gssLocks     sync.Map                       // *gsstsig.SecContext → chan struct{} of size 1: one exchange at a time
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

// Close ends the run (see EndRun) and closes the idle connections.
func (b *Backend) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	err := b.EndRun(ctx)
	b.pools.close()
	return err
}

// EndRun deletes the GSS-TSIG security contexts of this run (TKEY mode 5);
// the next message negotiates new ones. srvctl run calls it after each run.
func (b *Backend) EndRun(ctx context.Context) error {
	b.mu.Lock()
	ns := b.negotiators
	b.negotiators = nil
	b.gssLocks.Clear()
	for _, n := range ns {
		b.negotiations += n.Negotiations()
	}
	b.mu.Unlock()
	var errs []error
	for _, n := range ns {
		// Each account's contexts get their own deadline: one server that
		// hangs must not leave the others' undeleted.
		nctx, cancel := context.WithTimeout(ctx, 2*b.timeout)
		errs = append(errs, n.Close(nctx))
		cancel()
	}
	return errors.Join(errs...)
}

// Negotiations returns the GSS-TSIG security contexts negotiated since
// New: one per server and credentials per run.
func (b *Backend) Negotiations() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.negotiations
	for _, g := range b.negotiators {
		n += g.Negotiations()
	}
	return n
}

// negotiator returns this run's negotiator for the zone's credentials.
func (b *Backend) negotiator(zc Zone) *gsstsig.Negotiator {
	c := zc.GSS.Credentials
	id := strings.Join([]string{c.Principal, c.Realm, c.Keytab, c.CCache, c.Krb5Conf}, "\x00")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.negotiators == nil {
		b.negotiators = make(map[string]*gsstsig.Negotiator)
	}
	n, ok := b.negotiators[id]
	if !ok {
		n = gsstsig.New(gsstsig.Options{Credentials: c, Timeout: b.timeout})
		b.negotiators[id] = n
	}
	return n
}

// principal names the account the zone's messages are signed as: the one
// logged in (a ccache's own), else the configured one.
func (b *Backend) principal(zc Zone) string {
	if p := b.negotiator(zc).Principal(); p != "" {
		return p
	}
	return zc.GSS.principal()
}

// secContext returns this run's security context with the zone's server.
// A refused login or negotiation is ErrNotAuthorized; a server or KDC that
// does not answer is a transport error.
func (b *Backend) secContext(ctx context.Context, zc Zone) (*gsstsig.SecContext, error) {
	sc, err := b.negotiator(zc).Context(ctx, zc.Server, zc.GSS.HostName)
	var te *gsstsig.TKEYError
	switch {
	case err == nil:
		return sc, nil
	case errors.Is(err, gsstsig.ErrWrongPassword), errors.Is(err, gsstsig.ErrUnknownPrincipal), errors.Is(err, gsstsig.ErrTicketExpired),
		errors.Is(err, gsstsig.ErrAccountDisabled), errors.Is(err, gsstsig.ErrPasswordExpired), errors.As(err, &te):
		return nil, deniedError{err}
	}
	return nil, transportError(err, b.timeout)
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
	if err := checkAnswer("read", answers[0], zc, z.Name, owner, dns.RcodeSuccess, dns.RcodeNameError); err != nil {
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
		if err := checkAnswer("read", soa[0], zc, z.Name, z.Name, dns.RcodeSuccess, dns.RcodeNameError); err != nil {
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
	if err := checkAnswer("update", a, zc, p.Zone, p.Owner, dns.RcodeSuccess, dns.RcodeNXRrset, dns.RcodeYXRrset); err != nil {
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
	if zc.GSS == nil {
		return b.sendWith(ctx, zc, nil, msgs)
	}
	for attempt := 0; ; attempt++ {
		sc, err := b.secContext(ctx, zc)
		if err != nil {
			return nil, err
		}
		answers, err := b.sendWith(ctx, zc, sc, msgs)
		if err != nil || attempt > 0 || !badKey(answers) {
			return answers, err
		}
		// The server no longer knows the context (it restarted, or
		// evicted it: Samba keeps its last 128) and processed nothing.
		// Negotiate a new one and send again, once.
		b.negotiator(zc).Retire(sc)
	}
}

// badKey reports whether an answer says the server does not know the
// signing key (TSIG BADKEY).
func badKey(answers []answer) bool {
	for _, a := range answers {
		if tsigError(a.msg) == dns.RcodeBadKey {
			return true
		}
	}
	return false
}

// sendWith signs the messages with sc (GSS-TSIG), the zone's TSIG key, or
// nothing, and sends them on one connection.
func (b *Backend) sendWith(ctx context.Context, zc Zone, sc *gsstsig.SecContext, msgs []*dns.Msg) ([]answer, error) {
	ids := make([]uint16, len(msgs))
	wires := make([][]byte, len(msgs))
	macs := make([]string, len(msgs))
	now := time.Now().Unix()
	if sc != nil {
		// A server checks each message's MIC sequence number against the
		// ones it has seen: Samba answers BADSIG to one whose number falls
		// between two it has already seen, which concurrent zones on
		// several connections cause. One exchange at a time per context,
		// signed and sent in order.
		l, _ := b.gssLocks.LoadOrStore(sc, make(chan struct{}, 1))
		lock := l.(chan struct{})
		select {
		case lock <- struct{}{}:
		case <-ctx.Done():
			return nil, transportError(ctx.Err(), b.timeout)
		}
		defer func() { <-lock }()
	}
	for i, m := range msgs {
		m.Id = dns.Id()
		for indexOf(ids[:i], m.Id) >= 0 {
			m.Id = dns.Id()
		}
		ids[i] = m.Id
		var err error
		switch {
		case sc != nil:
			wires[i], macs[i], err = sc.Sign(m)
		case zc.Key != nil:
			wires[i], macs[i], err = zc.Key.sign(m, now)
		default:
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
		answers[i].mac, answers[i].sc = macs[i], sc
		if sc != nil {
			answers[i].principal = b.principal(zc)
		}
	}
	return answers, nil
}

// checkAnswer turns an answer whose rcode is not one of ok into an error in
// srvctl's words, and verifies the TSIG of the others when the request was
// signed. name is the owner name the request is about.
func checkAnswer(op string, a answer, zc Zone, zone, name string, ok ...int) error {
	m := a.msg
	if a.sc != nil {
		return checkGSS(op, a, zc, zone, name, ok...)
	}
	if !slices.Contains(ok, m.Rcode) {
		return rcodeError(op, m, zc.signer(), zone)
	}
	if t := m.IsTsig(); t != nil && t.Error != 0 {
		return rcodeError(op, m, zc.signer(), zone)
	}
	key := zc.Key
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

// checkGSS is checkAnswer for a GSS-TSIG signed request. An AD server that
// refuses an update for lack of rights (REFUSED on Windows, SERVFAIL on
// Samba) gets the error that points at srvctl audit ad. Samba answers an
// update it does not apply with a copy of the request, its TSIG included,
// which cannot be verified: such a prerequisite failure is accepted
// unverified as a conflict, which only makes srvctl read the zone again
// (signed, verified). Every other answer must verify; an accepted update
// is confirmed by the read-back that follows every update anyway.
func checkGSS(op string, a answer, zc Zone, zone, name string, ok ...int) error {
	m := a.msg
	principal := cmp.Or(a.principal, zc.GSS.principal())
	signer := "the Kerberos principal " + principal
	_, verr := a.sc.VerifyAnswer(a.raw, a.mac)
	echoed := errors.Is(verr, gsstsig.ErrEchoedMAC)
	// A refusal for lack of rights: Windows' REFUSED (signed), Samba's
	// SERVFAIL (a copy of the request). A SERVFAIL of another shape (a
	// BIND server whose zone is not loaded) is a server failure.
	if op == "update" && ((m.Rcode == dns.RcodeRefused && (verr == nil || echoed)) || (m.Rcode == dns.RcodeServerFailure && echoed)) {
		if err := gsstsig.UpdateDenied(m, principal, zc.Server, name); err != nil {
			return deniedError{err}
		}
	}
	if t := m.IsTsig(); t != nil && t.Error != 0 && !echoed {
		return rcodeError(op, m, signer, zone)
	}
	if !slices.Contains(ok, m.Rcode) {
		return rcodeError(op, m, signer, zone)
	}
	switch {
	case verr == nil:
		return nil
	case op == "update" && m.Rcode != dns.RcodeSuccess && (echoed || errors.Is(verr, gsstsig.ErrUnsigned)):
		return nil // a conflict: nothing was changed, and the zone is read again
	}
	return fmt.Errorf("the answer's GSS-TSIG signature does not verify with the security context of %s (%v)", principal, verr)
}

func tsigError(m *dns.Msg) uint16 {
	if t := m.IsTsig(); t != nil {
		return t.Error
	}
	return 0
}
