package wire_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

// propRaw builds a dNSProperty value: DataLength, NameLength, Flag,
// Version 1, Id, data, then the name field.
func propRaw(id uint32, data, name []byte) []byte {
	return cat(le32(uint32(len(data))), le32(0), le32(0), le32(1), le32(id), data, name)
}

func TestParseDNSProperty(t *testing.T) {
	samba := []byte{0, 0, 0, 0} // Samba's 4-byte name field
	spec := []byte{0}           // MS-DNSP's 1-byte name field
	// Samba's own test vector of a zero-length property (ndrdump
	// dnsp_DnsProperty_short): NS_SERVERS_DA with no data.
	short, err := base64.StdEncoding.DecodeString("AAAAAAAAAAAAAAAAAQAAAJIAAAAAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want wire.DNSProperty
	}{
		{"allow update secure, Samba name field", propRaw(0x02, []byte{2}, samba),
			wire.DNSProperty{Version: 1, ID: wire.PropertyAllowUpdate, Data: []byte{2}, Name: samba}},
		{"allow update, spec name field", propRaw(0x02, []byte{1}, spec),
			wire.DNSProperty{Version: 1, ID: wire.PropertyAllowUpdate, Data: []byte{1}, Name: spec}},
		{"allow update, no name field", propRaw(0x02, []byte{0}, nil),
			wire.DNSProperty{Version: 1, ID: wire.PropertyAllowUpdate, Data: []byte{0}}},
		{"no-refresh interval", propRaw(0x10, le32(168), samba),
			wire.DNSProperty{Version: 1, ID: wire.PropertyNoRefreshInterval, Data: le32(168), Name: samba}},
		{"zero-length property (Samba vector)", short,
			wire.DNSProperty{Version: 1, ID: wire.PropertyNSServersDA, Name: samba}},
		{"header fields kept", cat(le32(4), le32(3), le32(0x55), le32(1), le32(0x40), le32(1), []byte{9}),
			wire.DNSProperty{NameLength: 3, Flag: 0x55, Version: 1, ID: wire.PropertyAgingState, Data: le32(1), Name: []byte{9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := bytes.Clone(tt.in)
			got, err := wire.ParseDNSProperty(in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range in {
				in[i] = 0xFF
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDNSProperty (-want +got):\n%s", diff)
			}
			if out := got.Marshal(); !bytes.Equal(out, tt.in) {
				t.Errorf("Marshal = %x\nwant      %x", out, tt.in)
			}
		})
	}
}

func TestParseDNSPropertyMalformed(t *testing.T) {
	good := propRaw(0x10, le32(168), []byte{0, 0, 0, 0})
	fields := []string{"DataLength", "NameLength", "Flag", "Version", "Id"}
	for n := 0; n < 20; n++ {
		_, err := wire.ParseDNSProperty(good[:n])
		wantFormatError(t, err, fields[n/4], n/4*4)
		if !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("cut at %d: %v is not ErrTruncated", n, err)
		}
	}
	for _, in := range [][]byte{
		good[:23],                       // data cut short
		cat(le32(0xFFFFFFFF), good[4:]), // DataLength far beyond
		cat(le32(9), good[4:20], le32(168), []byte{0}), // 9 claimed, 5 there
	} {
		_, err := wire.ParseDNSProperty(in)
		wantFormatError(t, err, "DataLength", 0)
	}
}

func TestDNSPropertyAccessors(t *testing.T) {
	parse := func(b []byte) wire.DNSProperty {
		t.Helper()
		p, err := wire.ParseDNSProperty(b)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for data, want := range map[byte]wire.AllowUpdate{0: wire.UpdateNone, 1: wire.UpdateNonsecureAndSecure, 2: wire.UpdateSecureOnly, 7: 7} {
		got, err := parse(propRaw(0x02, []byte{data}, nil)).AllowUpdate()
		if err != nil || got != want {
			t.Errorf("AllowUpdate(%d) = %v, %v; want %v", data, got, err, want)
		}
	}
	for u, want := range map[wire.AllowUpdate]string{0: "none", 1: "nonsecure and secure", 2: "secure only", 7: "unknown (7)"} {
		if u.String() != want {
			t.Errorf("AllowUpdate(%d).String() = %q, want %q", u, u, want)
		}
	}
	if d, err := parse(propRaw(0x10, le32(168), nil)).Interval(); err != nil || d != wire.DefaultInterval {
		t.Errorf("no-refresh interval = %v, %v; want 168h", d, err)
	}
	if d, err := parse(propRaw(0x20, le32(72), nil)).Interval(); err != nil || d != 72*time.Hour {
		t.Errorf("refresh interval = %v, %v; want 72h", d, err)
	}
	if on, err := parse(propRaw(0x40, le32(1), nil)).AgingEnabled(); err != nil || !on {
		t.Errorf("aging state 1 = %v, %v", on, err)
	}
	if on, err := parse(propRaw(0x40, le32(0), nil)).AgingEnabled(); err != nil || on {
		t.Errorf("aging state 0 = %v, %v", on, err)
	}
	// Wrong id or size.
	errs := []struct {
		name string
		err  error
		want string
	}{
		{"allow update of an interval", func() error { _, err := parse(propRaw(0x10, le32(1), nil)).AllowUpdate(); return err }(), "not ALLOW_UPDATE"},
		{"allow update of 4 bytes", func() error { _, err := parse(propRaw(0x02, le32(2), nil)).AllowUpdate(); return err }(), "4 bytes of data, want 1"},
		{"allow update without data", func() error { _, err := parse(propRaw(0x02, nil, nil)).AllowUpdate(); return err }(), "0 bytes of data, want 1"},
		{"interval of aging state", func() error { _, err := parse(propRaw(0x40, le32(1), nil)).Interval(); return err }(), "not NOREFRESH_INTERVAL"},
		{"interval of 1 byte", func() error { _, err := parse(propRaw(0x20, []byte{1}, nil)).Interval(); return err }(), "1 bytes of data, want 4"},
		{"interval beyond a Duration", func() error { _, err := parse(propRaw(0x20, le32(0xFFFFFFFF), nil)).Interval(); return err }(), "beyond a time.Duration"},
		{"aging state of an id 0x99", func() error { _, err := parse(propRaw(0x99, le32(1), nil)).AgingEnabled(); return err }(), "dNSProperty 0x99: not AGING_STATE"},
		{"aging state of 8 bytes", func() error { _, err := parse(propRaw(0x40, le64(1), nil)).AgingEnabled(); return err }(), "8 bytes of data, want 4"},
	}
	for _, e := range errs {
		if e.err == nil || !strings.Contains(e.err.Error(), e.want) {
			t.Errorf("%s: error %v, want one containing %q", e.name, e.err, e.want)
		}
	}
	if wire.PropertyRefreshInterval.String() != "REFRESH_INTERVAL" || wire.PropertyID(0x1234).String() != "0x1234" {
		t.Error("PropertyID.String wrong")
	}
}
