package wire_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

func TestGUIDWireOrder(t *testing.T) {
	tests := []struct {
		name string
		g    wire.GUID
		raw  []byte
		text string
	}{
		{"dnsRecord", wire.AttrDNSRecord, dnsRecordGUIDRaw, "e0fa1e69-9b45-11d0-afdd-00c04fd930c9"},
		{"dNSTombstoned", wire.AttrDNSTombstoned, dnsTombstonedGUIDRaw, "d5eb2eb7-be4e-463b-a214-634a44d7392e"},
		{"dnsNode", wire.ClassDNSNode, dnsNodeClassGUIDRaw, "e0fa1e8c-9b45-11d0-afdd-00c04fd930c9"},
		{"dNSProperty", wire.AttrDNSProperty, []byte{0xfe, 0x15, 0x5a, 0x67, 0x70, 0x3b, 0xd2, 0x11, 0x90, 0xcc, 0x00, 0xc0, 0x4f, 0xd9, 0x1a, 0xb1}, "675a15fe-3b70-11d2-90cc-00c04fd91ab1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Equal(tt.g.Bytes(), tt.raw) {
				t.Errorf("Bytes() = %x, want %x", tt.g.Bytes(), tt.raw)
			}
			g, err := wire.GUIDFromBytes(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if g != tt.g || g.String() != tt.text {
				t.Errorf("GUIDFromBytes = %s, want %s", g, tt.text)
			}
		})
	}
}

func TestParseGUID(t *testing.T) {
	want := wire.AttrDNSRecord
	for _, in := range []string{
		"e0fa1e69-9b45-11d0-afdd-00c04fd930c9",
		"E0FA1E69-9B45-11D0-AFDD-00C04FD930C9",
		"{e0fa1e69-9b45-11d0-afdd-00c04fd930c9}",
	} {
		g, err := wire.ParseGUID(in)
		if err != nil || g != want {
			t.Errorf("ParseGUID(%q) = %s, %v; want %s", in, g, err, want)
		}
	}
	for _, in := range []string{
		"", "e0fa1e69", "e0fa1e699b4511d0afdd00c04fd930c9", "e0fa1e69-9b45-11d0-afdd-00c04fd930c", "e0fa1e69-9b45-11d0-afdd-00c04fd930c9a",
		"e0fa1e69_9b45-11d0-afdd-00c04fd930c9", "g0fa1e69-9b45-11d0-afdd-00c04fd930c9", "{e0fa1e69-9b45-11d0-afdd-00c04fd930c9",
		"e0fa1e6-99b45-11d0-afdd-00c04fd930c9",
	} {
		if g, err := wire.ParseGUID(in); err == nil {
			t.Errorf("ParseGUID(%q) = %s, want an error", in, g)
		} else if !strings.Contains(err.Error(), "GUID") {
			t.Errorf("ParseGUID(%q) error %q does not say GUID", in, err)
		}
	}
	for _, n := range []int{0, 15, 17} {
		if _, err := wire.GUIDFromBytes(make([]byte, n)); err == nil {
			t.Errorf("GUIDFromBytes(%d bytes) succeeded", n)
		}
	}
	if !(wire.GUID{}).IsZero() || wire.AttrDNSRecord.IsZero() {
		t.Error("IsZero wrong")
	}
}
