package wire_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

// 2024-01-01T00:00:00Z is 3707928 hours and 133485408000000000 FILETIME
// ticks after 1601-01-01.
var (
	jan2024      = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	jan2024Hours = uint32(3707928)
	jan2024FT    = uint64(133485408000000000)
)

// countNameRaw builds a DNS_COUNT_NAME: Length (labels + terminator),
// LabelCount, length-prefixed labels, zero.
func countNameRaw(labels ...string) []byte {
	var raw []byte
	for _, l := range labels {
		raw = append(raw, byte(len(l)))
		raw = append(raw, l...)
	}
	raw = append(raw, 0)
	return cat([]byte{byte(len(raw)), byte(len(labels))}, raw)
}

// recordRaw builds a dnsRecord value around data.
func recordRaw(typ uint16, serial, ttl, hours uint32, data []byte) []byte {
	return cat(le16(uint16(len(data))), le16(typ), []byte{5, 0xF0}, le16(0), le32(serial), be32(ttl), le32(0), le32(hours), data)
}

func srvDataRaw(prio, weight, port uint16, name []byte) []byte {
	return cat(be16(prio), be16(weight), be16(port), name)
}

func kms1SRVRaw() []byte {
	return recordRaw(33, 7, 3600, jan2024Hours, srvDataRaw(0, 100, 1688, countNameRaw("kms1", "corp", "example", "com")))
}

func TestParseDNSRecord(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		want      wire.DNSRecord
		roundTrip bool // Marshal reproduces the input
	}{
		{
			name: "SRV refreshed by dynamic update",
			in:   kms1SRVRaw(),
			want: wire.DNSRecord{Type: 33, Version: 5, Rank: 0xF0, Serial: 7, TTL: 3600, TimeStamp: jan2024,
				SRV: &wire.SRV{Priority: 0, Weight: 100, Port: 1688, Target: "kms1.corp.example.com."}},
			roundTrip: true,
		},
		{
			name: "static SRV, TTL needing all four bytes",
			in:   recordRaw(33, 1, 0x01020304, 0, srvDataRaw(10, 0, 1688, countNameRaw("kms2", "corp", "example", "com"))),
			want: wire.DNSRecord{Type: 33, Version: 5, Rank: 0xF0, Serial: 1, TTL: 0x01020304,
				SRV: &wire.SRV{Priority: 10, Port: 1688, Target: "kms2.corp.example.com."}},
			roundTrip: true,
		},
		{
			name: "upper case target made canonical",
			in:   recordRaw(33, 7, 3600, jan2024Hours, srvDataRaw(0, 100, 1688, countNameRaw("KMS1", "Corp", "EXAMPLE", "com"))),
			want: wire.DNSRecord{Type: 33, Version: 5, Rank: 0xF0, Serial: 7, TTL: 3600, TimeStamp: jan2024,
				SRV: &wire.SRV{Priority: 0, Weight: 100, Port: 1688, Target: "kms1.corp.example.com."}},
		},
		{
			name: "target with padding after the terminator",
			in:   recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, cat([]byte{7, 1, 3, 'k', 'm', 's', 0, 0, 0}))),
			want: wire.DNSRecord{Type: 33, Version: 5, Rank: 0xF0, Serial: 7, TTL: 3600, SRV: &wire.SRV{Port: 1688, Target: "kms."}},
		},
		{
			name:      "root target",
			in:        recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 0, []byte{1, 0, 0})),
			want:      wire.DNSRecord{Type: 33, Version: 5, Rank: 0xF0, Serial: 7, TTL: 3600, SRV: &wire.SRV{Target: "."}},
			roundTrip: true,
		},
		{
			name: "odd bytes in a label are escaped",
			in:   recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, countNameRaw("a.b c\\\x00\xff", "example"))),
			want: wire.DNSRecord{Type: 33, Version: 5, Rank: 0xF0, Serial: 7, TTL: 3600,
				SRV: &wire.SRV{Port: 1688, Target: `a\.b\032c\\\000\255.example.`}},
			roundTrip: true,
		},
		{
			name: "63-byte label",
			in:   recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, countNameRaw(strings.Repeat("a", 63), "com"))),
			want: wire.DNSRecord{Type: 33, Version: 5, Rank: 0xF0, Serial: 7, TTL: 3600,
				SRV: &wire.SRV{Port: 1688, Target: strings.Repeat("a", 63) + ".com."}},
			roundTrip: true,
		},
		{
			name:      "tombstone",
			in:        recordRaw(0, 9, 0, 0, le64(jan2024FT+12_345_678)),
			want:      wire.DNSRecord{Type: 0, Version: 5, Rank: 0xF0, Serial: 9, EntombedAt: jan2024.Add(1_234_567_800 * time.Nanosecond)},
			roundTrip: true,
		},
		{
			name:      "A record kept raw",
			in:        recordRaw(1, 3, 1200, jan2024Hours, []byte{192, 0, 2, 1}),
			want:      wire.DNSRecord{Type: 1, Version: 5, Rank: 0xF0, Serial: 3, TTL: 1200, TimeStamp: jan2024, Data: []byte{192, 0, 2, 1}},
			roundTrip: true,
		},
		{
			name:      "record without data",
			in:        recordRaw(10, 3, 1200, 0, nil),
			want:      wire.DNSRecord{Type: 10, Version: 5, Rank: 0xF0, Serial: 3, TTL: 1200},
			roundTrip: true,
		},
		{
			name: "flags and reserved kept",
			in: func() []byte {
				b := recordRaw(1, 3, 1200, 0, []byte{192, 0, 2, 1})
				copy(b[6:], le16(0xABCD))
				copy(b[16:], le32(0x01020304))
				return b
			}(),
			want:      wire.DNSRecord{Type: 1, Version: 5, Rank: 0xF0, Flags: 0xABCD, Serial: 3, TTL: 1200, Reserved: 0x01020304, Data: []byte{192, 0, 2, 1}},
			roundTrip: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := bytes.Clone(tt.in)
			got, err := wire.ParseDNSRecord(in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range in {
				in[i] = 0xFF // the record must not alias its input
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDNSRecord (-want +got):\n%s", diff)
			}
			out, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if tt.roundTrip && !bytes.Equal(out, tt.in) {
				t.Errorf("Marshal = %x\nwant      %x", out, tt.in)
			}
			back, err := wire.ParseDNSRecord(out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("parse(Marshal()) (-first +second):\n%s", diff)
			}
		})
	}
}

