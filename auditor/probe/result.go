package probe

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Target is what an SRV record points at: a host and a port.
type Target struct {
	Host string `json:"host"` // canonical FQDN: lower case, trailing dot
	Port uint16 `json:"port"`
}

// String formats t as "kms1.example.com.:1688".
func (t Target) String() string {
	return net.JoinHostPort(t.Host, strconv.Itoa(int(t.Port)))
}

// ResolveStatus is the outcome of looking a target's host up.
type ResolveStatus string

// The outcomes of resolving a target's host (A and AAAA queries).
const (
	// ResolveOK: at least one A or AAAA record.
	ResolveOK ResolveStatus = "ok"
	// ResolveNXDomain: the name does not exist.
	ResolveNXDomain ResolveStatus = "nxdomain"
	// ResolveNoAddress: the name exists (NOERROR) but has no A or AAAA
	// record.
	ResolveNoAddress ResolveStatus = "no-address"
	// ResolveCNAME: the name is an alias (Result.Alias says of what),
	// which RFC 2782 forbids for SRV targets. Aliases are not followed.
	ResolveCNAME ResolveStatus = "cname"
	// ResolveError: no usable answer (SERVFAIL, REFUSED, a timeout, an
	// invalid name); Result.ResolveDetail says which.
	ResolveError ResolveStatus = "error"
	// ResolveCanceled: the context ended before the host was resolved.
	ResolveCanceled ResolveStatus = "canceled"
)

// Status is the outcome of probing one address of a target.
type Status string

// The outcomes of probing one address.
const (
	// StatusKMS: the address answered the bind with a bind_ack that
	// accepts the KMS interface (ModeKMS).
	StatusKMS Status = "kms"
	// StatusOpen: the TCP connection was accepted (ModeTCP).
	StatusOpen Status = "open"
	// StatusNotKMS: connected, but the reply is not an accepting
	// bind_ack; Detail says what was seen.
	StatusNotKMS Status = "not-kms"
	// StatusRefused: the connection was refused or reset.
	StatusRefused Status = "refused"
	// StatusTimeout: no connection, or no reply to the bind, within
	// Options.Timeout.
	StatusTimeout Status = "timeout"
	// StatusUnreachable: any other network error (no route, network
	// unreachable, ...); Detail says which.
	StatusUnreachable Status = "unreachable"
	// StatusUnprobed: the address was not probed (ModeNone).
	StatusUnprobed Status = "unprobed"
	// StatusCanceled: the context ended before the probe finished.
	StatusCanceled Status = "canceled"
)

// AddrResult is the probe of one address of a target.
type AddrResult struct {
	Addr   netip.Addr `json:"addr"`
	Status Status     `json:"status"`
	// Detail says what was seen, for every status but kms, open and
	// unprobed: e.g. "bind_nak reason 2 (local limit exceeded)".
	Detail string `json:"detail,omitempty"`
	// Latency is the time from the start of the connection to the
	// verdict: connect plus bind round trip for kms and not-kms, connect
	// for open, the time until the failure otherwise; 0 when unprobed.
	Latency time.Duration `json:"latency_ns"`
}

// String formats a as "192.0.2.1 refused" or "192.0.2.1 not-kms (detail)".
func (a AddrResult) String() string {
	if a.Detail == "" {
		return a.Addr.String() + " " + string(a.Status)
	}
	return fmt.Sprintf("%s %s (%s)", a.Addr, a.Status, a.Detail)
}

// live reports whether a answered as a KMS host or accepted the connection.
func (a AddrResult) live() bool { return a.Status == StatusKMS || a.Status == StatusOpen }

// Result is what was found about one target.
type Result struct {
	Target Target `json:"target"`
	// Mode is the Prober's mode.
	Mode Mode `json:"mode"`
	// Resolve is the outcome of the A and AAAA queries.
	Resolve ResolveStatus `json:"resolve"`
	// ResolveDetail explains ResolveError (e.g. "A query to
	// 192.0.2.53:53: SERVFAIL") and ResolveCanceled; with ResolveOK it
	// notes a query that failed while the other gave addresses.
	ResolveDetail string `json:"resolve_detail,omitempty"`
	// Alias is the canonical name the target is an alias of (ResolveCNAME).
	Alias string `json:"alias,omitempty"`
	// Addrs are the target's addresses, IPv4 first, each probed
	// separately; empty unless Resolve is ResolveOK.
	Addrs []AddrResult `json:"addrs"`
	// Live: at least one address answered as a KMS host (ModeKMS) or
	// accepted the connection (ModeTCP). Always false in ModeNone.
	Live bool `json:"live"`
	// Probed: the result is a verdict on the target's liveness, to be
	// recorded (as in the stale state). It is false in ModeNone and when
	// the context ended before the target was fully checked; true
	// otherwise, whether or not the host resolved.
	Probed bool `json:"probed"`
}

