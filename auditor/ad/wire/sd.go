package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Control holds a security descriptor's control flags (MS-DTYP 2.4.6).
type Control uint16

// Security descriptor control flags.
const (
	ControlOwnerDefaulted     Control = 0x0001
	ControlGroupDefaulted     Control = 0x0002
	ControlDACLPresent        Control = 0x0004
	ControlDACLDefaulted      Control = 0x0008
	ControlSACLPresent        Control = 0x0010
	ControlSACLDefaulted      Control = 0x0020
	ControlDACLAutoInheritReq Control = 0x0100 // SDDL AR on the DACL
	ControlSACLAutoInheritReq Control = 0x0200 // SDDL AR on the SACL
	ControlDACLAutoInherited  Control = 0x0400 // SDDL AI on the DACL
	ControlSACLAutoInherited  Control = 0x0800 // SDDL AI on the SACL
	ControlDACLProtected      Control = 0x1000 // SDDL P on the DACL
	ControlSACLProtected      Control = 0x2000 // SDDL P on the SACL
	ControlRMControlValid     Control = 0x4000
	ControlSelfRelative       Control = 0x8000
)

// Part names a component of a self-relative security descriptor.
type Part uint8

// The components of a security descriptor.
const (
	PartOwner Part = iota + 1
	PartGroup
	PartSACL
	PartDACL
)

// String returns the part's name.
func (p Part) String() string {
	switch p {
	case PartOwner:
		return "owner"
	case PartGroup:
		return "group"
	case PartSACL:
		return "SACL"
	case PartDACL:
		return "DACL"
	}
	return fmt.Sprintf("part(%d)", uint8(p))
}

// DefaultLayout is the order Marshal writes the components in when
// SecurityDescriptor.Layout is nil: owner, group, SACL, DACL (Samba's
// order; Windows writes SACL, DACL, owner, group).
var DefaultLayout = []Part{PartOwner, PartGroup, PartSACL, PartDACL}

const sdHeaderLen = 20

// SecurityDescriptor is a self-relative security descriptor (MS-DTYP 2.4.6),
// the value of nTSecurityDescriptor.
type SecurityDescriptor struct {
	// Revision is 1.
	Revision uint8
	// Sbz1 is the resource manager control byte (meaningful only with
	// ControlRMControlValid); kept so Marshal reproduces it.
	Sbz1    uint8
	Control Control
	// Owner and Group are nil when absent (e.g. not requested by the
	// LDAP_SERVER_SD_FLAGS control).
	Owner, Group *SID
	// SACL is nil when absent. DACL is nil when absent or null: see
	// HasNullDACL for what that means.
	SACL, DACL *ACL
	// Layout is the order of the present components in the bytes parsed,
	// when they were laid out back to back after the header with nothing
	// in between or after; Marshal then writes the same order and
	// reproduces the input exactly. Nil otherwise (Marshal uses
	// DefaultLayout).
	Layout []Part
}

// ParseSecurityDescriptor decodes a self-relative security descriptor.
func ParseSecurityDescriptor(b []byte) (*SecurityDescriptor, error) {
	s := span{structure: "security descriptor", b: b}
	if err := s.need(0, sdHeaderLen, "header"); err != nil {
		return nil, err
	}
	sd := &SecurityDescriptor{
		Revision: b[0],
		Sbz1:     b[1],
		Control:  Control(binary.LittleEndian.Uint16(b[2:])),
	}
	if sd.Revision != 1 {
		return nil, s.errorf(0, "revision", "revision %d, want 1", sd.Revision)
	}
	if sd.Control&ControlSelfRelative == 0 {
		return nil, s.errorf(2, "control", "control 0x%04x lacks SE_SELF_RELATIVE: not a self-relative descriptor", uint16(sd.Control))
	}
	type component struct {
		part       Part
		start, end int
	}
	var comps []component
	for i, part := range []Part{PartOwner, PartGroup, PartSACL, PartDACL} {
		fieldOff := 4 + 4*i
		raw := binary.LittleEndian.Uint32(b[fieldOff:])
		if raw == 0 {
			continue
		}
		if raw < sdHeaderLen || uint64(raw) >= uint64(len(b)) {
			return nil, s.errorf(fieldOff, part.String()+" offset", "offset %d outside the descriptor (%d..%d)", raw, sdHeaderLen, len(b)-1)
		}
		off := int(raw)
		rest := s.sub(off, len(b))
		var n int
		switch part {
		case PartOwner, PartGroup:
			sid, size, err := parseSID(rest, part.String()+" SID")
			if err != nil {
				return nil, err
			}
			if part == PartOwner {
				sd.Owner = &sid
			} else {
				sd.Group = &sid
			}
			n = size
		case PartSACL, PartDACL:
			acl, size, err := parseACL(rest, part.String())
			if err != nil {
				return nil, err
			}
			if part == PartSACL {
				sd.SACL = acl
			} else {
				sd.DACL = acl
			}
			n = size
		}
		comps = append(comps, component{part, off, off + n})
	}
	slices.SortFunc(comps, func(a, b component) int { return a.start - b.start })
	next := sdHeaderLen
	for _, c := range comps {
		if c.start != next {
			return sd, nil
		}
		next = c.end
	}
	if next == len(b) {
		sd.Layout = make([]Part, len(comps))
		for i, c := range comps {
			sd.Layout[i] = c.part
		}
	}
	return sd, nil
}

// HasNullDACL reports whether sd has no DACL to evaluate: no DACL present,
// or ControlDACLPresent unset. Windows then grants every access to everyone.
// A descriptor read without the DACL (LDAP_SERVER_SD_FLAGS without
// DACL_SECURITY_INFORMATION) looks the same: request the DACL.
func (sd *SecurityDescriptor) HasNullDACL() bool {
	return sd.DACL == nil || sd.Control&ControlDACLPresent == 0
}

// Marshal returns the self-relative binary form, components in Layout
// order (DefaultLayout when Layout is nil), back to back after the header.
// Control is written as it is, with ControlSelfRelative set; callers that
// add a DACL to a descriptor without one set ControlDACLPresent.
func (sd *SecurityDescriptor) Marshal() ([]byte, error) {
	layout := sd.Layout
	if layout == nil {
		layout = DefaultLayout
	}
	b := make([]byte, sdHeaderLen, 256)
	b[0], b[1] = sd.Revision, sd.Sbz1
	binary.LittleEndian.PutUint16(b[2:], uint16(sd.Control|ControlSelfRelative))
	seen := map[Part]bool{}
	for _, part := range append(slices.Clone(layout), DefaultLayout...) {
		if seen[part] {
			continue
		}
		seen[part] = true
		start := len(b)
		var err error
		switch part {
		case PartOwner, PartGroup:
			sid := sd.Owner
			if part == PartGroup {
				sid = sd.Group
			}
			if sid == nil {
				continue
			}
			if err := sid.Valid(); err != nil {
				return nil, fmt.Errorf("security descriptor %s: %w", part, err)
			}
			b = sid.appendTo(b)
		case PartSACL, PartDACL:
			acl := sd.SACL
			if part == PartDACL {
				acl = sd.DACL
			}
			if acl == nil {
				continue
			}
			if b, err = acl.appendTo(b); err != nil {
				return nil, fmt.Errorf("security descriptor %s: %w", part, err)
			}
		default:
			return nil, fmt.Errorf("security descriptor: unknown layout part %d", part)
		}
		binary.LittleEndian.PutUint32(b[4+4*(int(part)-1):], uint32(start))
	}
	return b, nil
}
