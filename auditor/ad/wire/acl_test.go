package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

func TestParseACL(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want *wire.ACL
	}{
		{
			name: "empty",
			in:   aclRaw(2),
			want: &wire.ACL{Revision: 2},
		},
		{
			name: "allow and deny",
			in: aclRaw(2,
				aceRaw(0x01, 0, 0x20, kms2Raw()),
				aceRaw(0x00, 0x12, 0x000F01FF, groupRaw()),
			),
			want: &wire.ACL{Revision: 2, ACEs: []wire.ACE{
				{Type: wire.ACEAccessDenied, Mask: wire.RightWriteProperty, SID: kms2SID},
				{Type: wire.ACEAccessAllowed, Flags: wire.ACEContainerInherit | wire.ACEInherited, Mask: wire.FullControl, SID: groupSID},
			}},
		},
		{
			name: "object ACEs with and without GUIDs",
			in: aclRaw(4,
				objACERaw(0x05, 0, 0x20, dnsRecordGUIDRaw, nil, groupRaw()),
				objACERaw(0x06, 0x0A, 0x20, dnsTombstonedGUIDRaw, dnsNodeClassGUIDRaw, kms2Raw()),
				objACERaw(0x05, 0, 0x30, nil, dnsNodeClassGUIDRaw, sidRaw(5, 11)),
				objACERaw(0x05, 0, 0x10, nil, nil, sidRaw(1, 0)),
			),
			want: &wire.ACL{Revision: 4, ACEs: []wire.ACE{
				{Type: wire.ACEAccessAllowedObject, Mask: wire.RightWriteProperty, ObjectType: guidp("e0fa1e69-9b45-11d0-afdd-00c04fd930c9"), SID: groupSID},
				{Type: wire.ACEAccessDeniedObject, Flags: wire.ACEContainerInherit | wire.ACEInheritOnly, Mask: wire.RightWriteProperty,
					ObjectType: guidp("d5eb2eb7-be4e-463b-a214-634a44d7392e"), InheritedObjectType: guidp("e0fa1e8c-9b45-11d0-afdd-00c04fd930c9"), SID: kms2SID},
				{Type: wire.ACEAccessAllowedObject, Mask: wire.RightReadProperty | wire.RightWriteProperty, InheritedObjectType: guidp("e0fa1e8c-9b45-11d0-afdd-00c04fd930c9"), SID: wire.AuthenticatedUsers},
				{Type: wire.ACEAccessAllowedObject, Mask: wire.RightReadProperty, SID: wire.Everyone},
			}},
		},
		{
			name: "undecoded types kept raw",
			in: aclRaw(4,
				cat([]byte{0x11, 0x00}, le16(20), le32(1), sidRaw(16, 0x2000)), // mandatory label
				cat([]byte{0x09, 0x02}, le16(12), le32(0x20), []byte("artx")),  // callback allow with opaque data
				aceRaw(0x00, 0, 0x20, groupRaw()),
			),
			want: &wire.ACL{Revision: 4, ACEs: []wire.ACE{
				{Type: 0x11, Raw: cat(le32(1), sidRaw(16, 0x2000))},
				{Type: 0x09, Flags: wire.ACEContainerInherit, Raw: cat(le32(0x20), []byte("artx"))},
				{Type: wire.ACEAccessAllowed, Mask: wire.RightWriteProperty, SID: groupSID},
			}},
		},
		{
			name: "bytes after the SID within AceSize, free space after the ACEs",
			in: func() []byte {
				ace := cat([]byte{0x00, 0x00}, le16(4+4+12+4), le32(0x20), sidRaw(1, 0), []byte{9, 9, 9, 9})
				return cat([]byte{2, 0}, le16(uint16(8+len(ace)+8)), le16(1), le16(0), ace, make([]byte, 8))
			}(),
			want: &wire.ACL{Revision: 2, ACEs: []wire.ACE{
				{Type: wire.ACEAccessAllowed, Mask: wire.RightWriteProperty, SID: wire.Everyone, Trailing: []byte{9, 9, 9, 9}},
			}, Trailing: make([]byte, 8)},
		},
		{
			name: "reserved fields kept",
			in:   cat([]byte{2, 7}, le16(8), le16(0), le16(0xBEEF)),
			want: &wire.ACL{Revision: 2, Sbz1: 7, Sbz2: 0xBEEF},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cat(tt.in, []byte{0xEE, 0xEE}) // bytes after AclSize are not the ACL's
			got, n, err := wire.ParseACL(in)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.in) {
				t.Errorf("n = %d, want %d", n, len(tt.in))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseACL (-want +got):\n%s", diff)
			}
			out, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Marshal = %x\nwant      %x", out, tt.in)
			}
			// Decoded values do not alias the input.
			for i := range in {
				in[i] = 0xFF
			}
			again, err := got.Marshal()
			if err != nil || !bytes.Equal(again, tt.in) {
				t.Errorf("the ACL changed with its input bytes")
			}
		})
	}
}

