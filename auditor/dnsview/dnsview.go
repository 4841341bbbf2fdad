// Package dnsview shows what every authoritative server of a zone serves:
// for each zone it asks each server, non-recursively, for the zone's SOA
// serial and the service SRV RRset (_vlmcs._tcp.<zone>), and reports
// servers that do not answer, are not authoritative (lame), lag behind the
// others (a lower serial, RFC 1982) or serve a different RRset.
//
// The servers are a configured list or the zone's NS RRset, looked up
// through a resolver together with the addresses of the NS names. Queries
// go over UDP, pipelined per server and retried over TCP when truncated,
// with a bound on the exchanges in flight.
package dnsview

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/zones"
)

// Defaults of Options.
const (
	DefaultPort        = 53
	DefaultTimeout     = 3 * time.Second
	DefaultConcurrency = 64
)

// resolvConf is where the system resolver is read from when
// Options.Resolver is empty.
var resolvConf = "/etc/resolv.conf"

// Options configure a Viewer. The zero value asks the system resolver and
// port 53 with DefaultTimeout and DefaultConcurrency.
type Options struct {
	// Resolver is the "ip:port" (or bare IP, port 53) of the server that
	// answers the NS queries of zones and the A/AAAA queries of server
	// names, with recursion desired. "" means the first nameserver of
	// /etc/resolv.conf, port 53.
	Resolver string
	// Port is the port of servers found through NS records and of
	// configured server names without a port; 0 means 53.
	Port uint16
	// Timeout bounds each query, resends included; 0 means 3 s.
	Timeout time.Duration
	// Concurrency bounds the exchanges in flight (an exchange sends a
	// server's SOA and SRV queries together, or a name's A and AAAA
	// queries); 0 means 64.
	Concurrency int
}

// Query asks for one zone.
type Query struct {
	// Zone is the zone name, trailing dot optional.
	Zone string
	// Owner is the owner name of the SRV RRset; "" means
	// _vlmcs._tcp.<Zone>. It must be Zone or a name below it.
	Owner string
	// Servers are "host:port" or "host" entries (host a name or an IP
	// address; port Options.Port when left out). A name stands for each of
	// its A and AAAA addresses. Empty means the zone's NS RRset.
	Servers []string
}

// Status is what one server's answers were like.
type Status string

// The statuses of a server.
const (
	// StatusOK: authoritative answers to both queries.
	StatusOK Status = "ok"
	// StatusNoAnswer: no answer within the timeout, or the connection was
	// refused or unreachable.
	StatusNoAnswer Status = "no-answer"
	// StatusLame: the server answered but is not authoritative for the
	// zone: no AA bit, a referral, REFUSED, NOTAUTH, SERVFAIL, or the zone
	// is only a name inside another zone there.
	StatusLame Status = "lame"
	// StatusError: anything else, e.g. an NS name without addresses, a
	// malformed answer, an rcode such as FORMERR, a CNAME at the owner.
	StatusError Status = "error"
)

// Kind is what a Finding is about.
type Kind string

// The kinds of findings.
const (
	// KindNoServers: no server of the zone answered with authority (or
	// none could be found: see Zone.Err).
	KindNoServers Kind = "no-servers"
	// KindNoAnswer: a server with StatusNoAnswer.
	KindNoAnswer Kind = "no-answer"
	// KindLame: a server with StatusLame.
	KindLame Kind = "lame"
	// KindError: a server with StatusError.
	KindError Kind = "error"
	// KindLagging: a server whose serial is lower (RFC 1982) than the
	// highest among the servers that answered.
	KindLagging Kind = "lagging"
	// KindDiffers: a server whose SRV RRset (records and TTLs) is not the
	// one the servers with the highest serial serve.
	KindDiffers Kind = "differs"
)

// Zone is what the servers of one zone serve.
type Zone struct {
	Zone  string `json:"zone"`  // canonical zone name
	Owner string `json:"owner"` // canonical owner name of the SRV RRset
	// Servers in the order of Query.Servers, or sorted by NS name and
	// address when found through NS records.
	Servers []Server `json:"servers"`
	// Err says why the zone could not be audited, or not completely: the
	// zone or owner name is invalid, its NS lookup failed (e.g. the zone
	// does not exist), or the context ended first. Findings are left out
	// when the context ended.
	Err string `json:"error,omitempty"`
	// Findings are the problems, per server in Servers order, after
	// no-servers if it applies.
	Findings []Finding `json:"findings,omitempty"`
}

