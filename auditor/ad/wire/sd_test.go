package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

const (
	// SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_AUTO_INHERITED, what a
	// dnsNode read with SD flags 7 carries.
	nodeControl = 0x8000 | 0x0004 | 0x0400
)

// nodeDACLRaw is a DACL like the one of a dnsNode created by a KMS host's
// dynamic update: an explicit full-control grant for the host, then ACEs
// inherited from the zone.
func nodeDACLRaw() []byte {
	return aclRaw(4,
		aceRaw(0x00, 0x00, 0x000F01FF, kms1Raw()),
		aceRaw(0x00, 0x12, 0x000F01FF, daRaw()),
		objACERaw(0x05, 0x12, 0x00000030, nil, dnsNodeClassGUIDRaw, sidRaw(5, 10)),
		aceRaw(0x00, 0x12, 0x00020094, sidRaw(5, 11)),
	)
}

func nodeDACL() *wire.ACL {
	return &wire.ACL{Revision: 4, ACEs: []wire.ACE{
		{Type: wire.ACEAccessAllowed, Mask: wire.FullControl, SID: kms1SID},
		{Type: wire.ACEAccessAllowed, Flags: wire.ACEContainerInherit | wire.ACEInherited, Mask: wire.FullControl, SID: daSID},
		{Type: wire.ACEAccessAllowedObject, Flags: wire.ACEContainerInherit | wire.ACEInherited, Mask: wire.RightReadProperty | wire.RightWriteProperty,
			InheritedObjectType: guidp("e0fa1e8c-9b45-11d0-afdd-00c04fd930c9"), SID: wire.Self},
		{Type: wire.ACEAccessAllowed, Flags: wire.ACEContainerInherit | wire.ACEInherited, Mask: wire.GenericReadMapping, SID: wire.AuthenticatedUsers},
	}}
}

func ptrSID(s wire.SID) *wire.SID { return &s }

func TestParseSecurityDescriptor(t *testing.T) {
	sacl := aclRaw(4, objACERaw(0x07, 0x42, 0x20, dnsRecordGUIDRaw, nil, sidRaw(1, 0)))
	tests := []struct {
		name string
		in   []byte
		want *wire.SecurityDescriptor
	}{
		{
			name: "Samba order: owner, group, DACL",
			in:   sdRaw(nodeControl, "ogsd", kms1Raw(), daRaw(), nil, nodeDACLRaw()),
			want: &wire.SecurityDescriptor{Revision: 1, Control: nodeControl, Owner: ptrSID(kms1SID), Group: ptrSID(daSID), DACL: nodeDACL(),
				Layout: []wire.Part{wire.PartOwner, wire.PartGroup, wire.PartDACL}},
		},
		{
			name: "Windows order: SACL, DACL, owner, group",
			in:   sdRaw(nodeControl|0x10, "sdog", kms1Raw(), daRaw(), sacl, nodeDACLRaw()),
			want: &wire.SecurityDescriptor{Revision: 1, Control: nodeControl | wire.ControlSACLPresent, Owner: ptrSID(kms1SID), Group: ptrSID(daSID),
				SACL: &wire.ACL{Revision: 4, ACEs: []wire.ACE{{Type: 0x07, Flags: 0x42, Raw: cat(le32(0x20), le32(1), dnsRecordGUIDRaw, sidRaw(1, 0))}}},
				DACL: nodeDACL(), Layout: []wire.Part{wire.PartSACL, wire.PartDACL, wire.PartOwner, wire.PartGroup}},
		},
		{
			name: "owner and DACL only",
			in:   sdRaw(nodeControl, "od", kms1Raw(), nil, nil, nodeDACLRaw()),
			want: &wire.SecurityDescriptor{Revision: 1, Control: nodeControl, Owner: ptrSID(kms1SID), DACL: nodeDACL(),
				Layout: []wire.Part{wire.PartOwner, wire.PartDACL}},
		},
		{
			name: "empty DACL",
			in:   sdRaw(0x8004, "od", kms1Raw(), nil, nil, aclRaw(2)),
			want: &wire.SecurityDescriptor{Revision: 1, Control: 0x8004, Owner: ptrSID(kms1SID), DACL: &wire.ACL{Revision: 2},
				Layout: []wire.Part{wire.PartOwner, wire.PartDACL}},
		},
		{
			name: "null DACL: present flag, no offset",
			in:   sdRaw(0x8004, "o", kms1Raw(), nil, nil, nil),
			want: &wire.SecurityDescriptor{Revision: 1, Control: 0x8004, Owner: ptrSID(kms1SID), Layout: []wire.Part{wire.PartOwner}},
		},
		{
			name: "header only",
			in:   sdRaw(0x8000, "", nil, nil, nil, nil),
			want: &wire.SecurityDescriptor{Revision: 1, Control: 0x8000, Layout: []wire.Part{}},
		},
		{
			name: "resource manager byte kept",
			in:   func() []byte { b := sdRaw(0xC000, "o", kms1Raw(), nil, nil, nil); b[1] = 0x5A; return b }(),
			want: &wire.SecurityDescriptor{Revision: 1, Sbz1: 0x5A, Control: 0xC000, Owner: ptrSID(kms1SID), Layout: []wire.Part{wire.PartOwner}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wire.ParseSecurityDescriptor(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSecurityDescriptor (-want +got):\n%s", diff)
			}
			out, err := got.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, tt.in) {
				t.Errorf("Marshal did not reproduce the input:\n got %x\nwant %x", out, tt.in)
			}
		})
	}
}

