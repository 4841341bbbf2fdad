package gsstsig

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/miekg/dns"
)

// Options configure a Negotiator. Only Credentials is required.
type Options struct {
	// Credentials are srvctl's Kerberos identity. The login happens once,
	// at the first Context.
	Credentials Credentials
	// Timeout bounds each DNS exchange of a negotiation or deletion
	// (connect, send, answer); 0 means 5 seconds.
	Timeout time.Duration
	// Lifetime is the context lifetime asked of the server; 0 means one
	// hour. Servers may shorten it (Windows and Samba keep contexts for
	// a limited time, and Samba keeps only its last 128 contexts).
	Lifetime time.Duration
}

// Negotiator establishes GSS-TSIG security contexts for one run: at most
// one per DNS server, negotiated when first asked for and handed to every
// message for that server until Close deletes them all. Its methods may
// be called concurrently.
type Negotiator struct {
	creds    Credentials
	timeout  time.Duration
	lifetime time.Duration
	dialer   net.Dialer

	loginOnce sync.Once
	krb       *client.Client
	loginErr  error

	mu       sync.Mutex
	contexts map[serverKey]*entry
	retired  []*entry // replaced on expiry, still to delete
	closed   bool

	negotiations atomic.Int64
}

type serverKey struct{ addr, hostName string }

// entry is one server's context: negotiated once, by the first caller, while
// the others wait for done.
type entry struct {
	done chan struct{}
	sc   *SecContext
	err  error
}

// New returns a Negotiator; nothing happens on the network until Context.
func New(opts Options) *Negotiator {
	n := &Negotiator{creds: opts.Credentials, timeout: opts.Timeout, lifetime: opts.Lifetime, contexts: make(map[serverKey]*entry)}
	if n.timeout <= 0 {
		n.timeout = 5 * time.Second
	}
	if n.lifetime <= 0 {
		n.lifetime = time.Hour
	}
	return n
}

// expiryMargin is how long before its expiry a context is replaced.
const expiryMargin = time.Minute

// ErrClosed is returned by Context after Close.
var ErrClosed = errors.New("gsstsig: the negotiator is closed")

// Negotiations is the number of TKEY negotiations started so far (each
// successful or failed one counts): one per server per run when contexts
// are reused as they should be.
func (n *Negotiator) Negotiations() int { return int(n.negotiations.Load()) }

// Context returns the security context with the DNS server at server
// ("host:port"; the port defaults to 53), whose Kerberos service principal
// is DNS/<serverHostName>. serverHostName "" means the host part of server,
// which must then be a name, not an address. The first call for a server
// negotiates the context (RFC 3645 section 3, over TCP); later calls, and
// concurrent ones, get the same context. A failed negotiation is
// remembered too: the rest of the run gets the same error.
func (n *Negotiator) Context(ctx context.Context, server, serverHostName string) (*SecContext, error) {
	addr, host, err := serverName(server, serverHostName)
	if err != nil {
		return nil, err
	}
	k := serverKey{addr, host}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, ErrClosed
	}
	e, ok := n.contexts[k]
	if ok {
		n.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the GSS-TSIG negotiation with %s: %w", addr, ctx.Err())
		}
		if e.sc == nil || time.Now().Add(expiryMargin).Before(e.sc.expires) {
			return e.sc, e.err
		}
		// The context is about to expire: negotiate a new one, and
		// keep the old one for Close to delete.
		n.mu.Lock()
		if n.contexts[k] == e {
			delete(n.contexts, k)
			n.retired = append(n.retired, e)
		}
		n.mu.Unlock()
		return n.Context(ctx, server, serverHostName)
	}
	e = &entry{done: make(chan struct{})}
	n.contexts[k] = e
	n.mu.Unlock()
	e.sc, e.err = n.negotiate(ctx, addr, host)
	close(e.done)
	if e.err != nil && transient(e.err) {
		// A network failure is not remembered for the run: the next
		// message for this server tries again.
		n.mu.Lock()
		if n.contexts[k] == e {
			delete(n.contexts, k)
		}
		n.mu.Unlock()
	}
	return e.sc, e.err
}

// transient reports whether a negotiation failed for want of an answer
// (the server or the KDC unreachable, a timeout), not by a refusal.
func transient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrKDCUnreachable) || errors.Is(err, io.EOF)
}

// Retire drops sc, which its server no longer knows (it answered BADKEY:
// restarted, or evicted the context): the next Context for that server
// negotiates a new one. sc is kept for Close to delete.
func (n *Negotiator) Retire(sc *SecContext) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, e := range n.contexts {
		select {
		case <-e.done:
		default:
			continue
		}
		if e.sc == sc {
			delete(n.contexts, k)
			n.retired = append(n.retired, e)
		}
	}
}

// serverName splits server into an address with a port and the host name
// of the service principal.
func serverName(server, hostName string) (addr, host string, err error) {
	h, port, err := net.SplitHostPort(server)
	if err != nil {
		h, port = strings.Trim(server, "[]"), "53"
	}
	if h == "" {
		return "", "", fmt.Errorf("server %q: no host", server)
	}
	addr = net.JoinHostPort(h, port)
	host = strings.ToLower(strings.TrimSuffix(hostName, "."))
	if host == "" {
		if net.ParseIP(h) != nil {
			return "", "", fmt.Errorf("server %s is an address: set the DNS server's host name (its Kerberos service principal is DNS/<host name>)", server)
		}
		host = strings.ToLower(strings.TrimSuffix(h, "."))
	}
	if !hostnameLike(host) {
		return "", "", fmt.Errorf("server %s: %q is not a host name", server, hostName)
	}
	return addr, host, nil
}