// Newest returns the RRset clients get: the one the answering servers with
// the highest serial serve (the others are reported as lagging or
// differing); nil when no server answered.
func (z Zone) Newest() []zones.Record {
	var best *Server
	for i := range z.Servers {
		s := &z.Servers[i]
		if s.Status != StatusOK {
			continue
		}
		if best == nil || SerialLess(best.Serial, s.Serial) {
			best = s
		}
	}
	if best == nil {
		return nil
	}
	return best.Records
}

// Server is what one address of one server answered.
type Server struct {
	// Name is the canonical NS name, or the configured entry as given.
	Name string `json:"name"`
	// Addr is "ip:port"; "" when Name has no address.
	Addr   string `json:"addr,omitempty"`
	Status Status `json:"status"`
	// Detail says why the status is not ok.
	Detail string `json:"detail,omitempty"`
	// Serial is the SOA serial (StatusOK only).
	Serial uint32 `json:"serial"`
	// Records are the SRV RRset, sorted by zones.Sort, targets canonical
	// (StatusOK only).
	Records []zones.Record `json:"records"`
	// RTT is the time from sending the queries to the last answer.
	RTT time.Duration `json:"rtt_ns"`
}

// label names the server in findings: "name (addr)", or addr alone when
// they are the same.
func (s Server) label() string {
	switch {
	case s.Addr == "" || s.Addr == s.Name:
		return s.Name
	case s.Name == "":
		return s.Addr
	}
	return s.Name + " (" + s.Addr + ")"
}

// Finding is one problem of a zone.
type Finding struct {
	Kind Kind `json:"kind"`
	// Server and Addr are the server's Name and Addr ("" for no-servers).
	Server string `json:"server,omitempty"`
	Addr   string `json:"addr,omitempty"`
	// Detail is a sentence naming the server and, for lagging, both
	// serials, for differs, each record that differs.
	Detail string `json:"detail"`
}

// Viewer asks the servers of zones what they serve. Its methods may be
// called concurrently.
type Viewer struct {
	resolver    netip.AddrPort
	resolverErr error // why there is no resolver (the system's could not be read)
	port        uint16
	timeout     time.Duration
	concurrency int
}

// New returns a Viewer. It fails when Options.Resolver is not an IP
// address with an optional port. When Resolver is empty and the system
// resolver cannot be read, New succeeds and the zones that need a
// resolver report why in Zone.Err.
func New(o Options) (*Viewer, error) {
	v := &Viewer{port: o.Port, timeout: o.Timeout, concurrency: o.Concurrency}
	if v.port == 0 {
		v.port = DefaultPort
	}
	if v.timeout <= 0 {
		v.timeout = DefaultTimeout
	}
	if v.concurrency <= 0 {
		v.concurrency = DefaultConcurrency
	}
	if o.Resolver != "" {
		ap, err := parseIPPort(o.Resolver, DefaultPort)
		if err != nil {
			return nil, fmt.Errorf("dnsview: resolver %q: %w", o.Resolver, err)
		}
		v.resolver = ap
		return v, nil
	}
	v.resolver, v.resolverErr = systemResolver(resolvConf)
	return v, nil
}

// systemResolver is the first nameserver of the resolv.conf file at path.
func systemResolver(path string) (netip.AddrPort, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("no resolver set and the system's cannot be read: %w", err)
	}
	if len(cc.Servers) == 0 {
		return netip.AddrPort{}, fmt.Errorf("no resolver set and %s names no nameserver", path)
	}
	port, err := strconv.ParseUint(cc.Port, 10, 16)
	if err != nil {
		port = DefaultPort
	}
	ap, err := parseIPPort(cc.Servers[0], uint16(port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("no resolver set and nameserver %q of %s: %w", cc.Servers[0], path, err)
	}
	return ap, nil
}

// parseIPPort parses "ip", "ip:port", "[ipv6]:port" or a bare IPv6
// address, with port def when none is given.
func parseIPPort(s string, def uint16) (netip.AddrPort, error) {
	host, port, err := splitHostPort(s, def)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not an IP address", host)
	}
	return netip.AddrPortFrom(ip.Unmap(), port), nil
}

