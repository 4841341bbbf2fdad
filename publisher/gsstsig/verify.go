package gsstsig

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// VerifyAnswer checks the TSIG record of raw, the answer to a request
// signed with the context whose MAC was requestMAC (hex; "" for an
// unsigned request), and says how: Verified (RFC 8945's digest) or
// VerifiedSamba (Samba's digest, tried when RFC 8945's does not match).
// Otherwise it returns NotVerified and why: ErrUnsigned (no TSIG record),
// ErrEchoedMAC (the request's own TSIG record), a *TSIGError (the server
// reports BADKEY, BADSIG, BADTIME), an error wrapping dns.ErrSig (a MAC
// that matches neither digest), or one wrapping dns.ErrTime (a signature
// time outside the fudge, checked after the MAC). It builds the digest
// itself: miekg/dns refuses to verify NOTAUTH answers, which Samba signs.
func (c *SecContext) VerifyAnswer(raw []byte, requestMAC string) (Verification, error) {
	fail := func(err error) (Verification, error) {
		return NotVerified, fmt.Errorf("the answer's GSS-TSIG signature (key %s) does not verify: %w", c.name, err)
	}
	stripped, t, err := stripTSIG(raw)
	if err != nil {
		return fail(err)
	}
	if t == nil {
		return NotVerified, ErrUnsigned
	}
	if requestMAC != "" && strings.EqualFold(t.MAC, requestMAC) {
		return NotVerified, ErrEchoedMAC
	}
	if t.Error != 0 {
		return NotVerified, &TSIGError{Key: c.name, Rcode: int(binary.BigEndian.Uint16(raw[2:]) & 0xF), TSIG: t.Error}
	}
	reqMAC, err := hex.DecodeString(requestMAC)
	if err != nil {
		return fail(fmt.Errorf("the request MAC is not hex: %w", err))
	}
	vars, err := tsigVariables(t)
	if err != nil {
		return fail(err)
	}
	v := Verified
	err = c.Verify(digest(reqMAC, true, stripped, vars), t)
	if errors.Is(err, dns.ErrSig) && len(reqMAC) > 0 {
		v = VerifiedSamba
		err = c.Verify(digest(reqMAC, false, stripped, vars), t)
	}
	if err != nil {
		return fail(err)
	}
	now := uint64(time.Now().Unix())
	if skew := max(now, t.TimeSigned) - min(now, t.TimeSigned); skew > uint64(t.Fudge) {
		return fail(fmt.Errorf("%w: signed at %s, %d s from now, fudge %d s; check the clocks (NTP)", dns.ErrTime,
			time.Unix(int64(t.TimeSigned), 0).UTC().Format(time.RFC3339), skew, t.Fudge))
	}
	return v, nil
}

// digest is what the MAC of an answer covers (RFC 8945 section 4.3.3):
// the request MAC, the answer without its TSIG record (and with its
// original ID), and the TSIG variables. RFC 8945 puts the request MAC's
// 2-byte length first (withLength); Samba does not. An empty request MAC
// (the final TKEY answer) is left out entirely, length included (MS-GSSA
// section 3.1.5.1).
func digest(requestMAC []byte, withLength bool, stripped, vars []byte) []byte {
	var b []byte
	if len(requestMAC) > 0 {
		if withLength {
			b = binary.BigEndian.AppendUint16(b, uint16(len(requestMAC)))
		}
		b = append(b, requestMAC...)
	}
	return append(append(b, stripped...), vars...)
}

// stripTSIG returns the message raw without its TSIG record (the last
// record of the additional section), with ARCOUNT one less and the ID the
// TSIG record's original ID, and the TSIG record; no record and no error
// when there is none.
func stripTSIG(raw []byte) ([]byte, *dns.TSIG, error) {
	if len(raw) < 12 {
		return nil, nil, errors.New("malformed answer: short header")
	}
	count := func(i int) int { return int(binary.BigEndian.Uint16(raw[4+2*i:])) }
	if count(3) == 0 {
		return nil, nil, nil
	}
	off := 12
	for range count(0) {
		_, o, err := dns.UnpackDomainName(raw, off)
		if err != nil || o+4 > len(raw) {
			return nil, nil, fmt.Errorf("malformed answer: question: %v", err)
		}
		off = o + 4
	}
	var last int
	var rr dns.RR
	for range count(1) + count(2) + count(3) {
		last = off
		var err error
		if rr, off, err = dns.UnpackRR(raw, off); err != nil {
			return nil, nil, fmt.Errorf("malformed answer: %w", err)
		}
	}
	t, ok := rr.(*dns.TSIG)
	if !ok {
		return nil, nil, nil
	}
	stripped := slices.Clone(raw[:last])
	binary.BigEndian.PutUint16(stripped[0:], t.OrigId)
	binary.BigEndian.PutUint16(stripped[10:], uint16(count(3)-1))
	return stripped, t, nil
}

// tsigVariables is the wire form of a TSIG record's variables (RFC 8945
// section 4.3.3): its name in canonical form, uncompressed, class ANY,
// TTL 0, the algorithm name likewise, time signed, fudge, error, other
// data.
func tsigVariables(t *dns.TSIG) ([]byte, error) {
	name := func(b []byte, n string) ([]byte, error) {
		buf := make([]byte, 256)
		l, err := dns.PackDomainName(dns.CanonicalName(n), buf, 0, nil, false)
		if err != nil {
			return nil, fmt.Errorf("the TSIG record's name %q: %w", n, err)
		}
		return append(b, buf[:l]...), nil
	}
	b, err := name(nil, t.Hdr.Name)
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, dns.ClassANY)
	b = binary.BigEndian.AppendUint32(b, 0)
	if b, err = name(b, t.Algorithm); err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, uint16(t.TimeSigned>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(t.TimeSigned))
	b = binary.BigEndian.AppendUint16(b, t.Fudge)
	b = binary.BigEndian.AppendUint16(b, t.Error)
	other, err := hex.DecodeString(t.OtherData)
	if err != nil {
		return nil, fmt.Errorf("the TSIG record's other data: %w", err)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(other)))
	return append(b, other...), nil
}
