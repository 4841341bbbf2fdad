package gsstsig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// ErrAccessDenied is wrapped by *AccessDeniedError.
var ErrAccessDenied = errors.New("access denied")

// AccessDeniedError is a GSS-TSIG signed update the server refused because
// the account may not write the name: Windows answers REFUSED (signed),
// Samba SERVFAIL (an unsigned copy of the request, its TSIG included: the
// server knew who asked, but its answer proves nothing).
type AccessDeniedError struct {
	Principal string // the account, e.g. "KMS2$@CORP.EXAMPLE.COM"
	Name      string // the owner name of the update, e.g. "_vlmcs._tcp.corp.example.com."
	Server    string // host:port
	Rcode     int    // dns.RcodeRefused or dns.RcodeServerFailure
}

// Error is the message the backend shows: the account, the name, and
// where to look (`srvctl audit ad`).
func (e *AccessDeniedError) Error() string {
	how := rcodeName(e.Rcode)
	if e.Rcode == dns.RcodeServerFailure {
		how += ", Samba's answer to an update the account may not make"
	}
	return fmt.Sprintf("the account %s may not update %s: see `srvctl audit ad` (%s answered %s)",
		e.Principal, strings.TrimSuffix(e.Name, "."), e.Server, how)
}

// Unwrap returns ErrAccessDenied.
func (e *AccessDeniedError) Unwrap() error { return ErrAccessDenied }

// UpdateDenied returns an *AccessDeniedError when answer, the answer from
// server to an update of name signed for principal, is an AD server's
// refusal for lack of rights: REFUSED or SERVFAIL with no TSIG error (a
// TSIG error means the server did not accept the signature, see
// *TSIGError). It returns nil for any other answer, which the caller maps
// as for TSIG zones.
func UpdateDenied(answer *dns.Msg, principal, server, name string) error {
	if answer.Opcode != dns.OpcodeUpdate {
		return nil
	}
	if t := answer.IsTsig(); t != nil && t.Error != 0 {
		return nil
	}
	if answer.Rcode != dns.RcodeRefused && answer.Rcode != dns.RcodeServerFailure {
		return nil
	}
	return &AccessDeniedError{Principal: principal, Name: dns.CanonicalName(name), Server: server, Rcode: answer.Rcode}
}

// Principal is the account the negotiator signs for, "name@REALM": the
// logged-in client's, or as configured before the login.
func (n *Negotiator) Principal() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.krb != nil {
		return n.krb.Credentials.CName().PrincipalNameString() + "@" + n.krb.Credentials.Realm()
	}
	user, realm, err := n.creds.name()
	if err != nil || realm == "" {
		return n.creds.Principal
	}
	return user + "@" + realm
}
