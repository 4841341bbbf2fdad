package wire

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// GUID is a 128-bit identifier in the byte order ACEs and objectGUID values
// store it (MS-DTYP 2.3.4.2): Data1 (4 bytes), Data2 and Data3 (2 bytes each)
// little-endian, then the last 8 bytes as they are. GUIDs are comparable
// with ==.
type GUID [16]byte

// Schema GUIDs (schemaIDGUID) srvctl checks access to; the same on Windows
// and Samba.
var (
	// AttrDNSRecord is the dnsRecord attribute.
	AttrDNSRecord = MustParseGUID("e0fa1e69-9b45-11d0-afdd-00c04fd930c9")
	// AttrDNSTombstoned is the dNSTombstoned attribute.
	AttrDNSTombstoned = MustParseGUID("d5eb2eb7-be4e-463b-a214-634a44d7392e")
	// AttrDNSProperty is the dNSProperty attribute.
	AttrDNSProperty = MustParseGUID("675a15fe-3b70-11d2-90cc-00c04fd91ab1")
	// ClassDNSNode is the dnsNode object class: an object ACE for it
	// applies to the whole node, every attribute included.
	ClassDNSNode = MustParseGUID("e0fa1e8c-9b45-11d0-afdd-00c04fd930c9")
	// ClassDNSZone is the dnsZone object class.
	ClassDNSZone = MustParseGUID("e0fa1e8b-9b45-11d0-afdd-00c04fd930c9")
)

// GUIDFromBytes decodes the 16 bytes of a binary GUID (an objectGUID value
// or an ACE's object type).
func GUIDFromBytes(b []byte) (GUID, error) {
	if len(b) != 16 {
		return GUID{}, &FormatError{Structure: "GUID", Field: "GUID", Problem: fmt.Sprintf("%d bytes, want 16", len(b)), Err: ErrTruncated}
	}
	return GUID(b), nil
}

// ParseGUID parses the canonical text form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, in either case, optionally in braces.
func ParseGUID(s string) (GUID, error) {
	t := s
	if len(t) == 38 && t[0] == '{' && t[37] == '}' {
		t = t[1:37]
	}
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return GUID{}, fmt.Errorf("GUID %q: want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	var canon [16]byte
	if _, err := hex.Decode(canon[:], []byte(t[0:8]+t[9:13]+t[14:18]+t[19:23]+t[24:36])); err != nil {
		return GUID{}, fmt.Errorf("GUID %q: %w", s, err)
	}
	var g GUID
	g[0], g[1], g[2], g[3] = canon[3], canon[2], canon[1], canon[0]
	g[4], g[5] = canon[5], canon[4]
	g[6], g[7] = canon[7], canon[6]
	copy(g[8:], canon[8:])
	return g, nil
}

// MustParseGUID is ParseGUID for constants; it panics on error.
func MustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the canonical lower-case text form.
func (g GUID) String() string {
	canon := [16]byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]}
	copy(canon[8:], g[8:])
	h := hex.EncodeToString(canon[:])
	return strings.Join([]string{h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]}, "-")
}

// Bytes returns the 16 bytes of the binary form.
func (g GUID) Bytes() []byte { return append([]byte(nil), g[:]...) }

// IsZero reports whether g is the all-zero GUID.
func (g GUID) IsZero() bool { return g == GUID{} }
