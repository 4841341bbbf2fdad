package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record types of dnsRecord values this package decodes; the Type of any
// other record is its DNS RR type and its data stays raw.
const (
	// TypeTombstone marks a deleted node: its only record holds the time
	// it was entombed.
	TypeTombstone uint16 = 0
	// TypeSRV is an SRV record.
	TypeSRV uint16 = 33
)

// RecordVersion is the only dnsRecord version (DNS_RPC_RECORD Version).
const RecordVersion = 5

// RankZone is the rank of authoritative zone data (DNS_RANK_ZONE), what
// dynamic updates and Windows' DNS manager write.
const RankZone = 0xF0

const dnsRecordHeaderLen = 24

// SRV is the data of an SRV record.
type SRV struct {
	Priority uint16
	Weight   uint16
	Port     uint16
	// Target is the host name, lower case with a trailing dot
	// ("kms1.corp.example.com."). Bytes that are not printable, dots within
	// a label and backslashes are escaped as in zone files (\DDD, \., \\).
	Target string
}

// DNSRecord is one value of the dnsRecord attribute (DNS_RPC_RECORD,
// MS-DNSP 2.3.2.2).
type DNSRecord struct {
	// Type is the DNS RR type; TypeTombstone (0) for a tombstoned node.
	Type uint16
	// Version is RecordVersion.
	Version uint8
	// Rank is the record's rank (RankZone for zone data).
	Rank uint8
	// Flags is reserved; kept as read.
	Flags uint16
	// Serial is the zone serial when the record was last changed.
	Serial uint32
	// TTL is the record's TTL in seconds (stored big-endian).
	TTL uint32
	// Reserved is kept as read.
	Reserved uint32
	// TimeStamp is when a dynamic update last refreshed the record, to the
	// hour; the zero time for a static record, which aging never
	// scavenges.
	TimeStamp time.Time
	// SRV is the data of an SRV record; nil for other types.
	SRV *SRV
	// EntombedAt is when a tombstoned node was deleted (Type 0).
	EntombedAt time.Time
	// Data is the raw data of records of other types; nil for SRV and
	// tombstone records.
	Data []byte
}

// Static reports whether the record is static (TimeStamp 0): never
// refreshed by dynamic update, never scavenged.
func (r DNSRecord) Static() bool { return r.TimeStamp.IsZero() }

var dnsRecordFields = []struct {
	end  int
	name string
}{{2, "DataLength"}, {4, "Type"}, {5, "Version"}, {6, "Rank"}, {8, "Flags"}, {12, "Serial"}, {16, "TtlSeconds"}, {20, "Reserved"}, {24, "TimeStamp"}}

// ParseDNSRecord decodes a dnsRecord value. DataLength must match the bytes
// that follow the 24-byte header exactly; SRV data (priority, weight, port,
// then the target as a DNS_COUNT_NAME) and tombstone data (a FILETIME) are
// decoded, other types kept raw.
func ParseDNSRecord(b []byte) (DNSRecord, error) {
	s := span{structure: "dnsRecord", b: b}
	if len(b) < dnsRecordHeaderLen {
		for i, f := range dnsRecordFields {
			if f.end > len(b) {
				start := 0
				if i > 0 {
					start = dnsRecordFields[i-1].end
				}
				return DNSRecord{}, s.need(start, f.end-start, f.name)
			}
		}
	}
	r := DNSRecord{
		Type:      binary.LittleEndian.Uint16(b[2:]),
		Version:   b[4],
		Rank:      b[5],
		Flags:     binary.LittleEndian.Uint16(b[6:]),
		Serial:    binary.LittleEndian.Uint32(b[8:]),
		TTL:       binary.BigEndian.Uint32(b[12:]),
		Reserved:  binary.LittleEndian.Uint32(b[16:]),
		TimeStamp: TimeFromHours(binary.LittleEndian.Uint32(b[20:])),
	}
	dataLen := int(binary.LittleEndian.Uint16(b))
	if r.Version != RecordVersion {
		return DNSRecord{}, s.errorf(4, "Version", "version %d, want %d", r.Version, RecordVersion)
	}
	if have := len(b) - dnsRecordHeaderLen; dataLen != have {
		e := s.errorf(0, "DataLength", "DataLength %d, but %d bytes follow the header", dataLen, have)
		if dataLen > have {
			e.Err = ErrTruncated
		}
		return DNSRecord{}, e
	}
	data := s.sub(dnsRecordHeaderLen, len(b))
	switch r.Type {
	case TypeSRV:
		srv, err := parseSRV(data)
		if err != nil {
			return DNSRecord{}, err
		}
		r.SRV = &srv
	case TypeTombstone:
		if len(data.b) != 8 {
			return DNSRecord{}, data.errorf(0, "tombstone EntombedTime", "%d bytes of data, want an 8-byte FILETIME", len(data.b))
		}
		r.EntombedAt = TimeFromFiletime(binary.LittleEndian.Uint64(data.b))
	default:
		r.Data = clone(data.b)
	}
	return r, nil
}

