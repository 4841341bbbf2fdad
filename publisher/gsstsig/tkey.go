package gsstsig

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TKEY modes (RFC 2930 section 2.5).
const (
	modeGSSAPI = 3
	modeDelete = 5
)

// newKeyName returns a fresh key name for a security context: a random
// label under the realm, e.g. "srvctl-1f0c9a4e5b7d2c38.corp.example.com."
// (lower case, absolute). BIND's nsupdate and Windows also make their key
// names unique with random labels; the server keys its contexts by name.
func newKeyName(realm string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a key name: %w", err)
	}
	label := "srvctl-" + hex.EncodeToString(b[:]) + "."
	suffix := strings.ToLower(strings.TrimSuffix(realm, ".")) + "."
	if !hostnameLike(suffix) || len(label)+len(suffix) > 254 {
		// A realm that is no host name (it need not be one) still
		// gives a valid, unique key name.
		return label, nil
	}
	return label + suffix, nil
}

// hostnameLike reports whether name (absolute) is made of letters,
// digits and hyphens in labels of 1 to 63 characters.
func hostnameLike(name string) bool {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// tkeyQuery builds the TKEY query of RFC 3645 section 3.1.1 (mode 3, the
// GSS-API token in the key data) or RFC 2930 section 4.2 (mode 5, key
// deletion, no key data): QNAME the key name, QTYPE TKEY, QCLASS ANY, the
// TKEY record in the additional section, recursion not desired.
func tkeyQuery(keyName string, mode uint16, token []byte, now time.Time, lifetime time.Duration) *dns.Msg {
	m := new(dns.Msg)
	m.Id = dns.Id()
	m.RecursionDesired = false
	m.Question = []dns.Question{{Name: keyName, Qtype: dns.TypeTKEY, Qclass: dns.ClassANY}}
	inception := uint32(now.Unix())
	expiration := inception
	if mode == modeGSSAPI {
		expiration = uint32(now.Add(lifetime).Unix())
	}
	m.Extra = []dns.RR{&dns.TKEY{
		Hdr:        dns.RR_Header{Name: keyName, Rrtype: dns.TypeTKEY, Class: dns.ClassANY},
		Algorithm:  Algorithm,
		Inception:  inception,
		Expiration: expiration,
		Mode:       mode,
		KeySize:    uint16(len(token)),
		Key:        hex.EncodeToString(token),
	}}
	return m
}

// TKEYError is a TKEY answer that reports a failure: an rcode other than
// NOERROR, or an error in the TKEY record (RFC 2930 section 2.6: BADKEY,
// BADNAME, BADMODE, ...).
type TKEYError struct {
	Rcode int    // the answer's rcode
	TKEY  uint16 // the TKEY record's error field; 0 if none or no record
}

// Error names the rcode and the TKEY error.
func (e *TKEYError) Error() string {
	if e.TKEY != 0 {
		return fmt.Sprintf("the server refused the TKEY exchange: %s, TKEY error %s", rcodeName(e.Rcode), rcodeName(int(e.TKEY)))
	}
	return "the server refused the TKEY exchange: " + rcodeName(e.Rcode)
}

// tkeyAnswer returns the TKEY record answering a query for keyName, or an
// error: a failed rcode or an error in the record (*TKEYError), no TKEY
// record for the key name, or another algorithm.
func tkeyAnswer(m *dns.Msg, keyName string) (*dns.TKEY, error) {
	var t *dns.TKEY
	for _, rr := range m.Answer {
		if k, ok := rr.(*dns.TKEY); ok && strings.EqualFold(k.Hdr.Name, keyName) {
			if t != nil {
				return nil, errors.New("the answer holds two TKEY records for the key")
			}
			t = k
		}
	}
	switch {
	case m.Rcode != dns.RcodeSuccess:
		e := &TKEYError{Rcode: m.Rcode}
		if t != nil {
			e.TKEY = t.Error
		}
		return nil, e
	case t == nil:
		return nil, fmt.Errorf("the answer holds no TKEY record for %s", keyName)
	case t.Error != 0:
		return nil, &TKEYError{Rcode: m.Rcode, TKEY: t.Error}
	case !strings.EqualFold(dns.Fqdn(t.Algorithm), Algorithm):
		return nil, fmt.Errorf("the TKEY answer is for algorithm %s, not %s", t.Algorithm, Algorithm)
	}
	return t, nil
}

// rcodeName names an rcode, extended rcodes and TSIG/TKEY errors included.
func rcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rcode)
}