// Failed reports whether the target was probed and found dead: it does
// not resolve to an address, or none of its addresses is live.
func (r Result) Failed() bool { return r.Probed && !r.Live }

// Reason is a short sentence on the result, meant to follow the target's
// name: "does not resolve (NXDOMAIN)", "no answer on 1688 (2 addresses:
// 192.0.2.1 timeout, 2001:db8::1 refused)". It holds no latency, so that
// it is the same from run to run for the same findings.
func (r Result) Reason() string {
	switch r.Resolve {
	case ResolveNXDomain:
		return "does not resolve (NXDOMAIN)"
	case ResolveNoAddress:
		return "has no address (the name exists but has no A or AAAA record)"
	case ResolveCNAME:
		return fmt.Sprintf("is a CNAME to %s (RFC 2782 forbids aliases as targets)", r.Alias)
	case ResolveError:
		return "cannot be resolved: " + r.ResolveDetail
	case ResolveCanceled:
		return "not checked: canceled"
	case ResolveOK:
	default:
		return fmt.Sprintf("unknown resolve status %q", r.Resolve)
	}
	port := r.Target.Port
	var live, notKMS, dead, canceled []AddrResult
	for _, a := range r.Addrs {
		switch {
		case a.live():
			live = append(live, a)
		case a.Status == StatusNotKMS:
			notKMS = append(notKMS, a)
		case a.Status == StatusCanceled:
			canceled = append(canceled, a)
		case a.Status != StatusUnprobed:
			dead = append(dead, a)
		}
	}
	switch {
	case r.Mode == ModeNone:
		return fmt.Sprintf("resolves to %s (not probed)", joinAddrs(r.Addrs, false))
	case len(live) > 0:
		what := "KMS host answers"
		if r.Mode == ModeTCP {
			what = "open"
		}
		s := fmt.Sprintf("%s on %d at %s", what, port, joinAddrs(live, false))
		if rest := concat(notKMS, dead, canceled); len(rest) > 0 {
			s += "; not at " + joinAddrs(rest, true)
		}
		return s
	case len(canceled) > 0:
		return "probe canceled"
	case len(notKMS) == len(r.Addrs):
		s := fmt.Sprintf("port %d open but not a KMS host: ", port)
		if sameDetail(notKMS) {
			s += notKMS[0].Detail
			if len(notKMS) > 1 {
				s += fmt.Sprintf(" (all %d addresses)", len(notKMS))
			}
			return s
		}
		return s + joinAddrs(notKMS, true)
	case len(notKMS) > 0:
		return fmt.Sprintf("no KMS host on %d (%s)", port, countAddrs(r.Addrs))
	default:
		return fmt.Sprintf("no answer on %d (%s)", port, countAddrs(r.Addrs))
	}
}

func concat(lists ...[]AddrResult) []AddrResult {
	var out []AddrResult
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// joinAddrs lists the addresses, with their status when withStatus.
func joinAddrs(addrs []AddrResult, withStatus bool) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.Addr.String()
		if withStatus {
			parts[i] = addrPhrase(a)
		}
	}
	return strings.Join(parts, ", ")
}

// countAddrs is "2 addresses: 192.0.2.1 timeout, 2001:db8::1 refused".
func countAddrs(addrs []AddrResult) string {
	noun := "addresses"
	if len(addrs) == 1 {
		noun = "address"
	}
	return fmt.Sprintf("%d %s: %s", len(addrs), noun, joinAddrs(addrs, true))
}

// addrPhrase is one address and what happened to it, in few words.
func addrPhrase(a AddrResult) string {
	switch a.Status {
	case StatusRefused, StatusTimeout, StatusCanceled:
		return a.Addr.String() + " " + string(a.Status)
	case StatusNotKMS:
		return fmt.Sprintf("%s not a KMS host (%s)", a.Addr, a.Detail)
	default:
		return a.String()
	}
}

func sameDetail(addrs []AddrResult) bool {
	for _, a := range addrs[1:] {
		if a.Detail != addrs[0].Detail {
			return false
		}
	}
	return true
}