func TestParseACLMalformed(t *testing.T) {
	ace := aceRaw(0x00, 0, 0x20, groupRaw()) // 36 bytes
	tests := []struct {
		name   string
		in     []byte
		field  string
		offset int
		trunc  bool
	}{
		{name: "empty", in: nil, field: "ACL header", offset: 0, trunc: true},
		{name: "header truncated", in: []byte{2, 0, 8, 0, 0, 0, 0}, field: "ACL header", offset: 0, trunc: true},
		{name: "revision 3", in: cat([]byte{3, 0}, le16(8), le16(0), le16(0)), field: "ACL revision", offset: 0},
		{name: "AclSize below header", in: cat([]byte{2, 0}, le16(7), le16(0), le16(0)), field: "ACL size", offset: 2},
		{name: "AclSize overruns input", in: cat([]byte{2, 0}, le16(44), le16(1), le16(0), ace[:30]), field: "ACL size", offset: 2},
		{name: "ACE count cannot fit", in: cat([]byte{2, 0}, le16(44), le16(10), le16(0), ace), field: "ACL ACE count", offset: 4},
		{name: "ACL size smaller than its ACEs", in: cat([]byte{2, 0}, le16(40), le16(1), le16(0), ace), field: "ACL ACE 0 size", offset: 10},
		{name: "second ACE header overruns AclSize", in: cat([]byte{2, 0}, le16(16), le16(2), le16(0), []byte{0x11, 0, 8, 0, 0, 0, 0, 0}), field: "ACL ACE 1 header", offset: 16},
		{name: "AceSize below header", in: cat([]byte{2, 0}, le16(16), le16(1), le16(0), []byte{0, 0, 2, 0}, make([]byte, 4)), field: "ACL ACE 0 size", offset: 10},
		{name: "AceSize zero", in: cat([]byte{2, 0}, le16(16), le16(2), le16(0), []byte{0x11, 0, 0, 0}, make([]byte, 4)), field: "ACL ACE 0 size", offset: 10},
		{name: "allow ACE without mask", in: aclRaw(2, cat([]byte{0, 0}, le16(6), []byte{0x20, 0})), field: "ACL ACE 0 access mask", offset: 12, trunc: true},
		{name: "allow ACE without SID", in: aclRaw(2, cat([]byte{0, 0}, le16(8), le32(0x20))), field: "ACL ACE 0 SID revision", offset: 16, trunc: true},
		{name: "SID overruns AceSize", in: aclRaw(2, cat([]byte{0, 0}, le16(20), le32(0x20), groupRaw()[:12])), field: "ACL ACE 0 SID sub-authorities", offset: 24, trunc: true},
		{name: "SID with 16 sub-authorities", in: aclRaw(2, cat([]byte{1, 0}, le16(80), le32(0x20), []byte{1, 16, 0, 0, 0, 0, 0, 5}, make([]byte, 64))), field: "ACL ACE 0 SID sub-authority count", offset: 17},
		{name: "SID revision 0", in: aclRaw(2, cat([]byte{1, 0}, le16(20), le32(0x20), []byte{0, 1, 0, 0, 0, 0, 0, 1}, le32(0))), field: "ACL ACE 0 SID revision", offset: 16},
		{name: "object ACE without flags", in: aclRaw(4, cat([]byte{5, 0}, le16(8), le32(0x20))), field: "ACL ACE 0 object flags", offset: 16, trunc: true},
		{name: "object ACE unknown flags", in: aclRaw(4, cat([]byte{5, 0}, le16(24), le32(0x20), le32(4), sidRaw(1, 0))), field: "ACL ACE 0 object flags", offset: 16},
		{name: "object type truncated", in: aclRaw(4, cat([]byte{5, 0}, le16(20), le32(0x20), le32(1), dnsRecordGUIDRaw[:8])), field: "ACL ACE 0 object type", offset: 20, trunc: true},
		{name: "inherited object type truncated", in: aclRaw(4, cat([]byte{6, 0}, le16(36), le32(0x20), le32(3), dnsRecordGUIDRaw, dnsNodeClassGUIDRaw[:8])), field: "ACL ACE 0 inherited object type", offset: 36, trunc: true},
		{name: "object ACE SID missing", in: aclRaw(4, cat([]byte{5, 0}, le16(28), le32(0x20), le32(1), dnsRecordGUIDRaw)), field: "ACL ACE 0 SID revision", offset: 36, trunc: true},
		{name: "error in a later ACE", in: aclRaw(2, ace, cat([]byte{0, 0}, le16(20), le32(0x20), groupRaw()[:12])), field: "ACL ACE 1 SID sub-authorities", offset: 60, trunc: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acl, n, err := wire.ParseACL(tt.in)
			if err == nil {
				t.Fatalf("ParseACL = %+v, %d, want an error", acl, n)
			}
			wantFormatError(t, err, tt.field, tt.offset)
			if errors.Is(err, wire.ErrTruncated) != tt.trunc {
				t.Errorf("errors.Is(ErrTruncated) = %v, want %v (%v)", !tt.trunc, tt.trunc, err)
			}
		})
	}
}

func TestACLMarshalLimits(t *testing.T) {
	big := &wire.ACL{Revision: 2}
	for range 2000 {
		big.ACEs = append(big.ACEs, wire.ACE{Type: wire.ACEAccessAllowed, Mask: 1, SID: kms1SID})
	}
	if _, err := big.Marshal(); err == nil {
		t.Error("an ACL over 65535 bytes marshalled")
	}
	bad := &wire.ACL{Revision: 2, ACEs: []wire.ACE{{Type: wire.ACEAccessAllowed, SID: wire.SID{Authority: 5, SubAuthorities: make([]uint32, 16)}}}}
	if _, err := bad.Marshal(); err == nil {
		t.Error("an ACE with an invalid SID marshalled")
	}
}