// splitHostPort splits "host:port", "[v6]:port", "host" or a bare IPv6
// address; def is the port when none is given.
func splitHostPort(s string, def uint16) (string, uint16, error) {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return ip.String(), def, nil
	}
	if !strings.Contains(s, ":") {
		if s == "" {
			return "", 0, errors.New("empty server")
		}
		return s, def, nil
	}
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	if host == "" {
		return "", 0, errors.New("no host before the port")
	}
	return host, uint16(port), nil
}

// View asks every server of every zone in qs and returns the results in
// the order of qs. One zone's failure never stops the others; when ctx
// ends, every query stops and the zones not finished say so in Err.
//
// Within one call, each server name is looked up once, and an address
// that has never answered and has let three exchanges time out is not
// asked again: its later servers get StatusNoAnswer at once, with a Detail
// that says so (a server that answered once is always asked).
func (v *Viewer) View(ctx context.Context, qs []Query) []Zone {
	r := &run{
		v:     v,
		tr:    newTransport(v.timeout, v.concurrency),
		names: make(map[string]*lookup),
	}
	defer r.tr.close()
	out := make([]Zone, len(qs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(v.concurrency, len(qs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(qs) {
					return
				}
				out[i] = r.zone(ctx, qs[i])
			}
		})
	}
	wg.Wait()
	return out
}

// run is the state of one View call: the transport and the addresses of
// server names, each looked up once.
type run struct {
	v  *Viewer
	tr *transport

	mu    sync.Mutex
	names map[string]*lookup // canonical name -> its addresses
}

// lookup is the A and AAAA lookup of one name, shared by every zone that
// needs it. done is closed when addrs and err are set.
type lookup struct {
	done  chan struct{}
	addrs []netip.Addr
	err   error
}

// zone audits one zone.
func (r *run) zone(ctx context.Context, q Query) Zone {
	z := Zone{Zone: zones.Canonical(q.Zone), Owner: zones.Canonical(q.Owner)}
	if strings.TrimSpace(q.Owner) == "" {
		z.Owner = zones.Owner(zones.DefaultService, z.Zone)
	}
	if err := zones.CheckZoneName(q.Zone); err != nil {
		z.Err = fmt.Sprintf("zone name: %v", err)
		return z
	}
	if _, ok := dns.IsDomainName(z.Owner); !ok || !dns.IsSubDomain(z.Zone, z.Owner) {
		z.Err = fmt.Sprintf("owner %q is not a name in zone %s", q.Owner, z.Zone)
		return z
	}
	if err := ctxErr(ctx); err != nil {
		z.Err = stopped(err)
		return z
	}

	if len(q.Servers) > 0 {
		z.Servers = r.configured(ctx, q.Servers)
	} else {
		servers, err := r.discover(ctx, z.Zone)
		if err != nil {
			z.Err = err.Error()
		}
		z.Servers = servers
	}

	forEach(len(z.Servers), func(i int) {
		if s := &z.Servers[i]; s.Status == "" {
			r.ask(ctx, s, z.Zone, z.Owner)
		}
	})
	if err := ctxErr(ctx); err != nil {
		z.Err = stopped(err)
		return z
	}
	z.Findings = Findings(z.Servers)
	if !slices.ContainsFunc(z.Servers, func(s Server) bool { return s.Status == StatusOK }) {
		d := fmt.Sprintf("no server of %s answered with authority (%d asked)", z.Zone, len(z.Servers))
		if z.Err != "" {
			d = z.Err
		}
		z.Findings = slices.Insert(z.Findings, 0, Finding{Kind: KindNoServers, Detail: d})
	}
	return z
}

// stopped is Zone.Err for a zone whose audit ctx ended.
func stopped(err error) string {
	return "audit stopped before this zone was done: " + err.Error()
}

