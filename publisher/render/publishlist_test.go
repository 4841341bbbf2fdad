package render

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/golden"
)

// goldenList has entries out of order, in mixed case and with a trailing
// dot, and enough of them for the .reg value to wrap over several lines.
func goldenList(srvctl bool) PublishList {
	return PublishList{
		Host: "KMS1.corp.example.com.",
		Entries: []PublishEntry{
			{Zone: "corp.example.com", Priority: 0, Weight: 100},
			{Zone: "Branch.Example.NET.", Priority: 10, Weight: 50},
			{Zone: "lab.example.org", Priority: 65535, Weight: 65535},
		},
		SrvctlPublishes: srvctl,
	}
}

// wantStrings are goldenList's REG_MULTI_SZ strings.
var wantStrings = []string{"branch.example.net,10,50", "corp.example.com,0,100", "lab.example.org,65535,65535"}

func TestWritePublishListGolden(t *testing.T) {
	for _, format := range []string{FormatText, FormatReg, FormatPowerShell} {
		for _, srvctl := range []bool{false, true} {
			ext := map[string]string{FormatText: "txt", FormatReg: "reg", FormatPowerShell: "ps1"}[format]
			name := "publishlist." + ext
			if srvctl {
				name = "publishlist-srvctl." + ext
			}
			t.Run(name, func(t *testing.T) {
				var got, again bytes.Buffer
				if err := WritePublishList(&got, goldenList(srvctl), format); err != nil {
					t.Fatal(err)
				}
				if err := WritePublishList(&again, goldenList(srvctl), format); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), again.Bytes()) {
					t.Fatal("writing the same list twice gave different output")
				}
				path := filepath.Join("testdata", name)
				if golden.Update() {
					if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if format == FormatReg {
					// Byte-exact; a diff of the decoded text says where.
					if !bytes.Equal(want, got.Bytes()) {
						w, _ := utf16le(want)
						g, _ := utf16le(got.Bytes())
						t.Errorf("%s differs (-want +got, decoded):\n%s", path, cmp.Diff(w, g))
					}
				} else if diff := cmp.Diff(string(want), got.String()); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}

				// What each format says besides the strings.
				text := got.String()
				if format == FormatReg {
					text, _ = utf16le(got.Bytes())
				}
				for _, s := range []string{`HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform`, "DnsDomainPublishList", "kms1.corp.example.com"} {
					if !strings.Contains(text, s) {
						t.Errorf("the output does not mention %s", s)
					}
				}
				for _, s := range []string{"slmgr.vbs /cdns", "DisableDnsPublishing = 1", "every 24 hours", "only for sites whose KMS"} {
					if strings.Contains(text, s) != srvctl {
						t.Errorf("the output mentions %q: %v, want %v (SrvctlPublishes)", s, !srvctl, srvctl)
					}
				}
			})
		}
	}
}

// TestPublishListText reads the strings back from the text format: every
// line that is not a comment.
func TestPublishListText(t *testing.T) {
	var b bytes.Buffer
	if err := WritePublishList(&b, goldenList(true), ""); err != nil {
		t.Fatal(err)
	}
	var got []string
	for l := range strings.SplitSeq(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, "#") {
			got = append(got, l)
		}
	}
	if diff := cmp.Diff(wantStrings, got); diff != "" {
		t.Errorf("strings (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(b.String(), "# ") {
		t.Errorf("the text does not start with a comment line:\n%s", b.String())
	}
}

