package dnsview

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/zones"
)

// nameservers asks the resolver for the zone's NS RRset and returns the
// NS names, canonical, sorted and without duplicates. A referral to the
// zone itself (from a resolver that is an authoritative server of the
// parent) counts as the NS RRset too.
func (r *run) nameservers(ctx context.Context, zone string) ([]string, error) {
	answers, err := r.resolverQuery(ctx, query(zone, dns.TypeNS))
	if err != nil {
		return nil, fmt.Errorf("NS lookup of zone %s: %w", zone, err)
	}
	m := answers[0]
	switch m.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, fmt.Errorf("zone %s does not exist (NXDOMAIN from resolver %s for its NS RRset)", zone, r.v.resolver)
	default:
		return nil, fmt.Errorf("NS lookup of zone %s: resolver %s answered %s", zone, r.v.resolver, rcode(m.Rcode))
	}
	var names []string
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			switch rr := rr.(type) {
			case *dns.NS:
				if strings.EqualFold(rr.Hdr.Name, zone) {
					names = append(names, zones.Canonical(rr.Ns))
				}
			case *dns.CNAME:
				if strings.EqualFold(rr.Hdr.Name, zone) {
					return nil, fmt.Errorf("%s is an alias (CNAME to %s), not a zone", zone, zones.Canonical(rr.Target))
				}
			}
		}
		if len(names) > 0 {
			break
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s is not a zone: resolver %s knows the name but it has no NS records", zone, r.v.resolver)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// lookupAddrs asks the resolver for the A and AAAA records of name
// together and returns the addresses, IPv4 first, each family sorted.
func (r *run) lookupAddrs(ctx context.Context, name string) ([]netip.Addr, error) {
	answers, err := r.resolverQuery(ctx, query(name, dns.TypeA), query(name, dns.TypeAAAA))
	if err != nil {
		return nil, fmt.Errorf("address lookup of %s: %w", name, err)
	}
	var v4, v6 []netip.Addr
	var problems []string
	for _, m := range answers {
		if m.Rcode != dns.RcodeSuccess {
			p := dns.TypeToString[m.Question[0].Qtype] + " " + rcode(m.Rcode)
			if !slices.Contains(problems, p) {
				problems = append(problems, p)
			}
			continue
		}
		for _, rr := range m.Answer {
			switch rr := rr.(type) {
			case *dns.A:
				if ip, ok := netip.AddrFromSlice(rr.A.To4()); ok {
					v4 = append(v4, ip)
				}
			case *dns.AAAA:
				if ip, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
					v6 = append(v6, ip)
				}
			}
		}
	}
	slices.SortFunc(v4, netip.Addr.Compare)
	slices.SortFunc(v6, netip.Addr.Compare)
	addrs := slices.Concat(slices.Compact(v4), slices.Compact(v6))
	if len(addrs) == 0 {
		why := "NOERROR, no data"
		if len(problems) > 0 {
			why = strings.Join(problems, ", ")
		}
		return nil, fmt.Errorf("%s has no A or AAAA records (%s from resolver %s)", name, why, r.v.resolver)
	}
	return addrs, nil
}

// rcode names an rcode, or gives its number.
func rcode(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("rcode %d", rc)
}

// lameRcode reports whether rc is an answer of a server that does not
// serve the zone (or cannot: SERVFAIL is what BIND answers for a zone it
// failed to load or whose transfers expired).
func lameRcode(rc int) bool {
	return rc == dns.RcodeRefused || rc == dns.RcodeNotAuth || rc == dns.RcodeServerFailure
}

// notAuthoritative describes an answer without the AA bit.
func notAuthoritative(m *dns.Msg, what string) string {
	var ns []string
	for _, rr := range m.Ns {
		if n, ok := rr.(*dns.NS); ok {
			ns = append(ns, zones.Canonical(n.Ns))
		}
	}
	if len(ns) > 0 && len(m.Answer) == 0 {
		return fmt.Sprintf("not authoritative: the %s query got a referral to %s", what, strings.Join(ns, ", "))
	}
	return fmt.Sprintf("not authoritative: the %s answer has no AA bit", what)
}

// checkSOA requires an authoritative answer holding the SOA of the zone
// itself, and returns its serial.
func checkSOA(m *dns.Msg, zone string) (uint32, Status, string) {
	switch {
	case lameRcode(m.Rcode):
		return 0, StatusLame, fmt.Sprintf("the SOA query was answered %s", rcode(m.Rcode))
	case m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError:
		return 0, StatusError, fmt.Sprintf("the SOA query was answered %s", rcode(m.Rcode))
	case !m.Authoritative:
		return 0, StatusLame, notAuthoritative(m, "SOA")
	}
	if m.Rcode == dns.RcodeSuccess {
		for _, rr := range m.Answer {
			if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, zone) {
				return soa.Serial, StatusOK, ""
			}
		}
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			if m.Rcode == dns.RcodeNameError {
				return 0, StatusLame, fmt.Sprintf("%s is not a zone there: the name does not exist in zone %s (NXDOMAIN)", zone, zones.Canonical(soa.Hdr.Name))
			}
			return 0, StatusLame, fmt.Sprintf("%s is not a zone there: it is a name inside zone %s", zone, zones.Canonical(soa.Hdr.Name))
		}
	}
	return 0, StatusError, fmt.Sprintf("the authoritative %s answer to the SOA query holds no SOA record", rcode(m.Rcode))
}

// checkSRV requires an authoritative answer (NOERROR, or NXDOMAIN for an
// owner that does not exist) and returns the SRV RRset at owner.
func checkSRV(m *dns.Msg, owner string) ([]zones.Record, Status, string) {
	switch {
	case lameRcode(m.Rcode):
		return nil, StatusLame, fmt.Sprintf("the SRV query was answered %s", rcode(m.Rcode))
	case m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError:
		return nil, StatusError, fmt.Sprintf("the SRV query was answered %s", rcode(m.Rcode))
	case !m.Authoritative:
		return nil, StatusLame, notAuthoritative(m, "SRV")
	}
	var out []zones.Record
	for _, rr := range m.Answer {
		if !strings.EqualFold(rr.Header().Name, owner) {
			continue
		}
		s, ok := rr.(*dns.SRV)
		if !ok {
			return nil, StatusError, fmt.Sprintf("%s holds a %s record, not SRV records", owner, dns.TypeToString[rr.Header().Rrtype])
		}
		out = append(out, zones.Record{
			Target:   zones.Canonical(s.Target),
			Port:     s.Port,
			Priority: s.Priority,
			Weight:   s.Weight,
			TTL:      s.Hdr.Ttl,
		})
	}
	return zones.Sort(out), StatusOK, ""
}