// login gets the TGT once per Negotiator.
func (n *Negotiator) login(ctx context.Context) (*client.Client, error) {
	n.loginOnce.Do(func() {
		cl, err := n.creds.Login(ctx)
		n.mu.Lock()
		n.krb, n.loginErr = cl, err
		n.mu.Unlock()
	})
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.krb, n.loginErr
}

// negotiate runs the TKEY exchange of RFC 3645 section 3.1 with the server:
// the AP-REQ for DNS/<host> in a TKEY query (mode 3), the AP-REP back in
// the TKEY answer, which is verified when signed.
func (n *Negotiator) negotiate(ctx context.Context, addr, host string) (*SecContext, error) {
	n.negotiations.Add(1)
	cl, err := n.login(ctx)
	if err != nil {
		return nil, err
	}
	spn := "DNS/" + host
	fail := func(err error) error {
		return fmt.Errorf("GSS-TSIG negotiation with %s (%s): %w", addr, spn, err)
	}
	token, in, err := initiate(cl, spn)
	if err != nil {
		return nil, fail(err)
	}
	keyName, err := newKeyName(cl.Credentials.Realm())
	if err != nil {
		return nil, fail(err)
	}
	q := tkeyQuery(keyName, modeGSSAPI, token, time.Now(), n.lifetime)
	wire, err := q.Pack()
	if err != nil {
		return nil, fail(fmt.Errorf("packing the TKEY query: %w", err))
	}
	raw, m, err := n.exchange(ctx, addr, q.Id, wire)
	if err != nil {
		return nil, fail(err)
	}
	t, err := tkeyAnswer(m, keyName)
	if err != nil {
		return nil, fail(err)
	}
	reply, err := hex.DecodeString(t.Key)
	if err != nil || len(reply) == 0 {
		return nil, fail(errors.New("the TKEY answer holds no GSS-API token"))
	}
	key, subkey, err := in.complete(reply)
	if err != nil {
		return nil, fail(err)
	}
	sc := &SecContext{
		name:           dns.CanonicalName(keyName),
		server:         addr,
		hostName:       host,
		expires:        expiry(t, n.lifetime),
		timeout:        n.timeout,
		key:            key,
		acceptorSubkey: subkey,
		sendSeq:        in.seq,
		seen:           make(map[uint64]struct{}),
	}
	// RFC 3645 section 4.1.3: the server signs the final answer. Its digest
	// omits the request MAC entirely (MS-GSSA section 3.1.5.1), which is
	// what miekg/dns does for an empty request MAC.
	if m.IsTsig() != nil {
		v, err := sc.VerifyAnswer(raw, "")
		if err != nil {
			return nil, fail(fmt.Errorf("the final TKEY answer: %w", err))
		}
		sc.finalVerification = v
	}
	return sc, nil
}

// expiry is when the server stops accepting a context, as its TKEY answer
// says; one that says nothing sensible (an expiry in the past) gets the
// lifetime asked for.
func expiry(t *dns.TKEY, lifetime time.Duration) time.Time {
	now := time.Now()
	if exp := time.Unix(int64(t.Expiration), 0); exp.After(now) {
		return exp
	}
	return now.Add(lifetime)
}

// exchange sends wire (a message with ID id) to addr over a new TCP
// connection and returns the answer.
func (n *Negotiator) exchange(ctx context.Context, addr string, id uint16, wire []byte) ([]byte, *dns.Msg, error) {
	return exchange(ctx, &n.dialer, n.timeout, addr, id, wire)
}

// Close deletes every context (a TKEY query with mode 5, signed with the
// context, RFC 2930 section 4.2), waiting for negotiations still under way,
// and ends the Kerberos session. Errors name the server and key; a context
// that was not established has nothing to delete. Later calls do nothing.
func (n *Negotiator) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	entries := slices.Clone(n.retired)
	for _, e := range n.contexts {
		entries = append(entries, e)
	}
	n.mu.Unlock()
	var errs []error
	for _, e := range entries {
		select {
		case <-e.done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("gsstsig: waiting for a negotiation to end: %w", ctx.Err()))
			continue
		}
		if e.sc != nil {
			if err := n.delete(ctx, e.sc); err != nil {
				errs = append(errs, err)
			}
		}
	}
	n.mu.Lock()
	if n.krb != nil {
		n.krb.Destroy()
	}
	n.mu.Unlock()
	return errors.Join(errs...)
}

// delete asks the server to delete sc and marks it deleted.
func (n *Negotiator) delete(ctx context.Context, sc *SecContext) error {
	fail := func(err error) error {
		return fmt.Errorf("deleting GSS-TSIG key %s at %s: %w", sc.name, sc.server, err)
	}
	q := tkeyQuery(sc.name, modeDelete, nil, time.Now(), 0)
	wire, mac, err := sc.Sign(q)
	sc.mu.Lock()
	sc.deleted = true
	sc.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	raw, m, err := n.exchange(ctx, sc.server, q.Id, wire)
	if err != nil {
		return fail(err)
	}
	if t := m.IsTsig(); t != nil {
		if _, err := sc.VerifyAnswer(raw, mac); err != nil {
			return fail(err)
		}
	}
	if _, err := tkeyAnswer(m, sc.name); err != nil {
		return fail(err)
	}
	return nil
}
