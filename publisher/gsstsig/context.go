package gsstsig

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/miekg/dns"
)

// Algorithm is the TSIG (and TKEY) algorithm name of GSS-TSIG.
const Algorithm = "gss-tsig."

// Errors of signing and verifying with a security context.
var (
	// ErrContextDeleted: the context was deleted (Negotiator.Close);
	// nothing can be signed with it any more.
	ErrContextDeleted = errors.New("the GSS-TSIG security context has been deleted")
	// ErrUnsigned: the answer to a signed request carries no TSIG record.
	ErrUnsigned = errors.New("the answer to a signed request is not signed")
	// ErrEchoedMAC: the answer carries the request's own TSIG record, not
	// one made by the server. Samba answers every update it does not
	// carry out (access denied, failed prerequisite, NOTAUTH, ...) with a
	// copy of the request, TSIG record included, and the rcode set: such
	// an answer is not authenticated.
	ErrEchoedMAC = errors.New("the answer is not signed by the server: it carries the request's own signature back (Samba's way of answering an update it did not carry out)")
	// ErrReplay: the server's per-message token repeats a sequence number
	// already seen in this context.
	ErrReplay = errors.New("replayed answer: the signature's sequence number was already seen")
)

// Verification says how the signature of an answer was checked.
type Verification int

const (
	// NotVerified means the answer is not authenticated: it carries no
	// signature (ErrUnsigned), or only the request's own (ErrEchoedMAC,
	// Samba's answers to updates it refuses or cannot apply), or one
	// that does not verify. An unauthenticated answer can only be taken
	// as "the update was not confirmed": the caller must learn what the
	// zone holds by a read-back, and never takes it for a success.
	NotVerified Verification = iota
	// Verified means the MAC is the server's GSS-API MIC over the digest
	// of RFC 8945 section 4.3.3: the request's MAC (its length and
	// bytes), the answer and the TSIG variables; for the final TKEY
	// answer, which answers an unsigned request, the answer and the TSIG
	// variables alone (MS-GSSA section 3.1.5.1).
	Verified
	// VerifiedSamba means the MAC is the server's GSS-API MIC over the
	// digest Samba's DNS server builds: the request's MAC bytes without
	// their 2-byte length, the answer and the TSIG variables. The context
	// key (only the server holds it besides srvctl) vouches for it as for
	// Verified; only the layout of the digest differs from RFC 8945, which
	// is why BIND's nsupdate reports "tsig verify failure" against Samba.
	VerifiedSamba
)

// String describes v: "verified", "verified (Samba's digest)", "not verified".
func (v Verification) String() string {
	switch v {
	case Verified:
		return "verified"
	case VerifiedSamba:
		return "verified (Samba's digest)"
	}
	return "not verified"
}

// SecContext is an established GSS-TSIG security context with one DNS
// server: the key name it is known by and the Kerberos key that signs
// and verifies messages (RFC 4121 MIC tokens). It implements
// dns.TsigProvider, so miekg/dns's TsigGenerateWithProvider and
// TsigVerifyWithProvider sign and check with it. Its methods may be
// called concurrently.
type SecContext struct {
	name     string // key name, canonical
	server   string // host:port
	hostName string // the server's host name: the SPN is DNS/<hostName>
	expires  time.Time
	timeout  time.Duration

	key            types.EncryptionKey // RFC 4121's context key
	acceptorSubkey bool                // key is the subkey the acceptor asserted

	mu      sync.Mutex
	sendSeq uint64              // sequence number of the next token sent
	seen    map[uint64]struct{} // sequence numbers of the tokens received
	deleted bool

	// finalVerification records how the final TKEY answer was checked.
	finalVerification Verification
}

// Name is the context's key name (absolute, lower case): the owner name of
// the TSIG records signed with it.
func (c *SecContext) Name() string { return c.name }

// Server is the address (host:port) of the server the context is with.
func (c *SecContext) Server() string { return c.server }

// HostName is the server's host name; the service principal is
// DNS/HostName.
func (c *SecContext) HostName() string { return c.hostName }

// Expires is when the server stops accepting the context (the TKEY
// answer's expiration).
func (c *SecContext) Expires() time.Time { return c.expires }

// Negotiation says how the final answer of the TKEY negotiation was
// authenticated: Verified when it was signed and the signature verified
// (Samba and BIND sign it), NotVerified when the server did not sign it.
// Either way the server proved its identity with the Kerberos AP-REP
// (mutual authentication), without which no context is established; a
// signature that does not verify fails the negotiation.
func (c *SecContext) Negotiation() Verification { return c.finalVerification }

