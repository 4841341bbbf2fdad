package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ACEType is an ACE's AceType (MS-DTYP 2.4.4.1).
type ACEType uint8

// ACE types. This package decodes the four a DACL of a directory object
// uses for plain and object-specific grants and denials; every other type is
// kept raw (ACE.Raw), never guessed at, and reported by the access check.
const (
	ACEAccessAllowed       ACEType = 0x00 // SDDL A
	ACEAccessDenied        ACEType = 0x01 // SDDL D
	ACESystemAudit         ACEType = 0x02 // SDDL AU, kept raw
	ACEAccessAllowedObject ACEType = 0x05 // SDDL OA
	ACEAccessDeniedObject  ACEType = 0x06 // SDDL OD
)

var aceTypeSDDL = map[ACEType]string{
	0x00: "A", 0x01: "D", 0x02: "AU", 0x03: "AL", 0x05: "OA", 0x06: "OD", 0x07: "OU", 0x08: "OL",
	0x09: "XA", 0x0A: "XD", 0x0B: "ZA", 0x0C: "ZD", 0x0D: "XU", 0x11: "ML", 0x12: "RA", 0x13: "SP",
}

// Decoded reports whether this package decodes ACEs of type t.
func (t ACEType) Decoded() bool {
	switch t {
	case ACEAccessAllowed, ACEAccessDenied, ACEAccessAllowedObject, ACEAccessDeniedObject:
		return true
	}
	return false
}

// String returns the SDDL ace_type ("A", "OA", ...) or "0x.." for types
// SDDL has no name for.
func (t ACEType) String() string {
	if s, ok := aceTypeSDDL[t]; ok {
		return s
	}
	return fmt.Sprintf("0x%02x", uint8(t))
}

// ACEFlags are an ACE's AceFlags (MS-DTYP 2.4.4.1).
type ACEFlags uint8

// ACE flags; the comment gives the SDDL abbreviation.
const (
	ACEObjectInherit    ACEFlags = 0x01 // OI
	ACEContainerInherit ACEFlags = 0x02 // CI
	ACENoPropagate      ACEFlags = 0x04 // NP
	ACEInheritOnly      ACEFlags = 0x08 // IO: not evaluated on this object
	ACEInherited        ACEFlags = 0x10 // ID: inherited from the parent
	ACESuccessfulAccess ACEFlags = 0x40 // SA
	ACEFailedAccess     ACEFlags = 0x80 // FA
)

// Object ACE Flags field (MS-DTYP 2.4.4.3).
const (
	objectTypePresent          = 0x1
	inheritedObjectTypePresent = 0x2
)

// ACE is one access control entry.
//
// For the decoded types (Type.Decoded) Mask, SID and, for object ACEs,
// ObjectType and InheritedObjectType hold its content. For any other type
// only Type, Flags and Raw (the bytes after the 4-byte header) are set.
type ACE struct {
	Type  ACEType
	Flags ACEFlags
	Mask  Mask
	// ObjectType is the attribute, property set, class or extended right an
	// object ACE is limited to; nil when absent (it then covers the whole
	// object). Always nil for plain ACEs.
	ObjectType *GUID
	// InheritedObjectType is the class of child objects that inherit an
	// object ACE; nil when absent.
	InheritedObjectType *GUID
	SID                 SID
	// Raw is the body of an ACE of a type this package does not decode.
	Raw []byte
	// Trailing holds bytes after the SID within AceSize; nil normally. Kept
	// so Marshal reproduces the input.
	Trailing []byte
}

// IsObject reports whether a is an object ACE (OA or OD).
func (a ACE) IsObject() bool {
	return a.Type == ACEAccessAllowedObject || a.Type == ACEAccessDeniedObject
}

// IsAllow reports whether a grants access (A or OA).
func (a ACE) IsAllow() bool {
	return a.Type == ACEAccessAllowed || a.Type == ACEAccessAllowedObject
}

// IsDeny reports whether a denies access (D or OD).
func (a ACE) IsDeny() bool {
	return a.Type == ACEAccessDenied || a.Type == ACEAccessDeniedObject
}

// Size is the length of a's binary form (its AceSize).
func (a ACE) Size() int {
	if !a.Type.Decoded() {
		return 4 + len(a.Raw)
	}
	n := 4 + 4 + a.SID.Size() + len(a.Trailing)
	if a.IsObject() {
		n += 4
		if a.ObjectType != nil {
			n += 16
		}
		if a.InheritedObjectType != nil {
			n += 16
		}
	}
	return n
}

