package wire_test

import (
	"testing"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

func TestMaskSDDL(t *testing.T) {
	tests := []struct {
		mask wire.Mask
		want string
	}{
		{0, ""},
		{wire.RightReadProperty | wire.RightWriteProperty, "RPWP"},
		{wire.RightWriteProperty | wire.RightReadProperty, "RPWP"},
		{wire.FullControl, "CCDCLCSWRPWPDTLOCRSDRCWDWO"},
		{wire.RightGenericAll, "GA"},
		{wire.RightGenericRead | wire.RightGenericWrite | wire.RightGenericExecute, "GRGWGX"},
		{wire.GenericReadMapping, "LCRPLORC"},
		{wire.RightControlAccess, "CR"},
		{0x00100000, "0x100000"},                       // SYNCHRONIZE has no SDDL right
		{0x00100020, "0x100020"},                       // hex for the whole mask, never mixed
		{0x01000000 | wire.RightWriteDAC, "0x1040000"}, // ACCESS_SYSTEM_SECURITY
	}
	for _, tt := range tests {
		if got := tt.mask.SDDL(); got != tt.want {
			t.Errorf("Mask(%#x).SDDL() = %q, want %q", uint32(tt.mask), got, tt.want)
		}
		if got := tt.mask.String(); got != tt.want {
			t.Errorf("Mask(%#x).String() = %q, want %q", uint32(tt.mask), got, tt.want)
		}
	}
}

func TestMaskMapped(t *testing.T) {
	tests := []struct {
		in, want wire.Mask
	}{
		{wire.RightGenericAll, 0x000F01FF},
		{wire.RightGenericWrite, 0x00020028},   // RC | WP | SW
		{wire.RightGenericRead, 0x00020094},    // RC | LC | RP | LO
		{wire.RightGenericExecute, 0x00020004}, // RC | LC
		{wire.RightGenericWrite | wire.RightDelete, 0x00030028},
		{wire.RightWriteProperty, wire.RightWriteProperty},
	}
	for _, tt := range tests {
		if got := tt.in.Mapped(); got != tt.want {
			t.Errorf("Mask(%#x).Mapped() = %#x, want %#x", uint32(tt.in), uint32(got), uint32(tt.want))
		}
	}
}

func TestACESDDL(t *testing.T) {
	tests := []struct {
		ace  wire.ACE
		want string
	}{
		{wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.RightReadProperty | wire.RightWriteProperty, SID: groupSID},
			"(A;;RPWP;;;S-1-5-21-1000-2000-3000-1110)"},
		{wire.ACE{Type: wire.ACEAccessDenied, Mask: wire.RightWriteProperty, SID: kms2SID},
			"(D;;WP;;;S-1-5-21-1000-2000-3000-1105)"},
		{wire.ACE{Type: wire.ACEAccessAllowedObject, Mask: wire.RightWriteProperty, ObjectType: &wire.AttrDNSRecord, SID: groupSID},
			"(OA;;WP;e0fa1e69-9b45-11d0-afdd-00c04fd930c9;;S-1-5-21-1000-2000-3000-1110)"},
		{wire.ACE{Type: wire.ACEAccessDeniedObject, Flags: wire.ACEContainerInherit | wire.ACEInheritOnly | wire.ACEInherited, Mask: wire.RightWriteProperty,
			ObjectType: &wire.AttrDNSTombstoned, InheritedObjectType: &wire.ClassDNSNode, SID: wire.Everyone},
			"(OD;CIIOID;WP;d5eb2eb7-be4e-463b-a214-634a44d7392e;e0fa1e8c-9b45-11d0-afdd-00c04fd930c9;WD)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Flags: wire.ACEObjectInherit | wire.ACEContainerInherit | wire.ACENoPropagate, Mask: wire.RightGenericAll, SID: wire.CreatorOwner},
			"(A;OICINP;GA;;;CO)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.GenericReadMapping, SID: wire.AuthenticatedUsers}, "(A;;LCRPLORC;;;AU)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.FullControl, SID: wire.LocalSystem}, "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.RightReadProperty, SID: wire.Self}, "(A;;RP;;;PS)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.FullControl, SID: wire.BuiltinAdministrators}, "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.RightReadControl, SID: wire.OwnerRights}, "(A;;RC;;;OW)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.RightGenericRead | wire.RightGenericExecute | wire.RightReadControl, SID: wire.AuthenticatedUsers}, "(A;;GRGXRC;;;AU)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Mask: 0x00100000, SID: daSID}, "(A;;0x100000;;;S-1-5-21-1000-2000-3000-512)"},
		{wire.ACE{Type: wire.ACEAccessAllowed, Flags: wire.ACESuccessfulAccess | wire.ACEFailedAccess, Mask: 1, SID: wire.Anonymous}, "(A;SAFA;CC;;;AN)"},
		{wire.ACE{Type: 0x09, Flags: wire.ACEContainerInherit, Raw: make([]byte, 12)}, "(XA;CI;?12 bytes not decoded)"},
		{wire.ACE{Type: 0x42, Raw: make([]byte, 3)}, "(0x42;;?3 bytes not decoded)"},
	}
	for _, tt := range tests {
		if got := tt.ace.SDDL(); got != tt.want {
			t.Errorf("SDDL() = %q, want %q", got, tt.want)
		}
		if got := tt.ace.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestSecurityDescriptorSDDL(t *testing.T) {
	tests := []struct {
		name string
		sd   wire.SecurityDescriptor
		want string
	}{
		{
			name: "node",
			sd:   wire.SecurityDescriptor{Revision: 1, Control: nodeControl | wire.ControlDACLProtected, Owner: ptrSID(kms1SID), Group: ptrSID(daSID), DACL: nodeDACL()},
			want: "O:S-1-5-21-1000-2000-3000-1104G:S-1-5-21-1000-2000-3000-512D:PAI" +
				"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1000-2000-3000-1104)" +
				"(A;CIID;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1000-2000-3000-512)" +
				"(OA;CIID;RPWP;;e0fa1e8c-9b45-11d0-afdd-00c04fd930c9;PS)" +
				"(A;CIID;LCRPLORC;;;AU)",
		},
		{
			name: "null DACL marked present",
			sd:   wire.SecurityDescriptor{Revision: 1, Control: 0x8004, Owner: ptrSID(wire.BuiltinAdministrators)},
			want: "O:BAD:NO_ACCESS_CONTROL",
		},
		{
			name: "no DACL at all",
			sd:   wire.SecurityDescriptor{Revision: 1, Control: 0x8000, Owner: ptrSID(wire.BuiltinAdministrators)},
			want: "O:BA",
		},
		{
			name: "empty DACL and SACL with auto-inherit request",
			sd:   wire.SecurityDescriptor{Revision: 1, Control: 0x8000 | 0x4 | 0x10 | 0x100 | 0x200 | 0x2000, DACL: &wire.ACL{Revision: 2}, SACL: &wire.ACL{Revision: 2}},
			want: "D:ARS:PAR",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sd.SDDL(); got != tt.want {
				t.Errorf("SDDL()\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	acl := nodeDACL()
	if got, want := acl.SDDL(), "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1000-2000-3000-1104)(A;CIID;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1000-2000-3000-512)(OA;CIID;RPWP;;e0fa1e8c-9b45-11d0-afdd-00c04fd930c9;PS)(A;CIID;LCRPLORC;;;AU)"; got != want {
		t.Errorf("ACL.SDDL()\n got %s\nwant %s", got, want)
	}
}