// String names the context by key name and server; it holds no key.
func (c *SecContext) String() string { return c.name + " (" + Algorithm + " with " + c.server + ")" }

// Generate returns the MAC of msg (the TSIG digest of a request srvctl
// signs): the GSS-API MIC token of RFC 4121 section 4.2.6.1, with the
// next sequence number of the context.
func (c *SecContext) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	if err := c.check(t); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.deleted {
		c.mu.Unlock()
		return nil, ErrContextDeleted
	}
	seq := c.sendSeq
	c.sendSeq++
	c.mu.Unlock()
	tok := gssapi.MICToken{SndSeqNum: seq, Payload: msg}
	if c.acceptorSubkey {
		tok.Flags = gssapi.MICTokenFlagAcceptorSubkey
	}
	if err := tok.SetChecksum(c.key, keyusage.GSSAPI_INITIATOR_SIGN); err != nil {
		return nil, fmt.Errorf("signing with %s: %w", c.name, err)
	}
	return tok.Marshal()
}

// Verify checks the MAC of an answer against msg (the TSIG digest, as
// miekg/dns's TsigVerifyWithProvider builds it: RFC 8945's layout): a MIC
// token from the server, made with the context key, with a sequence
// number not seen before. It returns an error wrapping dns.ErrSig when the
// MAC does not match. Samba's answers match only VerifyAnswer's second
// layout: use VerifyAnswer to check answers.
func (c *SecContext) Verify(msg []byte, t *dns.TSIG) error {
	if err := c.check(t); err != nil {
		return err
	}
	mac, err := hex.DecodeString(t.MAC)
	if err != nil {
		return fmt.Errorf("%w: the MAC is not hex", dns.ErrSig)
	}
	var tok gssapi.MICToken
	if err := tok.Unmarshal(mac, true); err != nil {
		return fmt.Errorf("%w: not a MIC token from the server: %v", dns.ErrSig, err)
	}
	if (tok.Flags&gssapi.MICTokenFlagAcceptorSubkey != 0) != c.acceptorSubkey {
		return fmt.Errorf("%w: the MIC token's acceptor-subkey flag does not match the context", dns.ErrSig)
	}
	tok.Payload = msg
	if ok, _ := tok.Verify(c.key, keyusage.GSSAPI_ACCEPTOR_SIGN); !ok {
		return fmt.Errorf("%w: the MIC does not match", dns.ErrSig)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.seen[tok.SndSeqNum]; dup {
		return ErrReplay
	}
	c.seen[tok.SndSeqNum] = struct{}{}
	return nil
}

// check refuses a TSIG record that is not for this context.
func (c *SecContext) check(t *dns.TSIG) error {
	if !strings.EqualFold(dns.Fqdn(t.Algorithm), Algorithm) {
		return dns.ErrKeyAlg
	}
	if !strings.EqualFold(t.Hdr.Name, c.name) {
		return fmt.Errorf("%w: the TSIG record is for key %s, not %s", dns.ErrSecret, t.Hdr.Name, c.name)
	}
	return nil
}

// Sign gives m a TSIG record for the context (fudge 300 s, the current
// time) and packs it. It returns the wire form and the request MAC that the
// answer is verified against (VerifyAnswer).
func (c *SecContext) Sign(m *dns.Msg) (wire []byte, mac string, err error) {
	m.SetTsig(c.name, Algorithm, 300, time.Now().Unix())
	return dns.TsigGenerateWithProvider(m, c, "", false)
}

// TSIGError is an answer whose TSIG record reports an error: the server
// did not accept the request's signature.
type TSIGError struct {
	Key   string // the key name of the request
	Rcode int    // the answer's rcode (NOTAUTH, usually)
	TSIG  uint16 // the TSIG error: dns.RcodeBadSig, RcodeBadKey, RcodeBadTime, ...
}

// Error says what the TSIG error means for the context.
func (e *TSIGError) Error() string {
	var why string
	switch e.TSIG {
	case dns.RcodeBadKey:
		why = "the server does not know the security context (BADKEY): it expired, was deleted, or the server restarted"
	case dns.RcodeBadSig:
		why = "the server could not verify the signature (BADSIG)"
	case dns.RcodeBadTime:
		why = "the server rejected the signature time (BADTIME); check the clocks (NTP)"
	default:
		why = "TSIG error " + rcodeName(int(e.TSIG))
	}
	return fmt.Sprintf("GSS-TSIG key %s: %s (%s)", e.Key, why, rcodeName(e.Rcode))
}

// initiator is the client side of a Kerberos GSS-API context (RFC 4121)
// being established: the AP-REQ it sent and what the AP-REP must match.
type initiator struct {
	sessionKey types.EncryptionKey
	ctime      time.Time
	cusec      int
	seq        uint64
}

// supportedEtype reports whether RFC 4121 MIC tokens (the only kind
// gokrb5 makes) can be made with keys of this type: the AES types. RC4
// and DES contexts use the older token formats of RFC 4757 and RFC 1964.
func supportedEtype(e int32) bool {
	switch e {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
		return true
	}
	return false
}

// initiate gets a service ticket for spn and returns the GSS-API initial
// context token (a raw Kerberos AP-REQ, RFC 4121 section 4.1, asking for
// mutual authentication, replay detection and integrity).
func initiate(cl *client.Client, spn string) ([]byte, *initiator, error) {
	tkt, key, err := cl.GetServiceTicket(spn)
	if err != nil {
		return nil, nil, serviceTicketError(spn, err)
	}
	if !supportedEtype(key.KeyType) {
		return nil, nil, fmt.Errorf("kerberos: the ticket for %s has a session key of type %d; GSS-TSIG here needs an AES key (allow aes256-cts-hmac-sha1-96 for the account)", spn, key.KeyType)
	}
	tok, err := spnego.NewKRB5TokenAPREQ(cl, tkt, key,
		[]int{gssapi.ContextFlagMutual, gssapi.ContextFlagReplay, gssapi.ContextFlagInteg},
		[]int{flags.APOptionMutualRequired})
	if err != nil {
		return nil, nil, fmt.Errorf("kerberos: making the AP-REQ for %s: %w", spn, err)
	}
	if err := tok.APReq.DecryptAuthenticator(key); err != nil {
		return nil, nil, fmt.Errorf("kerberos: reading back the AP-REQ for %s: %w", spn, err)
	}
	a := tok.APReq.Authenticator
	b, err := tok.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("kerberos: packing the AP-REQ for %s: %w", spn, err)
	}
	return b, &initiator{sessionKey: key, ctime: a.CTime, cusec: a.Cusec, seq: uint64(a.SeqNumber)}, nil
}