func parseSRV(s span) (SRV, error) {
	var srv SRV
	var err error
	if srv.Priority, err = s.u16be(0, "SRV priority"); err != nil {
		return SRV{}, err
	}
	if srv.Weight, err = s.u16be(2, "SRV weight"); err != nil {
		return SRV{}, err
	}
	if srv.Port, err = s.u16be(4, "SRV port"); err != nil {
		return SRV{}, err
	}
	name, n, err := parseCountName(s.sub(6, len(s.b)), "SRV target")
	if err != nil {
		return SRV{}, err
	}
	if 6+n != len(s.b) {
		return SRV{}, s.errorf(6+n, "SRV data", "%d bytes after the target name", len(s.b)-6-n)
	}
	srv.Target = name
	return srv, nil
}

// parseCountName decodes a DNS_COUNT_NAME (MS-DNSP 2.2.2.2.2): Length (the
// bytes of RawName, the terminating zero included), LabelCount, then
// length-prefixed labels and a zero byte. Bytes between the zero and
// Length are padding. It returns the name and the bytes it occupies.
func parseCountName(s span, field string) (string, int, error) {
	length, err := s.u8(0, field+" length")
	if err != nil {
		return "", 0, err
	}
	count, err := s.u8(1, field+" label count")
	if err != nil {
		return "", 0, err
	}
	if err := s.need(2, int(length), field+" name"); err != nil {
		return "", 0, err
	}
	raw := s.sub(2, 2+int(length))
	var b strings.Builder
	off := 0
	for i := range int(count) {
		lf := fmt.Sprintf("%s label %d", field, i)
		l, err := raw.u8(off, lf+" length")
		if err != nil {
			return "", 0, err
		}
		switch {
		case l == 0:
			return "", 0, raw.errorf(off, lf+" length", "empty label before the %d labels of the label count", count)
		case l > 63:
			return "", 0, raw.errorf(off, lf+" length", "label of %d bytes, at most 63", l)
		}
		if err := raw.need(off+1, int(l), lf); err != nil {
			return "", 0, err
		}
		writeLabel(&b, raw.b[off+1:off+1+int(l)])
		b.WriteByte('.')
		off += 1 + int(l)
	}
	term, err := raw.u8(off, field+" terminating zero")
	if err != nil {
		return "", 0, err
	}
	if term != 0 {
		return "", 0, raw.errorf(off, field+" terminating zero", "byte %d where the name should end after %d labels", term, count)
	}
	if count == 0 {
		return ".", 2 + int(length), nil
	}
	return b.String(), 2 + int(length), nil
}

// writeLabel writes a label in lower case, escaping as zone files do.
func writeLabel(b *strings.Builder, label []byte) {
	for _, c := range label {
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c == '.' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c <= ' ' || c >= 0x7F:
			fmt.Fprintf(b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
}

// appendCountName encodes name (presentation form, escapes allowed,
// trailing dot optional) as a DNS_COUNT_NAME.
func appendCountName(b []byte, name string) ([]byte, error) {
	labels, err := splitName(name)
	if err != nil {
		return nil, err
	}
	length := 1
	for _, l := range labels {
		length += 1 + len(l)
	}
	if length > 255 {
		return nil, fmt.Errorf("name %q: %d bytes in wire form, at most 255", name, length)
	}
	b = append(b, byte(length), byte(len(labels)))
	for _, l := range labels {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0), nil
}

// splitName splits a presentation-form name into its wire labels.
func splitName(name string) ([][]byte, error) {
	if name == "." || name == "" {
		if name == "" {
			return nil, errors.New("empty name")
		}
		return nil, nil
	}
	var labels [][]byte
	var cur []byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch c {
		case '.':
			if len(cur) == 0 {
				return nil, fmt.Errorf("name %q: empty label", name)
			}
			labels = append(labels, cur)
			cur = nil
			continue
		case '\\':
			if i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]) {
				v, _ := strconv.Atoi(name[i+1 : i+4])
				if v > 255 {
					return nil, fmt.Errorf("name %q: escape \\%s out of range", name, name[i+1:i+4])
				}
				c = byte(v)
				i += 3
			} else if i+1 < len(name) {
				i++
				c = name[i]
			} else {
				return nil, fmt.Errorf("name %q: trailing backslash", name)
			}
		}
		cur = append(cur, c)
		if len(cur) > 63 {
			return nil, fmt.Errorf("name %q: label longer than 63 bytes", name)
		}
	}
	if len(cur) > 0 {
		labels = append(labels, cur)
	}
	return labels, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Marshal returns the dnsRecord value. SRV records are encoded from SRV
