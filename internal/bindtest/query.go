package bindtest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/zones"
)

// Query sends a non-recursive query for name (made absolute) and qtype over
// TCP, with a fresh connection, and returns the answer whatever its rcode.
func (s *Server) Query(name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	c := &dns.Client{Net: "tcp", Timeout: queryTimeout}
	r, _, err := c.ExchangeContext(ctx, m, s.Addr)
	if err != nil {
		return nil, fmt.Errorf("bindtest: query %s %s at %s: %w", dns.Fqdn(name), dns.TypeToString[qtype], s.Addr, err)
	}
	return r, nil
}

// Records is SRV as srvctl's model: canonical targets, in zones.Sort order.
func (s *Server) Records(zone string) ([]zones.Record, error) {
	rrs, err := s.SRV(zone)
	if err != nil {
		return nil, err
	}
	out := make([]zones.Record, 0, len(rrs))
	for _, r := range rrs {
		out = append(out, zones.Record{Target: zones.Canonical(r.Target), Port: r.Port, Priority: r.Priority, Weight: r.Weight, TTL: r.Hdr.Ttl})
	}
	return zones.Sort(out), nil
}

// SRV returns the _vlmcs._tcp.<zone> SRV RRset as the server answers it,
// sorted by priority, weight, port and target; empty when the zone has
// none. Anything but an authoritative NOERROR or NXDOMAIN is an error.
func (s *Server) SRV(zone string) ([]*dns.SRV, error) {
	name := "_vlmcs._tcp." + absolute(zone)
	r, err := s.Query(name, dns.TypeSRV)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError || !r.Authoritative {
		return nil, fmt.Errorf("bindtest: SRV %s at %s: %s, authoritative %v", name, s.Addr, dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	var out []*dns.SRV
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			out = append(out, srv)
		}
	}
	slices.SortFunc(out, func(a, b *dns.SRV) int {
		return cmp.Or(
			cmp.Compare(a.Priority, b.Priority),
			cmp.Compare(a.Weight, b.Weight),
			cmp.Compare(a.Port, b.Port),
			strings.Compare(strings.ToLower(a.Target), strings.ToLower(b.Target)),
		)
	})
	return out, nil
}

// Serial returns the serial of the zone's SOA as the server answers it.
func (s *Server) Serial(zone string) (uint32, error) {
	r, err := s.Query(absolute(zone), dns.TypeSOA)
	if err != nil {
		return 0, err
	}
	if r.Rcode == dns.RcodeSuccess && r.Authoritative {
		for _, rr := range r.Answer {
			if soa, ok := rr.(*dns.SOA); ok {
				return soa.Serial, nil
			}
		}
	}
	return 0, fmt.Errorf("bindtest: no authoritative SOA for %s at %s: %s", absolute(zone), s.Addr, dns.RcodeToString[r.Rcode])
}

// NSUpdate runs the real nsupdate with -k KeyFile(key), feeding it
// "server 127.0.0.1 PORT", script (update lines, e.g. "update add
// _vlmcs._tcp.corp.example.com. 60 IN SRV 0 0 1688 kms1.corp.example.com.")
// and "send". It fails with nsupdate's output when nsupdate does, as for an
// update the server refuses.
func (s *Server) NSUpdate(key, script string) error {
	key = strings.TrimSuffix(key, ".")
	if _, ok := s.Secrets[key]; !ok {
		return fmt.Errorf("bindtest: nsupdate: no key %q (keys are set in Options.Keys)", key)
	}
	nsupdate, err := findBinary("nsupdate")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), nsupdateTime)
	defer cancel()
	cmd := exec.CommandContext(ctx, nsupdate, "-k", s.KeyFile(key))
	cmd.Stdin = strings.NewReader(fmt.Sprintf("server 127.0.0.1 %d\n%s\nsend\n", s.Port, script))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bindtest: nsupdate with key %s: %w: %s", key, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Rndc runs the real rndc against this named's control channel (which
// Options.Rndc opens) with args, e.g. "reload", "corp.example.com", and
// returns its output. It fails with that output when rndc does.
func (s *Server) Rndc(args ...string) (string, error) {
	if s.RndcConf == "" {
		return "", errors.New("bindtest: rndc: the control channel is off (set Options.Rndc)")
	}
	rndc, err := findBinary("rndc")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), nsupdateTime)
	defer cancel()
	out, err := exec.CommandContext(ctx, rndc, append([]string{"-c", s.RndcConf}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("bindtest: rndc %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
