package wire

import (
	"strconv"
	"strings"
)

// sidAliases are the SDDL abbreviations of well-known SIDs this package
// prints instead of the S-1-… form (MS-DTYP 2.5.1.1). Domain-relative
// aliases (DA, DU, ...) are not used: they mean a different SID on every
// domain, and a fix command must name exactly one.
var sidAliases = map[string]string{
	"S-1-1-0":      "WD",
	"S-1-3-0":      "CO",
	"S-1-3-1":      "CG",
	"S-1-3-4":      "OW",
	"S-1-5-2":      "NU",
	"S-1-5-7":      "AN",
	"S-1-5-9":      "ED",
	"S-1-5-10":     "PS",
	"S-1-5-11":     "AU",
	"S-1-5-18":     "SY",
	"S-1-5-19":     "LS",
	"S-1-5-20":     "NS",
	"S-1-18-1":     "AS",
	"S-1-18-2":     "SS",
	"S-1-5-32-544": "BA",
	"S-1-5-32-545": "BU",
	"S-1-5-32-548": "AO",
	"S-1-5-32-549": "SO",
	"S-1-5-32-550": "PO",
	"S-1-5-32-551": "BO",
	"S-1-5-32-554": "RU",
}

// SDDL returns the SDDL form of s: the alias of a well-known SID (WD for
// Everyone, AU, CO, PS, SY, BA, ...) or its S-1-… string.
func (s SID) SDDL() string {
	str := s.String()
	if a, ok := sidAliases[str]; ok {
		return a
	}
	return str
}

var aceFlagSDDL = []struct {
	flag ACEFlags
	abbr string
}{
	{ACEObjectInherit, "OI"},
	{ACEContainerInherit, "CI"},
	{ACENoPropagate, "NP"},
	{ACEInheritOnly, "IO"},
	{ACEInherited, "ID"},
	{ACESuccessfulAccess, "SA"},
	{ACEFailedAccess, "FA"},
}

// SDDL returns the SDDL ace_flags string, e.g. "CIID". Bits SDDL has no
// name for (0x20) are left out.
func (f ACEFlags) SDDL() string {
	var b strings.Builder
	for _, x := range aceFlagSDDL {
		if f&x.flag != 0 {
			b.WriteString(x.abbr)
		}
	}
	return b.String()
}

// SDDL returns the SDDL ace string (MS-DTYP 2.5.1.1):
// "(A;;RPWP;;;S-1-5-21-…)", "(OA;CI;WP;e0fa1e69-9b45-11d0-afdd-00c04fd930c9;;AU)".
//
// An ACE of a type this package does not decode has no faithful SDDL here;
// it is written as "(<type>;<flags>;?<n> bytes not decoded)", which no SDDL
// parser accepts, so it cannot be mistaken for a real ACE string.
func (a ACE) SDDL() string {
	var b strings.Builder
	b.WriteByte('(')
	b.WriteString(a.Type.String())
	b.WriteByte(';')
	b.WriteString(a.Flags.SDDL())
	b.WriteByte(';')
	if !a.Type.Decoded() {
		b.WriteString("?")
		b.WriteString(strconv.Itoa(len(a.Raw)))
		b.WriteString(" bytes not decoded)")
		return b.String()
	}
	b.WriteString(a.Mask.SDDL())
	b.WriteByte(';')
	if a.ObjectType != nil {
		b.WriteString(a.ObjectType.String())
	}
	b.WriteByte(';')
	if a.InheritedObjectType != nil {
		b.WriteString(a.InheritedObjectType.String())
	}
	b.WriteByte(';')
	b.WriteString(a.SID.SDDL())
	b.WriteByte(')')
	return b.String()
}

// String returns the SDDL form.
func (a ACE) String() string { return a.SDDL() }

// SDDL returns the ACEs of acl in SDDL, concatenated (no "D:" prefix and no
// flags: those come from the descriptor's control, see
// SecurityDescriptor.SDDL).
func (acl *ACL) SDDL() string {
	var b strings.Builder
	for i := range acl.ACEs {
		b.WriteString(acl.ACEs[i].SDDL())
	}
	return b.String()
}

// SDDL returns the descriptor in SDDL: "O:<owner>G:<group>D:<flags><aces>
// S:<flags><aces>", parts that are absent left out. A DACL marked present
// but null is "D:NO_ACCESS_CONTROL".
func (sd *SecurityDescriptor) SDDL() string {
	var b strings.Builder
	if sd.Owner != nil {
		b.WriteString("O:")
		b.WriteString(sd.Owner.SDDL())
	}
	if sd.Group != nil {
		b.WriteString("G:")
		b.WriteString(sd.Group.SDDL())
	}
	writeACL := func(prefix string, acl *ACL, present, protected, autoInherited, autoInheritReq Control) {
		if acl == nil && sd.Control&present == 0 {
			return
		}
		b.WriteString(prefix)
		if sd.Control&protected != 0 {
			b.WriteString("P")
		}
		if sd.Control&autoInheritReq != 0 {
			b.WriteString("AR")
		}
		if sd.Control&autoInherited != 0 {
			b.WriteString("AI")
		}
		if acl == nil {
			b.WriteString("NO_ACCESS_CONTROL")
			return
		}
		b.WriteString(acl.SDDL())
	}
	writeACL("D:", sd.DACL, ControlDACLPresent, ControlDACLProtected, ControlDACLAutoInherited, ControlDACLAutoInheritReq)
	writeACL("S:", sd.SACL, ControlSACLPresent, ControlSACLProtected, ControlSACLAutoInherited, ControlSACLAutoInheritReq)
	return b.String()
}