// forEach calls f(0) ... f(n-1), concurrently when n > 1, and waits.
func forEach(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// configured turns the configured entries into servers: IP addresses as
// they are, names into one server per address. A Server whose Status is
// set already (StatusError) is not asked.
func (r *run) configured(ctx context.Context, entries []string) []Server {
	per := make([][]Server, len(entries))
	forEach(len(entries), func(i int) {
		name := strings.TrimSpace(entries[i])
		host, port, err := splitHostPort(name, r.v.port)
		if err != nil {
			per[i] = []Server{{Name: name, Status: StatusError, Detail: fmt.Sprintf("server %q: %v", name, err)}}
			return
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			per[i] = []Server{{Name: name, Addr: netip.AddrPortFrom(ip.Unmap(), port).String()}}
			return
		}
		if _, ok := dns.IsDomainName(host); !ok {
			per[i] = []Server{{Name: name, Status: StatusError, Detail: fmt.Sprintf("server %q: %q is neither an IP address nor a domain name", name, host)}}
			return
		}
		per[i] = r.resolve(ctx, name, zones.Canonical(host), port)
	})
	return slices.Concat(per...)
}

// discover finds the zone's servers: its NS RRset, then the addresses of
// each NS name, sorted by name and address.
func (r *run) discover(ctx context.Context, zone string) ([]Server, error) {
	names, err := r.nameservers(ctx, zone)
	if err != nil {
		return nil, err
	}
	per := make([][]Server, len(names))
	forEach(len(names), func(i int) {
		per[i] = r.resolve(ctx, names[i], names[i], r.v.port)
	})
	return slices.Concat(per...), nil
}

// resolve returns one server per address of host (canonical), named name,
// or a single server with StatusError when host has no address.
func (r *run) resolve(ctx context.Context, name, host string, port uint16) []Server {
	addrs, err := r.addrs(ctx, host)
	if err != nil {
		return []Server{{Name: name, Status: StatusError, Detail: err.Error()}}
	}
	out := make([]Server, len(addrs))
	for i, a := range addrs {
		out[i] = Server{Name: name, Addr: netip.AddrPortFrom(a, port).String()}
	}
	return out
}

// addrs returns the addresses of name, looking each name up only once per
// run however many zones need it.
func (r *run) addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	r.mu.Lock()
	l, found := r.names[name]
	if !found {
		l = &lookup{done: make(chan struct{})}
		r.names[name] = l
	}
	r.mu.Unlock()
	if !found {
		l.addrs, l.err = r.lookupAddrs(ctx, name)
		close(l.done)
		return l.addrs, l.err
	}
	select {
	case <-l.done:
		return l.addrs, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// resolverQuery sends qs to the resolver with recursion desired.
func (r *run) resolverQuery(ctx context.Context, qs ...*dns.Msg) ([]*dns.Msg, error) {
	if r.v.resolverErr != nil {
		return nil, r.v.resolverErr
	}
	for _, q := range qs {
		q.RecursionDesired = true
	}
	answers, _, err := r.tr.exchange(ctx, r.v.resolver, qs)
	if err != nil {
		return nil, fmt.Errorf("resolver %s: %w", r.v.resolver, err)
	}
	return answers, nil
}

// ask sends the zone's SOA query and the owner's SRV query to the server
// together and fills in s.
func (r *run) ask(ctx context.Context, s *Server, zone, owner string) {
	ap, err := netip.ParseAddrPort(s.Addr)
	if err != nil { // cannot happen: Addr was built from an AddrPort
		s.Status, s.Detail = StatusError, fmt.Sprintf("address %q: %v", s.Addr, err)
		return
	}
	answers, rtt, err := r.tr.exchange(ctx, ap, []*dns.Msg{query(zone, dns.TypeSOA), query(owner, dns.TypeSRV)})
	if err != nil {
		var ee *exchangeError
		if errors.As(err, &ee) {
			s.Status, s.Detail = ee.status, ee.detail
		} else {
			s.Status, s.Detail = StatusError, err.Error()
		}
		return
	}
	s.RTT = rtt
	serial, st, detail := checkSOA(answers[0], zone)
	if st != StatusOK {
		s.Status, s.Detail = st, detail
		return
	}
	records, st, detail := checkSRV(answers[1], owner)
	if st != StatusOK {
		s.Status, s.Detail = st, detail
		return
	}
	s.Status, s.Serial, s.Records = StatusOK, serial, records
}

// query is a non-recursive query with EDNS0.
func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	m.SetEdns0(udpSize, false)
	return m
}