// TestPublishListRegRoundTrip decodes .reg files of lists of many sizes
// the way regedit reads them, and checks the strings and regedit's layout.
func TestPublishListRegRoundTrip(t *testing.T) {
	for n := 1; n <= 12; n++ {
		t.Run(fmt.Sprint(n, " entries"), func(t *testing.T) {
			l := PublishList{}
			var want []string
			for i := range n {
				zone := fmt.Sprintf("z%d.%s.example", i, strings.Repeat("a", i*7%23+1))
				l.Entries = append(l.Entries, PublishEntry{Zone: zone, Priority: uint16(i), Weight: uint16(i * 997)})
				want = append(want, fmt.Sprintf("%s,%d,%d", zone, i, i*997))
			}
			var b bytes.Buffer
			if err := WritePublishList(&b, l, FormatReg); err != nil {
				t.Fatal(err)
			}
			reg, err := decodeReg(b.Bytes())
			if err != nil {
				t.Fatalf("%v\n%s", err, b.String())
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, reg.strings); diff != "" {
				t.Errorf("strings read back (-want +got):\n%s", diff)
			}
			if reg.key != RegistryKey || reg.value != RegistryValue {
				t.Errorf("key %q value %q, want %q %q", reg.key, reg.value, RegistryKey, RegistryValue)
			}
		})
	}
}

// regValue is what decodeReg read from a .reg file.
type regValue struct {
	key, value string
	strings    []string
}