func (a ACE) appendTo(b []byte) ([]byte, error) {
	size := a.Size()
	if size > 0xFFFF {
		return nil, fmt.Errorf("ACE %s: %d bytes, at most 65535", a.SDDL(), size)
	}
	b = append(b, byte(a.Type), byte(a.Flags))
	b = binary.LittleEndian.AppendUint16(b, uint16(size))
	if !a.Type.Decoded() {
		return append(b, a.Raw...), nil
	}
	if err := a.SID.Valid(); err != nil {
		return nil, err
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(a.Mask))
	if a.IsObject() {
		var flags uint32
		if a.ObjectType != nil {
			flags |= objectTypePresent
		}
		if a.InheritedObjectType != nil {
			flags |= inheritedObjectTypePresent
		}
		b = binary.LittleEndian.AppendUint32(b, flags)
		if a.ObjectType != nil {
			b = append(b, a.ObjectType[:]...)
		}
		if a.InheritedObjectType != nil {
			b = append(b, a.InheritedObjectType[:]...)
		}
	}
	b = a.SID.appendTo(b)
	return append(b, a.Trailing...), nil
}

// parseACE decodes the ACE that s holds exactly (s spans AceSize bytes).
func parseACE(s span, field string) (ACE, error) {
	a := ACE{Type: ACEType(s.b[0]), Flags: ACEFlags(s.b[1])}
	if !a.Type.Decoded() {
		a.Raw = clone(s.b[4:])
		return a, nil
	}
	mask, err := s.u32(4, field+" access mask")
	if err != nil {
		return ACE{}, err
	}
	a.Mask = Mask(mask)
	off := 8
	if a.IsObject() {
		flags, err := s.u32(off, field+" object flags")
		if err != nil {
			return ACE{}, err
		}
		if flags&^(objectTypePresent|inheritedObjectTypePresent) != 0 {
			return ACE{}, s.errorf(off, field+" object flags", "unknown flags 0x%x", flags)
		}
		off += 4
		if flags&objectTypePresent != 0 {
			if err := s.need(off, 16, field+" object type"); err != nil {
				return ACE{}, err
			}
			g := GUID(s.b[off : off+16])
			a.ObjectType = &g
			off += 16
		}
		if flags&inheritedObjectTypePresent != 0 {
			if err := s.need(off, 16, field+" inherited object type"); err != nil {
				return ACE{}, err
			}
			g := GUID(s.b[off : off+16])
			a.InheritedObjectType = &g
			off += 16
		}
	}
	sid, n, err := parseSID(s.sub(off, len(s.b)), field+" SID")
	if err != nil {
		return ACE{}, err
	}
	a.SID = sid
	a.Trailing = clone(s.b[off+n:])
	return a, nil
}

// ACL revisions (MS-DTYP 2.4.5).
const (
	ACLRevision   = 2 // plain ACEs only
	ACLRevisionDS = 4 // object ACEs allowed
)

// ACL is an access control list (MS-DTYP 2.4.5).
type ACL struct {
	// Revision is ACLRevision or ACLRevisionDS.
	Revision uint8
	// Sbz1 and Sbz2 are reserved (zero); kept so Marshal reproduces them.
	Sbz1 uint8
	Sbz2 uint16
	ACEs []ACE
	// Trailing holds unused bytes after the last ACE within AclSize
	// (free space some writers leave); nil normally.
	Trailing []byte
}

// ParseACL decodes an ACL from the start of b and returns it with the
// number of bytes it occupies (its AclSize).
func ParseACL(b []byte) (*ACL, int, error) {
	return parseACL(span{structure: "ACL", b: b}, "ACL")
}

func parseACL(s span, field string) (*ACL, int, error) {
	if err := s.need(0, 8, field+" header"); err != nil {
		return nil, 0, err
	}
	acl := &ACL{Revision: s.b[0], Sbz1: s.b[1], Sbz2: binary.LittleEndian.Uint16(s.b[6:])}
	if acl.Revision != ACLRevision && acl.Revision != ACLRevisionDS {
		return nil, 0, s.errorf(0, field+" revision", "revision %d, want %d or %d", acl.Revision, ACLRevision, ACLRevisionDS)
	}
	size := int(binary.LittleEndian.Uint16(s.b[2:]))
	count := int(binary.LittleEndian.Uint16(s.b[4:]))
	if size < 8 {
		return nil, 0, s.errorf(2, field+" size", "AclSize %d is smaller than the 8-byte header", size)
	}
	if size > len(s.b) {
		return nil, 0, s.errorf(2, field+" size", "AclSize %d overruns the %d bytes available", size, len(s.b))
	}
	if maxACEs := (size - 8) / 4; count > maxACEs {
		return nil, 0, s.errorf(4, field+" ACE count", "%d ACEs cannot fit in AclSize %d", count, size)
	}
	if count > 0 {
		acl.ACEs = make([]ACE, 0, count)
	}
	off := 8
	for i := range count {
		af := fmt.Sprintf("%s ACE %d", field, i)
		if size-off < 4 {
			return nil, 0, s.errorf(off, af+" header", "ACE header overruns AclSize %d", size)
		}
		aceSize := int(binary.LittleEndian.Uint16(s.b[off+2:]))
		if aceSize < 4 {
			return nil, 0, s.errorf(off+2, af+" size", "AceSize %d is smaller than the 4-byte header", aceSize)
		}
		if aceSize > size-off {
			return nil, 0, s.errorf(off+2, af+" size", "AceSize %d overruns AclSize %d", aceSize, size)
		}
		ace, err := parseACE(s.sub(off, off+aceSize), af)
		if err != nil {
			return nil, 0, err
		}
		acl.ACEs = append(acl.ACEs, ace)
		off += aceSize
	}
	acl.Trailing = clone(s.b[off:size])
	return acl, size, nil
}