func TestSecurityDescriptorNonCanonicalLayout(t *testing.T) {
	canonical := sdRaw(nodeControl, "ogsd", kms1Raw(), daRaw(), nil, nodeDACLRaw())
	tests := []struct {
		name string
		in   []byte
	}{
		{"gap before the DACL", func() []byte {
			b := sdRaw(nodeControl, "og", kms1Raw(), daRaw(), nil, nil)
			b = append(b, 0, 0, 0, 0)
			le := le32(uint32(len(b)))
			copy(b[16:], le)
			return append(b, nodeDACLRaw()...)
		}()},
		{"bytes after the last component", cat(canonical, []byte{0, 0, 0, 0})},
		{"owner and group share their bytes", func() []byte {
			b := sdRaw(nodeControl, "od", kms1Raw(), nil, nil, nodeDACLRaw())
			copy(b[8:], b[4:8]) // group offset = owner offset
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := wire.ParseSecurityDescriptor(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if sd.Layout != nil {
				t.Errorf("Layout = %v, want nil for a non-canonical layout", sd.Layout)
			}
			out, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := wire.ParseSecurityDescriptor(out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sd, back, cmpopts.IgnoreFields(wire.SecurityDescriptor{}, "Layout")); diff != "" {
				t.Errorf("Marshal lost content (-parsed +remarshalled):\n%s", diff)
			}
			wantLayout := []wire.Part{wire.PartOwner, wire.PartGroup, wire.PartDACL} // DefaultLayout without the absent SACL
			if diff := cmp.Diff(wantLayout, back.Layout); diff != "" {
				t.Errorf("remarshalled layout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSecurityDescriptorMalformed(t *testing.T) {
	good := sdRaw(nodeControl, "ogsd", kms1Raw(), daRaw(), nil, nodeDACLRaw())
	withOffset := func(slot int, off uint32) []byte {
		b := bytes.Clone(good)
		copy(b[slot:], le32(off))
		return b
	}
	tests := []struct {
		name   string
		in     []byte
		field  string
		offset int
		trunc  bool
	}{
		{name: "empty", in: nil, field: "header", offset: 0, trunc: true},
		{name: "header truncated", in: good[:19], field: "header", offset: 0, trunc: true},
		{name: "revision 2", in: func() []byte { b := bytes.Clone(good); b[0] = 2; return b }(), field: "revision", offset: 0},
		{name: "absolute format", in: func() []byte { b := bytes.Clone(good); b[3] &^= 0x80; return b }(), field: "control", offset: 2},
		{name: "owner offset inside header", in: withOffset(4, 8), field: "owner offset", offset: 4},
		{name: "group offset past the end", in: withOffset(8, uint32(len(good))), field: "group offset", offset: 8},
		{name: "DACL offset huge", in: withOffset(16, 0xFFFFFFF0), field: "DACL offset", offset: 16},
		{name: "SACL offset past the end", in: withOffset(12, 1<<20), field: "SACL offset", offset: 12},
		{name: "owner SID truncated", in: sdRaw(0x8000, "o", kms1Raw()[:20], nil, nil, nil), field: "owner SID sub-authorities", offset: 28, trunc: true},
		{name: "owner SID sub-authority count 16", in: sdRaw(0x8000, "o", cat([]byte{1, 16, 0, 0, 0, 0, 0, 5}, make([]byte, 64)), nil, nil, nil), field: "owner SID sub-authority count", offset: 21},
		{name: "DACL truncated", in: good[:len(good)-4], field: "DACL size", offset: 20 + 28 + 28 + 2},
		{name: "DACL ACE SID broken", in: sdRaw(0x8004, "d", nil, nil, nil, aclRaw(2, cat([]byte{0, 0}, le16(20), le32(0x20), groupRaw()[:12]))), field: "DACL ACE 0 SID sub-authorities", offset: 20 + 8 + 16, trunc: true},
		{name: "SACL revision bad", in: sdRaw(0x8010, "s", nil, nil, cat([]byte{9, 0}, le16(8), le16(0), le16(0)), nil), field: "SACL revision", offset: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := wire.ParseSecurityDescriptor(tt.in)
			if err == nil {
				t.Fatalf("ParseSecurityDescriptor = %+v, want an error", sd)
			}
			wantFormatError(t, err, tt.field, tt.offset)
			if errors.Is(err, wire.ErrTruncated) != tt.trunc {
				t.Errorf("errors.Is(ErrTruncated) = %v, want %v (%v)", !tt.trunc, tt.trunc, err)
			}
		})
	}
}

func TestSecurityDescriptorMarshalNew(t *testing.T) {
	sd := &wire.SecurityDescriptor{Revision: 1, Control: wire.ControlDACLPresent, Owner: ptrSID(kms1SID), DACL: &wire.ACL{Revision: 2}}
	got, err := sd.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := sdRaw(0x8004, "ogsd", kms1Raw(), nil, nil, aclRaw(2))
	if !bytes.Equal(got, want) {
		t.Errorf("Marshal = %x\nwant      %x", got, want)
	}
	bad := &wire.SecurityDescriptor{Revision: 1, Owner: &wire.SID{Authority: 1 << 50}}
	if _, err := bad.Marshal(); err == nil {
		t.Error("an owner with a 50-bit authority marshalled")
	}
	unknown := &wire.SecurityDescriptor{Revision: 1, Layout: []wire.Part{9}}
	if _, err := unknown.Marshal(); err == nil {
		t.Error("an unknown layout part marshalled")
	}
}

func TestAddAllowACE(t *testing.T) {
	grant := wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.RightReadProperty | wire.RightWriteProperty, SID: groupSID}
	deny := func(s wire.SID, flags wire.ACEFlags) wire.ACE {
		return wire.ACE{Type: wire.ACEAccessDenied, Flags: flags, Mask: wire.RightWriteProperty, SID: s}
	}
	allow := func(s wire.SID, flags wire.ACEFlags) wire.ACE {
		return wire.ACE{Type: wire.ACEAccessAllowed, Flags: flags, Mask: wire.FullControl, SID: s}
	}
	tests := []struct {
		name      string
		aces      []wire.ACE
		add       wire.ACE
		wantIndex int
		wantAdded bool
	}{
		{"empty DACL", nil, grant, 0, true},
		{"explicit only: at the end", []wire.ACE{deny(kms3SID, 0), allow(kms1SID, 0)}, grant, 2, true},
		{"before the inherited ACEs", []wire.ACE{deny(kms3SID, 0), allow(kms1SID, 0), allow(daSID, wire.ACEInherited), deny(kms2SID, wire.ACEInherited)}, grant, 2, true},
		{"inherited only: first", []wire.ACE{allow(daSID, wire.ACEInherited)}, grant, 0, true},
		{"explicit deny after an inherited ACE stays ahead", []wire.ACE{allow(daSID, wire.ACEInherited), deny(kms3SID, 0), allow(wire.AuthenticatedUsers, wire.ACEInherited)}, grant, 2, true},
		{"identical explicit ACE: nothing added", []wire.ACE{deny(kms3SID, 0), grant, allow(daSID, wire.ACEInherited)}, grant, 1, false},
		{"identical but inherited ACE does not count", []wire.ACE{{Type: grant.Type, Flags: wire.ACEInherited, Mask: grant.Mask, SID: groupSID}}, grant, 0, true},
		{"object ACE", []wire.ACE{allow(kms1SID, 0)}, wire.ACE{Type: wire.ACEAccessAllowedObject, Mask: wire.RightWriteProperty, ObjectType: guidp("e0fa1e69-9b45-11d0-afdd-00c04fd930c9"), SID: groupSID}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acl := &wire.ACL{Revision: 2, ACEs: append([]wire.ACE(nil), tt.aces...)}
			before := append([]wire.ACE(nil), tt.aces...)
			idx, added, err := wire.AddAllowACE(acl, tt.add)
			if err != nil {
				t.Fatal(err)
			}
			if idx != tt.wantIndex || added != tt.wantAdded {
				t.Fatalf("AddAllowACE = %d, %v; want %d, %v", idx, added, tt.wantIndex, tt.wantAdded)
			}
			want := before
			if added {
				want = append(append(append([]wire.ACE(nil), before[:idx]...), tt.add), before[idx:]...)
			}
			if diff := cmp.Diff(want, acl.ACEs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ACEs after AddAllowACE (-want +got):\n%s", diff)
			}
			wantRev := uint8(2)
			if tt.add.IsObject() {
				wantRev = 4
			}
			if acl.Revision != wantRev {
				t.Errorf("revision = %d, want %d", acl.Revision, wantRev)
			}
		})
	}
}

func TestAddAllowACERejects(t *testing.T) {
	acl := &wire.ACL{Revision: 2}
	for name, ace := range map[string]wire.ACE{
		"deny":      {Type: wire.ACEAccessDenied, Mask: 0x20, SID: groupSID},
		"deny obj":  {Type: wire.ACEAccessDeniedObject, Mask: 0x20, SID: groupSID},
		"raw":       {Type: 0x11, Raw: []byte{1, 2, 3, 4}},
		"inherited": {Type: wire.ACEAccessAllowed, Flags: wire.ACEInherited, Mask: 0x20, SID: groupSID},
		"bad SID":   {Type: wire.ACEAccessAllowed, Mask: 0x20, SID: wire.SID{Authority: 5, SubAuthorities: make([]uint32, 16)}},
	} {
		if _, _, err := wire.AddAllowACE(acl, ace); err == nil {
			t.Errorf("%s: AddAllowACE accepted %s", name, ace)
		}
	}
	if len(acl.ACEs) != 0 {
		t.Errorf("rejected ACEs were added: %v", acl.ACEs)
	}
	if _, _, err := wire.AddAllowACE(nil, wire.ACE{Type: wire.ACEAccessAllowed, SID: groupSID}); err == nil {
		t.Error("AddAllowACE accepted a null DACL")
	}
	full := &wire.ACL{Revision: 2}
	for range 2339 { // 2339 × 28 + 8 = 65500 bytes
		full.ACEs = append(full.ACEs, wire.ACE{Type: wire.ACEAccessAllowed, Mask: 1, SID: kms1SID})
	}
	if _, _, err := wire.AddAllowACE(full, wire.ACE{Type: wire.ACEAccessAllowed, Mask: 0x20, SID: groupSID}); err == nil {
		t.Error("AddAllowACE grew an ACL beyond 65535 bytes")
	}
	if len(full.ACEs) != 2339 {
		t.Errorf("a refused ACE stayed in the ACL: %d ACEs", len(full.ACEs))
	}
}

// TestGrantRoundTrip is what srvctl ad grant --apply does: parse the node's
// descriptor, add one ACE, marshal, and the result parses to the same
// descriptor with the new ACE in place and every old ACE unchanged.
func TestGrantRoundTrip(t *testing.T) {
	for _, order := range []string{"ogsd", "sdog"} {
		t.Run(order, func(t *testing.T) {
			in := sdRaw(nodeControl, order, kms1Raw(), daRaw(), nil, nodeDACLRaw())
			sd, err := wire.ParseSecurityDescriptor(in)
			if err != nil {
				t.Fatal(err)
			}
			oldACEs := append([]wire.ACE(nil), sd.DACL.ACEs...)
			ace := wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.FullControl, SID: groupSID}
			idx, added, err := wire.AddAllowACE(sd.DACL, ace)
			if err != nil || !added || idx != 1 {
				t.Fatalf("AddAllowACE = %d, %v, %v; want 1, true", idx, added, err)
			}
			out, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := wire.ParseSecurityDescriptor(out)
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]wire.ACE{oldACEs[0]}, ace), oldACEs[1:]...)
			if diff := cmp.Diff(want, back.DACL.ACEs); diff != "" {
				t.Errorf("DACL after grant (-want +got):\n%s", diff)
			}
			if !back.Owner.Equal(kms1SID) || !back.Group.Equal(daSID) || back.Control != nodeControl {
				t.Errorf("owner/group/control changed: %s %s %#x", back.Owner, back.Group, back.Control)
			}
			// Hand-built expectation of the bytes: the new ACE sits between
			// the first and the second ACE of the original DACL.
			wantDACL := aclRaw(4,
				aceRaw(0x00, 0x00, 0x000F01FF, kms1Raw()),
				aceRaw(0x00, 0x00, 0x000F01FF, groupRaw()),
				aceRaw(0x00, 0x12, 0x000F01FF, daRaw()),
				objACERaw(0x05, 0x12, 0x00000030, nil, dnsNodeClassGUIDRaw, sidRaw(5, 10)),
				aceRaw(0x00, 0x12, 0x00020094, sidRaw(5, 11)),
			)
			if wantBytes := sdRaw(nodeControl, order, kms1Raw(), daRaw(), nil, wantDACL); !bytes.Equal(out, wantBytes) {
				t.Errorf("descriptor after grant:\n got %x\nwant %x", out, wantBytes)
			}
			if a := wire.CheckAccess(back, wire.NewToken(kms2SID, groupSID)); a.Verdict != wire.CanUpdate {
				t.Errorf("after the grant a group member gets %s", a)
			}
		})
	}
}
