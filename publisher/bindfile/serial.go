package bindfile

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// nextSerial returns the serial that follows old: today's date serial
// YYYYMMDD00 (UTC) when it is greater than old+1 in RFC 1982 serial number
// arithmetic, else old+1 modulo 2^32. The serial thus only ever moves
// forward, by less than 2^31, as secondaries require. After 4294967295 comes
// the date serial while it is below 2^31 (dates up to 2147-12-31: 2026071500
// - 0 is less than 2^31), and 0 after that, which RFC 1982 allows: 0 is
// greater than 4294967295.
func nextSerial(old uint32, now time.Time) uint32 {
	next := old + 1
	if date, ok := dateSerial(now); ok && serialLess(next, date) {
		next = date
	}
	return next
}

// dateSerial is YYYYMMDD00 for now's UTC date, when it fits in 32 bits.
func dateSerial(now time.Time) (uint32, bool) {
	y, m, d := now.UTC().Date()
	if y < 0 {
		return 0, false
	}
	v := uint64(y)*1_000_000 + uint64(m)*10_000 + uint64(d)*100
	if v > math.MaxUint32 {
		return 0, false
	}
	return uint32(v), true
}

// serialLess reports whether a < b in RFC 1982 serial number arithmetic
// with SERIAL_BITS 32. It is false when the two are 2^31 apart, where the
// order is undefined.
func serialLess(a, b uint32) bool {
	d := b - a
	return d != 0 && d < 1<<31
}

// bumpSerial returns data, the text of zone's zone file, with the serial of
// its SOA record replaced by the next one (nextSerial), and the old and new
// serials. Every other byte stays as it was: comments, spacing, the SOA
// spread over lines in parentheses, $TTL and $ORIGIN directives.
func bumpSerial(data []byte, zone string, now time.Time) (out []byte, old, next uint32, err error) {
	tok, err := findSerial(data, zone)
	if err != nil {
		return nil, 0, 0, err
	}
	v, err := strconv.ParseUint(tok.text, 10, 32)
	if err != nil || strings.ContainsFunc(tok.text, func(r rune) bool { return r < '0' || r > '9' }) {
		return nil, 0, 0, &lineError{line: tok.line, err: fmt.Errorf("SOA serial %q is not a number from 0 to 4294967295", tok.text)}
	}
	old = uint32(v)
	next = nextSerial(old, now)
	out = make([]byte, 0, len(data)+10)
	out = append(out, data[:tok.start]...)
	out = strconv.AppendUint(out, uint64(next), 10)
	out = append(out, data[tok.end:]...)
	return out, old, next, nil
}

// findSerial returns the serial token of the SOA record of zone (canonical)
// in the zone file data, whose origin starts as zone (named's default).
func findSerial(data []byte, zone string) (token, error) {
	es, err := entries(data)
	if err != nil {
		return token{}, err
	}
	var (
		origin  = zone
		owner   string
		found   *token
		foundAt int
		include bool
	)
	for _, e := range es {
		toks := e.tokens
		switch e.directive() {
		case "":
		case "$ORIGIN":
			if len(toks) < 2 {
				return token{}, &lineError{line: e.line(), err: errors.New("$ORIGIN without a name")}
			}
			origin = absoluteName(toks[1].text, origin)
			continue
		case "$INCLUDE":
			include = true
			continue
		default: // $TTL, $GENERATE and others hold no SOA
			continue
		}
		if e.owner {
			owner = absoluteName(toks[0].text, origin)
			toks = toks[1:]
		}
		i := 0
		for i < len(toks) && i < 2 && (isTTL(toks[i].text) || isClass(toks[i].text)) {
			i++
		}
		if i >= len(toks) || upper(toks[i].text) != "SOA" {
			continue
		}
		switch rdata := toks[i+1:]; {
		case owner != zone:
			return token{}, &lineError{line: e.line(), err: fmt.Errorf("the SOA record is for %q, not for the zone %s", owner, zone)}
		case found != nil:
			return token{}, &lineError{line: e.line(), err: fmt.Errorf("a second SOA record (the first is on line %d)", foundAt)}
		case len(rdata) != 7:
			return token{}, &lineError{line: e.line(), err: fmt.Errorf("the SOA record has %d fields, not 7 (mname rname serial refresh retry expire minimum)", len(rdata))}
		default:
			found, foundAt = &rdata[2], e.line()
		}
	}
	if found == nil {
		if include {
			return token{}, errors.New("no SOA record for the zone (srvctl does not look for it in $INCLUDEd files)")
		}
		return token{}, errors.New("no SOA record for the zone")
	}
	return *found, nil
}

// absoluteName is name made absolute with origin, in lower case.
func absoluteName(name, origin string) string {
	switch {
	case name == "@":
		return origin
	case strings.HasSuffix(name, ".") && !strings.HasSuffix(name, `\.`):
		return dns.CanonicalName(name)
	case origin == ".":
		return dns.CanonicalName(name + ".")
	}
	return dns.CanonicalName(name + "." + origin)
}

// isTTL reports whether s is a TTL as BIND writes them (3600, 1h, 1w2d).
func isTTL(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// isClass reports whether s is a DNS class.
func isClass(s string) bool {
	switch u := upper(s); {
	case u == "IN", u == "CH", u == "CS", u == "HS":
		return true
	case strings.HasPrefix(u, "CLASS") && len(u) > 5:
		return strings.Trim(u[5:], "0123456789") == ""
	}
	return false
}
