package bindfile

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func TestNextSerial(t *testing.T) {
	today := day(2026, 7, 15) // date serial 2026071500
	tests := []struct {
		name string
		old  uint32
		now  time.Time
		want uint32
	}{
		{"small counter jumps to the date", 7, today, 2026071500},
		{"yesterday's date serial", 2026071403, today, 2026071500},
		{"today's first change", 2026071500, today, 2026071501},
		{"today's 99th change rolls into tomorrow", 2026071599, today, 2026071600},
		{"serial ahead of the date", 2030010100, today, 2030010101},
		{"one below the date", 2026071499, today, 2026071500},
		{"one past midnight UTC", 2026071500, time.Date(2026, 7, 15, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)), 2026071600},
		// RFC 1982: 3000000001 - 2026071500 is less than 2^31: the
		// serial is greater than the date serial.
		{"large serial, greater than the date in RFC 1982", 3000000000, today, 3000000001},
		// 2026071500 - 4200000001 is 2121038795 mod 2^32, less than 2^31:
		// the date serial is greater.
		{"large serial, date greater in RFC 1982", 4200000000, today, 2026071500},
		{"wrap-around, date greater in RFC 1982", 4294967295, today, 2026071500},
		// 2200010100 - 4294967295 is 2200010101 mod 2^32, more than 2^31:
		// the date is "less", so the serial wraps to 0, which RFC 1982
		// allows (0 follows 4294967295).
		{"wrap-around to 0", 4294967295, day(2200, 1, 1), 0},
		{"after 0", 0, day(2200, 1, 1), 1},
		// Exactly 2^31 apart the order is undefined: increment.
		{"2^31 apart", 2026071500 + 1<<31 - 1, today, 2026071500 + 1<<31},
		{"date does not fit in 32 bits", 4294967290, day(5000, 1, 1), 4294967291},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextSerial(tt.old, tt.now); got != tt.want {
				t.Errorf("nextSerial(%d, %s) = %d, want %d", tt.old, tt.now, got, tt.want)
			}
		})
	}
}

func TestSerialLess(t *testing.T) {
	tests := []struct {
		a, b uint32
		want bool
	}{
		{1, 2, true}, {2, 1, false}, {5, 5, false},
		{4294967295, 0, true}, {0, 4294967295, false},
		{0, 1<<31 - 1, true}, {0, 1 << 31, false}, {1 << 31, 0, false},
	}
	for _, tt := range tests {
		if got := serialLess(tt.a, tt.b); got != tt.want {
			t.Errorf("serialLess(%d, %d) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestBumpSerial(t *testing.T) {
	now := day(2026, 7, 15)
	tests := []struct {
		name      string
		zone      string
		text      string // the zone file, with the serial written as SERIAL
		old, want uint32
	}{
		{"multi-line SOA with comments", "lab.test.", `; lab.test
$TTL 300 ; five minutes
@	IN	SOA	ns1.lab.test. hostmaster.lab.test. (
		SERIAL	; serial (do not touch by hand) 1 2 3
		3600		; refresh
		600		; retry
		86400		; expire
		300 )		; minimum
	IN	NS	ns1
ns1	IN	A	127.0.0.1
$INCLUDE "/etc/bind/fragments/lab.test.vlmcs"
`, 2024010100, 2026071500},
		{"one-line SOA", "lab.test.", "$TTL 300\n@ IN SOA ns hostmaster SERIAL 3600 600 86400 300\n@ IN NS ns\n", 5, 2026071500},
		{"absolute owner, TTL and class before the type", "lab.test.", "lab.test. 300 IN SOA ns.lab.test. h.lab.test. (SERIAL 1 2 3 4)\n", 2026071500, 2026071501},
		{"class before TTL, upper case", "lab.test.", "LAB.TEST. IN 300 soa ns h SERIAL 1 2 3 4\n", 2030010100, 2030010101},
		{"$ORIGIN before the SOA", "lab.test.", "$ORIGIN test.\nlab IN SOA ns h SERIAL 1 2 3 4\n$ORIGIN lab.test.\nwww IN A 192.0.2.1\n", 4294967295, 2026071500},
		{"SOA after other records, quotes and a blank owner", "lab.test.", "$ORIGIN lab.test.\n@ 300 IN NS ns\n   IN TXT \"a;b (SOA) 1\"\n   IN SOA ns h SERIAL 1 2 3 4\n", 1, 2026071500},
		{"serial in the rdata of another record", "lab.test.", "@ IN SOA ns h SERIAL 1 2 3 4\nx IN TXT \"1 2 3\"\n", 99, 2026071500},
		{"CRLF line ends", "lab.test.", "$TTL 300\r\n@ IN SOA ns h (\r\n SERIAL\r\n 1 2 3 4 )\r\n", 1, 2026071500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(tt.text, "SERIAL", strconv.FormatUint(uint64(tt.old), 10), 1)
			// Every byte but the serial's stays.
			want := strings.Replace(tt.text, "SERIAL", strconv.FormatUint(uint64(tt.want), 10), 1)
			got, old, next, err := bumpSerial([]byte(in), tt.zone, now)
			if err != nil {
				t.Fatal(err)
			}
			if old != tt.old || next != tt.want {
				t.Errorf("serial %d → %d, want %d → %d", old, next, tt.old, tt.want)
			}
			if string(got) != want {
				t.Errorf("zone file:\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestBumpSerialRefuses(t *testing.T) {
	tests := []struct {
		name, text string
		line       int // 0: not about one line
		want       string
	}{
		{"no SOA", "@ IN NS ns\n", 0, "no SOA record"},
		{"SOA in an included file", "$INCLUDE soa.inc\n@ IN NS ns\n", 0, "$INCLUDE"},
		{"SOA of another zone", "$ORIGIN example.\n@ IN SOA ns h 1 1 2 3 4\n", 2, `"example."`},
		{"two SOAs", "@ IN SOA ns h 1 1 2 3 4\n@ IN SOA ns h 2 1 2 3 4\n", 2, "second SOA"},
		{"serial not a number", "@ IN SOA ns h 2024.1 1 2 3 4\n", 1, "not a number"},
		{"serial too large", "@ IN SOA ns h 4294967296 1 2 3 4\n", 1, "not a number"},
		{"fields missing", "@ IN SOA ns h (\n 1 2 3 )\n", 1, "has 5 fields"},
		{"unclosed parenthesis", "@ IN A 192.0.2.1\n@ IN SOA ns h ( 1 2 3 4 5\n", 2, `"(" is not closed`},
		{"SOA before any owner", " IN SOA ns h 1 2 3 4 5\n", 1, "not for the zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, _, err := bumpSerial([]byte(tt.text), "lab.test.", day(2026, 7, 15))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("bumpSerial = %q, %v; want an error containing %q", got, err, tt.want)
			}
			line := 0
			if le, ok := errors.AsType[*lineError](err); ok {
				line = le.line
			}
			if line != tt.line {
				t.Errorf("error %q is about line %d, want %d", err, line, tt.line)
			}
		})
	}
}
