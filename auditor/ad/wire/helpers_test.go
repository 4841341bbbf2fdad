package wire_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

// The bytes in these tests are built by hand from the formats in MS-DTYP and
// MS-DNSP, never with the package's own encoders, so a decoder and an
// encoder that agree on a mistake cannot pass.

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// sidRaw builds a binary SID: revision 1, count, 6-byte big-endian
// authority, little-endian sub-authorities.
func sidRaw(authority uint64, subs ...uint32) []byte {
	b := []byte{1, byte(len(subs))}
	for shift := 40; shift >= 0; shift -= 8 {
		b = append(b, byte(authority>>shift))
	}
	for _, s := range subs {
		b = append(b, le32(s)...)
	}
	return b
}

// Accounts of a test domain S-1-5-21-1000-2000-3000.
var (
	kms1SID  = sid("S-1-5-21-1000-2000-3000-1104") // first KMS host, owner of the node
	kms2SID  = sid("S-1-5-21-1000-2000-3000-1105") // second KMS host
	kms3SID  = sid("S-1-5-21-1000-2000-3000-1106") // host outside the group
	groupSID = sid("S-1-5-21-1000-2000-3000-1110") // Key Management Service Group
	daSID    = sid("S-1-5-21-1000-2000-3000-512")  // Domain Admins
)

func kms1Raw() []byte  { return sidRaw(5, 21, 1000, 2000, 3000, 1104) }
func kms2Raw() []byte  { return sidRaw(5, 21, 1000, 2000, 3000, 1105) }
func groupRaw() []byte { return sidRaw(5, 21, 1000, 2000, 3000, 1110) }
func daRaw() []byte    { return sidRaw(5, 21, 1000, 2000, 3000, 512) }

func sid(s string) wire.SID { return wire.MustParseSIDString(s) }

func guidp(s string) *wire.GUID {
	g := wire.MustParseGUID(s)
	return &g
}

// guidRaw is the wire form of e0fa1e69-9b45-11d0-afdd-00c04fd930c9
// (dnsRecord) and friends, written out by hand.
var (
	dnsRecordGUIDRaw     = []byte{0x69, 0x1e, 0xfa, 0xe0, 0x45, 0x9b, 0xd0, 0x11, 0xaf, 0xdd, 0x00, 0xc0, 0x4f, 0xd9, 0x30, 0xc9}
	dnsTombstonedGUIDRaw = []byte{0xb7, 0x2e, 0xeb, 0xd5, 0x4e, 0xbe, 0x3b, 0x46, 0xa2, 0x14, 0x63, 0x4a, 0x44, 0xd7, 0x39, 0x2e}
	dnsNodeClassGUIDRaw  = []byte{0x8c, 0x1e, 0xfa, 0xe0, 0x45, 0x9b, 0xd0, 0x11, 0xaf, 0xdd, 0x00, 0xc0, 0x4f, 0xd9, 0x30, 0xc9}
)

// aceRaw builds a plain ACE (allowed 0x00 / denied 0x01).
func aceRaw(typ, flags byte, mask uint32, sid []byte) []byte {
	body := cat(le32(mask), sid)
	return cat([]byte{typ, flags}, le16(uint16(4+len(body))), body)
}

// objACERaw builds an object ACE (0x05 / 0x06); nil GUIDs are absent.
func objACERaw(typ, flags byte, mask uint32, objType, inhType, sid []byte) []byte {
	var of uint32
	if objType != nil {
		of |= 1
	}
	if inhType != nil {
		of |= 2
	}
	body := cat(le32(mask), le32(of), objType, inhType, sid)
	return cat([]byte{typ, flags}, le16(uint16(4+len(body))), body)
}

// aclRaw builds an ACL of the given revision around the ACEs.
func aclRaw(rev byte, aces ...[]byte) []byte {
	body := cat(aces...)
	return cat([]byte{rev, 0}, le16(uint16(8+len(body))), le16(uint16(len(aces))), le16(0), body)
}

// sdRaw builds a self-relative descriptor with the components in the order
// given by order ("ogsd": owner, group, SACL, DACL); nil components are
// absent.
func sdRaw(control uint16, order string, owner, group, sacl, dacl []byte) []byte {
	comps := map[byte][]byte{'o': owner, 'g': group, 's': sacl, 'd': dacl}
	slot := map[byte]int{'o': 4, 'g': 8, 's': 12, 'd': 16}
	b := cat([]byte{1, 0}, le16(control), make([]byte, 16))
	for i := 0; i < len(order); i++ {
		c := comps[order[i]]
		if c == nil {
			continue
		}
		binary.LittleEndian.PutUint32(b[slot[order[i]]:], uint32(len(b)))
		b = append(b, c...)
	}
	return b
}

// wantFormatError checks that err is a *wire.FormatError about field (a
// substring) at offset.
func wantFormatError(t *testing.T, err error, field string, offset int) {
	t.Helper()
	var fe *wire.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v, want a *wire.FormatError about %q at offset %d", err, field, offset)
	}
	if !strings.Contains(fe.Field, field) || fe.Offset != offset {
		t.Fatalf("error = %q (field %q, offset %d), want field containing %q at offset %d", err, fe.Field, fe.Offset, field, offset)
	}
}