func TestParseDNSRecordMalformed(t *testing.T) {
	good := kms1SRVRaw()
	header := []struct {
		field string
		start int
	}{{"DataLength", 0}, {"Type", 2}, {"Version", 4}, {"Rank", 5}, {"Flags", 6}, {"Serial", 8}, {"TtlSeconds", 12}, {"Reserved", 16}, {"TimeStamp", 20}}
	type tc struct {
		name   string
		in     []byte
		field  string
		offset int
		trunc  bool
	}
	var tests []tc
	// Truncated at every byte of the header: the error names the field.
	for n := 0; n < 24; n++ {
		f := header[0]
		for _, h := range header {
			if h.start <= n {
				f = h
			}
		}
		tests = append(tests, tc{name: "header cut at " + f.field + " " + strconv.Itoa(n), in: good[:n], field: f.field, offset: f.start, trunc: true})
	}
	name := func(raw ...byte) []byte { return recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, raw)) }
	tests = append(tests, []tc{
		{name: "version 4", in: func() []byte { b := bytes.Clone(good); b[4] = 4; return b }(), field: "Version", offset: 4},
		{name: "DataLength larger than the data", in: func() []byte { b := bytes.Clone(good); copy(b, le16(200)); return b }(), field: "DataLength", offset: 0, trunc: true},
		{name: "DataLength smaller than the data", in: func() []byte { b := bytes.Clone(good); copy(b, le16(10)); return b }(), field: "DataLength", offset: 0},
		{name: "value cut in the data", in: good[:len(good)-3], field: "DataLength", offset: 0, trunc: true},
		{name: "SRV without priority", in: recordRaw(33, 7, 3600, 0, []byte{0}), field: "SRV priority", offset: 24, trunc: true},
		{name: "SRV without weight", in: recordRaw(33, 7, 3600, 0, []byte{0, 0, 0}), field: "SRV weight", offset: 26, trunc: true},
		{name: "SRV without port", in: recordRaw(33, 7, 3600, 0, []byte{0, 0, 0, 0, 6}), field: "SRV port", offset: 28, trunc: true},
		{name: "SRV without target", in: recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, nil)), field: "SRV target length", offset: 30, trunc: true},
		{name: "target without label count", in: name(5), field: "SRV target label count", offset: 31, trunc: true},
		{name: "target Length overruns the data", in: name(30, 1, 3, 'k', 'm', 's', 0), field: "SRV target name", offset: 32, trunc: true},
		{name: "label overruns the name Length", in: name(4, 1, 9, 'k', 'm', 's'), field: "SRV target label 0", offset: 33, trunc: true},
		{name: "label overruns the record", in: name(5, 1, 40, 'k', 'm', 's', 0), field: "SRV target label 0", offset: 33, trunc: true},
		{name: "label longer than 63", in: name(cat([]byte{66, 1, 64}, bytes.Repeat([]byte{'a'}, 64), []byte{0})...), field: "SRV target label 0 length", offset: 32},
		{name: "empty label inside the name", in: name(5, 2, 3, 'k', 'm', 's', 0), field: "SRV target label 1 length", offset: 36},
		{name: "label count beyond the name", in: name(5, 3, 3, 'k', 'm', 's', 0), field: "SRV target label 1 length", offset: 36},
		{name: "label count short of the labels", in: name(9, 1, 3, 'k', 'm', 's', 3, 'c', 'o', 'm', 0), field: "SRV target terminating zero", offset: 36},
		{name: "no terminating zero", in: name(4, 1, 3, 'k', 'm', 's'), field: "SRV target terminating zero", offset: 36, trunc: true},
		{name: "bytes after the target", in: recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, cat(countNameRaw("kms"), []byte{1, 2}))), field: "SRV data", offset: 37},
		{name: "tombstone too short", in: recordRaw(0, 9, 0, 0, le32(1)), field: "tombstone", offset: 24},
		{name: "tombstone too long", in: recordRaw(0, 9, 0, 0, make([]byte, 12)), field: "tombstone", offset: 24},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := wire.ParseDNSRecord(tt.in)
			if err == nil {
				t.Fatalf("ParseDNSRecord = %v, want an error", r)
			}
			wantFormatError(t, err, tt.field, tt.offset)
			if errors.Is(err, wire.ErrTruncated) != tt.trunc {
				t.Errorf("errors.Is(ErrTruncated) = %v, want %v (%v)", !tt.trunc, tt.trunc, err)
			}
		})
	}
}