// (which must be set), tombstones from EntombedAt, other types from Data.
func (r DNSRecord) Marshal() ([]byte, error) {
	var data []byte
	switch r.Type {
	case TypeSRV:
		if r.SRV == nil {
			return nil, errors.New("dnsRecord: SRV record without SRV data")
		}
		data = binary.BigEndian.AppendUint16(data, r.SRV.Priority)
		data = binary.BigEndian.AppendUint16(data, r.SRV.Weight)
		data = binary.BigEndian.AppendUint16(data, r.SRV.Port)
		var err error
		if data, err = appendCountName(data, r.SRV.Target); err != nil {
			return nil, fmt.Errorf("dnsRecord: SRV target: %w", err)
		}
	case TypeTombstone:
		data = binary.LittleEndian.AppendUint64(nil, FiletimeFromTime(r.EntombedAt))
	default:
		data = r.Data
	}
	if len(data) > 0xFFFF {
		return nil, fmt.Errorf("dnsRecord: %d bytes of data, at most 65535", len(data))
	}
	b := make([]byte, 0, dnsRecordHeaderLen+len(data))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	b = binary.LittleEndian.AppendUint16(b, r.Type)
	b = append(b, r.Version, r.Rank)
	b = binary.LittleEndian.AppendUint16(b, r.Flags)
	b = binary.LittleEndian.AppendUint32(b, r.Serial)
	b = binary.BigEndian.AppendUint32(b, r.TTL)
	b = binary.LittleEndian.AppendUint32(b, r.Reserved)
	b = binary.LittleEndian.AppendUint32(b, HoursFromTime(r.TimeStamp))
	return append(b, data...), nil
}

// MarshalSRV builds the dnsRecord value of an SRV record as a dynamic
// update would store it: version 5, rank zone, the given TTL (seconds) and
// serial, and stamp as its refresh time (to the hour; the zero time makes
// a static record).
func MarshalSRV(srv SRV, ttl, serial uint32, stamp time.Time) ([]byte, error) {
	return DNSRecord{
		Type:      TypeSRV,
		Version:   RecordVersion,
		Rank:      RankZone,
		Serial:    serial,
		TTL:       ttl,
		TimeStamp: stamp,
		SRV:       &srv,
	}.Marshal()
}

// String returns a one-line description, e.g. "SRV 0 100 1688
// kms1.corp.example.com. ttl=3600 serial=12 refreshed 2024-05-01T10:00:00Z".
func (r DNSRecord) String() string {
	var b strings.Builder
	switch {
	case r.Type == TypeSRV && r.SRV != nil:
		fmt.Fprintf(&b, "SRV %d %d %d %s", r.SRV.Priority, r.SRV.Weight, r.SRV.Port, r.SRV.Target)
	case r.Type == TypeTombstone:
		fmt.Fprintf(&b, "tombstone entombed %s", r.EntombedAt.Format(time.RFC3339))
	default:
		fmt.Fprintf(&b, "type %d (%d bytes)", r.Type, len(r.Data))
	}
	fmt.Fprintf(&b, " ttl=%d serial=%d", r.TTL, r.Serial)
	if r.Static() {
		b.WriteString(" static")
	} else {
		b.WriteString(" refreshed ")
		b.WriteString(r.TimeStamp.Format(time.RFC3339))
	}
	return b.String()
}