// decodeReg reads a .reg file with one key and one hex(7) value, checking
// regedit's format on the way: UTF-16LE with a byte order mark, CRLF line
// ends only, the version 5.00 header, and the hex bytes wrapped as regedit
// wraps them (16 bytes on the first line of "DnsDomainPublishList"=hex(7):,
// 25 on each continuation line, continuation lines starting with two
// spaces, every line but the last ending in ",\").
func decodeReg(data []byte) (regValue, error) {
	var r regValue
	text, err := utf16le(data)
	if err != nil {
		return r, err
	}
	if strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\r") {
		return r, errors.New("a line end other than CRLF")
	}
	if !strings.HasSuffix(text, "\r\n\r\n") {
		return r, errors.New("the file does not end with an empty line")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n")
	if lines[0] != "Windows Registry Editor Version 5.00" {
		return r, fmt.Errorf("header %q", lines[0])
	}
	var hexData strings.Builder
	inValue := false
	firstLine := true
	for i, l := range lines[1:] {
		switch {
		case inValue:
			if !strings.HasPrefix(l, "  ") {
				return r, fmt.Errorf("line %d: continuation without two leading spaces: %q", i+2, l)
			}
			l = l[2:]
		case l == "" || strings.HasPrefix(l, ";"):
			continue
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			r.key = l[1 : len(l)-1]
			continue
		default:
			name, rest, ok := strings.Cut(l, "=hex(7):")
			if !ok || !strings.HasPrefix(name, `"`) || !strings.HasSuffix(name, `"`) {
				return r, fmt.Errorf("line %d: not a hex(7) value: %q", i+2, l)
			}
			r.value = name[1 : len(name)-1]
			l = rest
			inValue = true
		}
		more := strings.HasSuffix(l, `,\`)
		l = strings.TrimSuffix(l, `\`)
		bytesOnLine := strings.Count(l, ",")
		if !more {
			bytesOnLine++
			inValue = false
		}
		switch want := 25; {
		case more && firstLine && bytesOnLine != 16:
			return r, fmt.Errorf("line %d: %d bytes on the first line, regedit puts 16", i+2, bytesOnLine)
		case more && !firstLine && bytesOnLine != want:
			return r, fmt.Errorf("line %d: %d bytes on a continuation line, regedit puts %d", i+2, bytesOnLine, want)
		case !more && bytesOnLine > want:
			return r, fmt.Errorf("line %d: %d bytes on the last line", i+2, bytesOnLine)
		}
		firstLine = false
		hexData.WriteString(l)
	}
	if inValue {
		return r, errors.New("the value ends with a continuation")
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(hexData.String(), ",", ""))
	if err != nil {
		return r, fmt.Errorf("hex data: %w", err)
	}
	s, err := utf16le(raw)
	if err != nil {
		return r, err
	}
	if !strings.HasSuffix(s, "\x00\x00") {
		return r, fmt.Errorf("REG_MULTI_SZ data %q does not end with two NULs", s)
	}
	r.strings = strings.Split(strings.TrimSuffix(s, "\x00\x00"), "\x00")
	return r, nil
}

// utf16le decodes UTF-16LE; a leading byte order mark is checked and
// dropped when data is a file (starts with FF FE).
func utf16le(data []byte) (string, error) {
	if len(data)%2 != 0 {
		return "", errors.New("an odd number of bytes is not UTF-16")
	}
	units := make([]uint16, 0, len(data)/2)
	for i := 0; i < len(data); i += 2 {
		units = append(units, uint16(data[i])|uint16(data[i+1])<<8)
	}
	if len(units) > 0 && units[0] == 0xfeff {
		units = units[1:]
	}
	return string(utf16.Decode(units)), nil
}

func TestPublishListRegHasBOM(t *testing.T) {
	var b bytes.Buffer
	if err := WritePublishList(&b, goldenList(false), FormatReg); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte{0xff, 0xfe, 'W', 0}) {
		t.Errorf("the .reg file does not start with the UTF-16LE byte order mark and header: % x", b.Bytes()[:min(8, b.Len())])
	}
	reg, err := decodeReg(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantStrings, reg.strings); diff != "" {
		t.Errorf("strings (-want +got):\n%s", diff)
	}
}

func TestPSQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"corp.example.com,0,100", "'corp.example.com,0,100'"},
		{"", "''"},
		{"it's", "'it''s'"},
		{"''", "''''''"},
		{"a\u2019b\u2018c\u201ad\u201be", "'a\u2019\u2019b\u2018\u2018c\u201a\u201ad\u201b\u201be'"},
		{"$(Remove-Item C:\\) `n \"x\"", "'$(Remove-Item C:\\) `n \"x\"'"},
	}
	for _, tt := range tests {
		if got := psQuote(tt.in); got != tt.want {
			t.Errorf("psQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWritePublishListErrors(t *testing.T) {
	tests := []struct {
		name   string
		list   PublishList
		format string
		want   []string
	}{
		{"comma in zone", PublishList{Entries: []PublishEntry{{Zone: "corp.example.com,0"}}}, "", []string{`publish list zone "corp.example.com,0": contains a comma`}},
		{"underscore in zone", PublishList{Entries: []PublishEntry{{Zone: "_msdcs.example.com"}}}, "", []string{`publish list zone: "_msdcs.example.com"`}},
		{"quote in zone", PublishList{Entries: []PublishEntry{{Zone: "a'b.example.com"}}}, FormatPowerShell, []string{`publish list zone: "a'b.example.com"`}},
		{"newline in zone", PublishList{Entries: []PublishEntry{{Zone: "a.example.com\n[HKEY_LOCAL_MACHINE\\x]"}}}, FormatReg, []string{`publish list zone: "a.example.com\n[HKEY_LOCAL_MACHINE\\x]"`}},
		{"single label", PublishList{Entries: []PublishEntry{{Zone: "corp"}}}, "", []string{"not fully qualified"}},
		{"zone twice", PublishList{Entries: []PublishEntry{{Zone: "a.example.com"}, {Zone: "A.example.com."}}}, "", []string{"publish list zone a.example.com: given twice"}},
		{"no zones", PublishList{Host: "kms1.corp.example.com"}, "", []string{"publish list: no zones"}},
		{"bad host", PublishList{Host: "kms1;corp", Entries: []PublishEntry{{Zone: "a.example.com"}}}, "", []string{`KMS host: "kms1;corp"`}},
		{"bad format", goldenList(false), "json", []string{`publish list format "json": want "text", "reg" or "powershell"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := WritePublishList(&b, tt.list, tt.format)
			if err == nil {
				t.Fatalf("no error; output:\n%s", b.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if b.Len() != 0 {
				t.Errorf("output written despite the error:\n%s", b.String())
			}
		})
	}
}