func TestMarshalSRV(t *testing.T) {
	got, err := wire.MarshalSRV(wire.SRV{Priority: 0, Weight: 100, Port: 1688, Target: "kms1.corp.example.com"}, 3600, 7, jan2024.Add(59*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if want := kms1SRVRaw(); !bytes.Equal(got, want) {
		t.Errorf("MarshalSRV = %x\nwant        %x", got, want)
	}
	static, err := wire.MarshalSRV(wire.SRV{Port: 1688, Target: "kms1.corp.example.com."}, 3600, 7, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := wire.ParseDNSRecord(static); err != nil || !r.Static() {
		t.Errorf("a record marshalled without a stamp is not static: %v %v", r, err)
	}
	escaped, err := wire.MarshalSRV(wire.SRV{Target: `a\.b\032c\\\000\255.example`}, 0, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := recordRaw(33, 0, 0, 0, srvDataRaw(0, 0, 0, countNameRaw("a.b c\\\x00\xff", "example"))); !bytes.Equal(escaped, want) {
		t.Errorf("escaped target = %x\nwant             %x", escaped, want)
	}
	for _, target := range []string{
		"", "a..b", ".a", "a.b..", strings.Repeat("a", 64) + ".com",
		strings.Repeat("abcdefghi.", 26), // 260 bytes in wire form
		`kms\`, `k\256s`,
	} {
		if b, err := wire.MarshalSRV(wire.SRV{Port: 1688, Target: target}, 3600, 1, jan2024); err == nil {
			t.Errorf("MarshalSRV(target %q) = %x, want an error", target, b)
		}
	}
	if _, err := (wire.DNSRecord{Type: 33, Version: 5}).Marshal(); err == nil {
		t.Error("an SRV record without SRV data marshalled")
	}
	if _, err := (wire.DNSRecord{Type: 1, Version: 5, Data: make([]byte, 70000)}).Marshal(); err == nil {
		t.Error("70000 bytes of data marshalled")
	}
}

func TestDNSRecordString(t *testing.T) {
	r, err := wire.ParseDNSRecord(kms1SRVRaw())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		r    wire.DNSRecord
		want string
	}{
		{r, "SRV 0 100 1688 kms1.corp.example.com. ttl=3600 serial=7 refreshed 2024-01-01T00:00:00Z"},
		{wire.DNSRecord{Type: 33, TTL: 60, SRV: &wire.SRV{Port: 1, Target: "a."}}, "SRV 0 0 1 a. ttl=60 serial=0 static"},
		{wire.DNSRecord{Type: 0, Serial: 2, EntombedAt: jan2024}, "tombstone entombed 2024-01-01T00:00:00Z ttl=0 serial=2 static"},
		{wire.DNSRecord{Type: 1, Data: []byte{1, 2, 3, 4}}, "type 1 (4 bytes) ttl=0 serial=0 static"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
