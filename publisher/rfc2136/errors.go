package rfc2136

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Error is a failed read or update of a zone at its server. Rcode is the
// DNS response code of the answer, or -1 when there was none (timeout,
// connection error); TSIGError is the TSIG error the server reported
// (dns.RcodeBadSig, RcodeBadKey, RcodeBadTime) or 0.
type Error struct {
	Zone      string
	Server    string
	Op        string // "read" or "update"
	Rcode     int
	TSIGError uint16
	Err       error // the cause in srvctl's words
}

func (e *Error) Error() string {
	op := "reading"
	if e.Op == "update" {
		op = "updating"
	}
	return fmt.Sprintf("%s zone %s at %s: %v", op, e.Zone, e.Server, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNotAuthorized is wrapped by errors that mean the server did not accept
// srvctl's key for this zone or name.
var ErrNotAuthorized = errors.New("not authorized: wrong key or update-policy")

// ErrNotAuthoritative is wrapped when the server does not serve the zone.
var ErrNotAuthoritative = errors.New("not authoritative")

// rcodeError explains an answer's failure. keyName says what signed the
// request: "key srvctl-corp.", "the Kerberos principal SRVCTL$@CORP", or
// "no key".
func rcodeError(op string, m *dns.Msg, keyName, zone string) error {
	tsigErr := uint16(0)
	if t := m.IsTsig(); t != nil {
		tsigErr = t.Error
	}
	switch {
	case tsigErr == dns.RcodeBadTime:
		return errors.New("clock skew: the server rejected the signature time (TSIG BADTIME); check that this host's and the server's clocks are right (NTP)")
	case tsigErr == dns.RcodeBadKey:
		return fmt.Errorf("%w: the server does not know %s (%s, TSIG BADKEY)", ErrNotAuthorized, keyName, dns.RcodeToString[m.Rcode])
	case tsigErr == dns.RcodeBadSig:
		return fmt.Errorf("%w: the secret of %s differs from the server's (%s, TSIG BADSIG)", ErrNotAuthorized, keyName, dns.RcodeToString[m.Rcode])
	}
	switch m.Rcode {
	case dns.RcodeRefused:
		if op == "read" {
			return fmt.Errorf("%w for zone %s: the server refused the query (REFUSED); it does not serve the zone, or its allow-query does not admit srvctl", ErrNotAuthoritative, zone)
		}
		return fmt.Errorf("%w: the server refused the update with %s (REFUSED); the zone's update-policy must grant it SRV at the service name", ErrNotAuthorized, keyName)
	case dns.RcodeNotAuth:
		return fmt.Errorf("%w: %s is not allowed, or the server is not authoritative for zone %s (NOTAUTH)", ErrNotAuthorized, keyName, zone)
	case dns.RcodeNotZone:
		return fmt.Errorf("%w: the server does not hold %s as a zone (NOTZONE)", ErrNotAuthoritative, zone)
	case dns.RcodeServerFailure:
		return errors.New("server failure (SERVFAIL): the zone may not be loaded; see the server's log")
	case dns.RcodeNotImplemented:
		return errors.New("the server does not implement this request (NOTIMP); does it accept dynamic updates?")
	case dns.RcodeFormatError:
		return errors.New("the server could not parse the request (FORMERR)")
	}
	return fmt.Errorf("unexpected answer %s", rcodeName(m.Rcode))
}

func rcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rcode)
}

// transportError explains a failure to get an answer at all.
func transportError(err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, errTimeout):
		return fmt.Errorf("timeout: no answer within %s", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("cannot connect: connection refused (is the server running, and listening on TCP at that port?)")
	}
	return err
}

// deniedError is an AD server's refusal of a GSS-TSIG signed update for
// lack of rights: its message is gsstsig's ("the account ... may not update
// ...: see srvctl audit ad"), and it is also ErrNotAuthorized.
type deniedError struct{ err error }

func (e deniedError) Error() string   { return e.err.Error() }
func (e deniedError) Unwrap() []error { return []error{e.err, ErrNotAuthorized} }