// Size is the length of the binary form (its AclSize).
func (acl *ACL) Size() int {
	n := 8 + len(acl.Trailing)
	for i := range acl.ACEs {
		n += acl.ACEs[i].Size()
	}
	return n
}

// Marshal returns the binary form.
func (acl *ACL) Marshal() ([]byte, error) {
	return acl.appendTo(nil)
}

func (acl *ACL) appendTo(b []byte) ([]byte, error) {
	size := acl.Size()
	if size > 0xFFFF {
		return nil, fmt.Errorf("ACL of %d ACEs: %d bytes, at most 65535", len(acl.ACEs), size)
	}
	b = append(b, acl.Revision, acl.Sbz1)
	b = binary.LittleEndian.AppendUint16(b, uint16(size))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(acl.ACEs)))
	b = binary.LittleEndian.AppendUint16(b, acl.Sbz2)
	for i := range acl.ACEs {
		var err error
		if b, err = acl.ACEs[i].appendTo(b); err != nil {
			return nil, fmt.Errorf("ACE %d: %w", i, err)
		}
	}
	return append(b, acl.Trailing...), nil
}

// AddAllowACE inserts the allow ACE ace into acl where Windows' canonical
// order puts an explicit grant: after every explicit (not inherited) ACE,
// in particular after the explicit deny ACEs, and before the first inherited
// ACE. Nothing is removed or reordered. When acl already holds an identical
// explicit ACE it is left alone and AddAllowACE returns that ACE's index
// with added false. An object ACE raises the revision to ACLRevisionDS.
//
// Adding an ACE to a null DACL (no DACL at all, which grants everything)
// would restrict access; the caller has to decide that, so acl must not be
// nil.
func AddAllowACE(acl *ACL, ace ACE) (index int, added bool, err error) {
	if acl == nil {
		return 0, false, errors.New("add ACE: no DACL (a null DACL grants everyone full control; adding an ACE would restrict it)")
	}
	if !ace.IsAllow() {
		return 0, false, fmt.Errorf("add ACE %s: not an allow ACE", ace.SDDL())
	}
	if ace.Flags&ACEInherited != 0 {
		return 0, false, fmt.Errorf("add ACE %s: an explicit ACE cannot carry the inherited flag", ace.SDDL())
	}
	if err := ace.SID.Valid(); err != nil {
		return 0, false, fmt.Errorf("add ACE: %w", err)
	}
	pos := len(acl.ACEs)
	for i := range acl.ACEs {
		a := &acl.ACEs[i]
		if a.Flags&ACEInherited == 0 && sameACE(a, &ace) {
			return i, false, nil
		}
		if a.Flags&ACEInherited != 0 && pos == len(acl.ACEs) {
			pos = i
		}
	}
	// An explicit ACE after an inherited one (a non-canonical DACL): stay
	// after it, so no explicit deny ends up behind the new grant.
	for i := len(acl.ACEs) - 1; i >= pos; i-- {
		if acl.ACEs[i].Flags&ACEInherited == 0 {
			pos = i + 1
			break
		}
	}
	if ace.IsObject() && acl.Revision < ACLRevisionDS {
		acl.Revision = ACLRevisionDS
	}
	acl.ACEs = append(acl.ACEs, ACE{})
	copy(acl.ACEs[pos+1:], acl.ACEs[pos:])
	acl.ACEs[pos] = cloneACE(ace)
	if size := acl.Size(); size > 0xFFFF {
		acl.ACEs = append(acl.ACEs[:pos], acl.ACEs[pos+1:]...)
		return 0, false, fmt.Errorf("add ACE %s: the ACL would grow to %d bytes, at most 65535", ace.SDDL(), size)
	}
	return pos, true, nil
}

func sameACE(a, b *ACE) bool {
	return a.Type == b.Type && a.Flags == b.Flags && a.Mask == b.Mask &&
		sameGUID(a.ObjectType, b.ObjectType) && sameGUID(a.InheritedObjectType, b.InheritedObjectType) &&
		a.SID.Equal(b.SID) && len(a.Trailing) == 0 && len(b.Trailing) == 0
}

func sameGUID(a, b *GUID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func cloneACE(a ACE) ACE {
	if a.ObjectType != nil {
		g := *a.ObjectType
		a.ObjectType = &g
	}
	if a.InheritedObjectType != nil {
		g := *a.InheritedObjectType
		a.InheritedObjectType = &g
	}
	a.SID.SubAuthorities = append([]uint32(nil), a.SID.SubAuthorities...)
	if len(a.SID.SubAuthorities) == 0 {
		a.SID.SubAuthorities = nil
	}
	a.Raw = clone(a.Raw)
	a.Trailing = clone(a.Trailing)
	return a
}
