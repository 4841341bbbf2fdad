package wire_test

import (
	"testing"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

// The messages are what an operator reads when a DC returns something this
// package cannot decode: they name the structure, the field and the offset.
func TestFormatErrorMessages(t *testing.T) {
	_, sdErr := wire.ParseSecurityDescriptor(sdRaw(0x8004, "d", nil, nil, nil, aclRaw(2, cat([]byte{0, 0}, le16(20), le32(0x20), groupRaw()[:12]))))
	_, _, aclErr := wire.ParseACL(cat([]byte{2, 0}, le16(16), le16(1), le16(0), []byte{0, 0, 2, 0}, make([]byte, 4)))
	_, recErr := wire.ParseDNSRecord(recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, []byte{5, 1, 40, 'k', 'm', 's', 0})))
	_, propErr := wire.ParseDNSProperty(cat(le32(9), le32(0), le32(0), le32(1), le32(2), []byte{2}))
	_, _, sidErr := wire.ParseSID(cat([]byte{1, 16, 0, 0, 0, 0, 0, 5}, make([]byte, 64)))
	_, guidErr := wire.GUIDFromBytes(make([]byte, 3))
	tests := []struct {
		err  error
		want string
	}{
		{sdErr, "security descriptor: DACL ACE 0 SID sub-authorities at offset 44: needs 20 bytes, 4 left"},
		{aclErr, "ACL: ACL ACE 0 size at offset 10: AceSize 2 is smaller than the 4-byte header"},
		{recErr, "dnsRecord: SRV target label 0 at offset 33: needs 40 bytes, 4 left"},
		{propErr, "dNSProperty: DataLength at offset 0: DataLength 9 overruns the 1 bytes after the header"},
		{sidErr, "SID: SID sub-authority count at offset 1: 16 sub-authorities, at most 15 allowed"},
		{guidErr, "GUID: GUID at offset 0: 3 bytes, want 16"},
	}
	for _, tt := range tests {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("error = %v\nwant    %s", tt.err, tt.want)
		}
	}
}

func TestACEKinds(t *testing.T) {
	for _, tt := range []struct {
		typ                 wire.ACEType
		allow, deny, object bool
	}{
		{wire.ACEAccessAllowed, true, false, false},
		{wire.ACEAccessDenied, false, true, false},
		{wire.ACEAccessAllowedObject, true, false, true},
		{wire.ACEAccessDeniedObject, false, true, true},
		{wire.ACESystemAudit, false, false, false},
	} {
		a := wire.ACE{Type: tt.typ}
		if a.IsAllow() != tt.allow || a.IsDeny() != tt.deny || a.IsObject() != tt.object {
			t.Errorf("type %s: allow %v deny %v object %v", tt.typ, a.IsAllow(), a.IsDeny(), a.IsObject())
		}
	}
	if wire.PartDACL.String() != "DACL" || wire.Part(9).String() != "part(9)" {
		t.Error("Part.String wrong")
	}
	for d, want := range map[wire.Decision]string{wire.NotGranted: "not granted", wire.Allowed: "allowed", wire.Denied: "denied"} {
		if d.String() != want {
			t.Errorf("Decision %d = %q, want %q", d, d, want)
		}
	}
}