// serviceTicketError explains a failed TGS exchange.
func serviceTicketError(spn string, err error) error {
	s := err.Error()
	switch {
	case strings.Contains(s, "KDC_ERR_S_PRINCIPAL_UNKNOWN"):
		return fmt.Errorf("kerberos: the KDC knows no service principal %s: is the DNS server's host name right (it must be the name the DC or BIND server is registered under)?", spn)
	case strings.Contains(s, "KDC_ERR_ETYPE_NOSUPP"):
		return fmt.Errorf("kerberos: the KDC has no key of a type both sides support for %s (GSS-TSIG here needs AES: check msDS-SupportedEncryptionTypes of the account holding the service principal)", spn)
	}
	detail, kind := kerberosCause(err)
	if kind != nil {
		return fmt.Errorf("kerberos: getting a ticket for %s: %w (%s)", spn, kind, detail)
	}
	return fmt.Errorf("kerberos: getting a ticket for %s: %w", spn, err)
}

// complete checks the acceptor's reply token (a Kerberos AP-REP, or a
// KRB-ERROR) and returns the context key and whether it is the acceptor's
// subkey.
func (in *initiator) complete(reply []byte) (key types.EncryptionKey, acceptorSubkey bool, err error) {
	var tok spnego.KRB5Token
	if err := tok.Unmarshal(reply); err != nil {
		return key, false, fmt.Errorf("the server's GSS-API token is not a Kerberos token: %w", err)
	}
	switch {
	case tok.IsKRBError():
		return key, false, fmt.Errorf("the server refused the Kerberos ticket: %s", strings.TrimPrefix(tok.KRBError.Error(), "KRB Error: "))
	case !tok.IsAPRep():
		return key, false, errors.New("the server's GSS-API token is not an AP-REP")
	}
	b, err := crypto.DecryptEncPart(tok.APRep.EncPart, in.sessionKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return key, false, fmt.Errorf("the server's AP-REP does not decrypt with the session key (not the real server?): %w", err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(b); err != nil {
		return key, false, fmt.Errorf("the server's AP-REP: %w", err)
	}
	if !part.CTime.Equal(in.ctime.Truncate(time.Second)) || part.Cusec != in.cusec {
		return key, false, errors.New("the server's AP-REP does not answer this AP-REQ (mutual authentication failed)")
	}
	if part.Subkey.KeyType != 0 {
		if !supportedEtype(part.Subkey.KeyType) {
			return key, false, fmt.Errorf("the server chose a subkey of type %d; GSS-TSIG here needs AES", part.Subkey.KeyType)
		}
		return part.Subkey, true, nil
	}
	return in.sessionKey, false, nil
}
