package wire

import (
	"strconv"
	"strings"
)

// Mask is an ACCESS_MASK (MS-DTYP 2.4.3) with the directory service rights
// of MS-ADTS 5.1.3.2.
type Mask uint32

// Directory service access rights; the comment gives the SDDL abbreviation.
const (
	RightCreateChild    Mask = 0x00000001 // CC
	RightDeleteChild    Mask = 0x00000002 // DC
	RightListChildren   Mask = 0x00000004 // LC
	RightSelf           Mask = 0x00000008 // SW: validated write
	RightReadProperty   Mask = 0x00000010 // RP
	RightWriteProperty  Mask = 0x00000020 // WP
	RightDeleteTree     Mask = 0x00000040 // DT
	RightListObject     Mask = 0x00000080 // LO
	RightControlAccess  Mask = 0x00000100 // CR: extended rights
	RightDelete         Mask = 0x00010000 // SD
	RightReadControl    Mask = 0x00020000 // RC
	RightWriteDAC       Mask = 0x00040000 // WD
	RightWriteOwner     Mask = 0x00080000 // WO
	RightGenericAll     Mask = 0x10000000 // GA
	RightGenericExecute Mask = 0x20000000 // GX
	RightGenericWrite   Mask = 0x40000000 // GW
	RightGenericRead    Mask = 0x80000000 // GR
)

// What the generic rights stand for on directory objects (MS-ADTS 5.1.3.2,
// the DS generic mapping). Active Directory stores GenericAll expanded, as
// 0x000F01FF ("full control").
const (
	FullControl           Mask = 0x000F01FF
	GenericReadMapping    Mask = RightReadControl | RightListChildren | RightReadProperty | RightListObject
	GenericWriteMapping   Mask = RightReadControl | RightSelf | RightWriteProperty
	GenericExecuteMapping Mask = RightReadControl | RightListChildren
)

// Mapped returns m with its generic rights replaced by the directory rights
// they stand for.
func (m Mask) Mapped() Mask {
	out := m &^ (RightGenericAll | RightGenericExecute | RightGenericWrite | RightGenericRead)
	if m&RightGenericAll != 0 {
		out |= FullControl
	}
	if m&RightGenericExecute != 0 {
		out |= GenericExecuteMapping
	}
	if m&RightGenericWrite != 0 {
		out |= GenericWriteMapping
	}
	if m&RightGenericRead != 0 {
		out |= GenericReadMapping
	}
	return out
}

// sddlRights lists the SDDL rights abbreviations in the order they are
// written: the generic rights first (GA GR GW GX), then the others in
// ascending bit order, which gives full control as Windows writes it.
var sddlRights = []struct {
	bit  Mask
	abbr string
}{
	{RightGenericAll, "GA"},
	{RightGenericRead, "GR"},
	{RightGenericWrite, "GW"},
	{RightGenericExecute, "GX"},
	{RightCreateChild, "CC"},
	{RightDeleteChild, "DC"},
	{RightListChildren, "LC"},
	{RightSelf, "SW"},
	{RightReadProperty, "RP"},
	{RightWriteProperty, "WP"},
	{RightDeleteTree, "DT"},
	{RightListObject, "LO"},
	{RightControlAccess, "CR"},
	{RightDelete, "SD"},
	{RightReadControl, "RC"},
	{RightWriteDAC, "WD"},
	{RightWriteOwner, "WO"},
}

// SDDL returns the SDDL rights string: abbreviations such as "RPWP" when
// every bit has one, otherwise the whole mask in hexadecimal ("0x100020"),
// since SDDL does not mix the two forms. Full control is
// "CCDCLCSWRPWPDTLOCRSDRCWDWO", as Windows writes it. A zero mask is "".
func (m Mask) SDDL() string {
	var b strings.Builder
	rest := m
	for _, r := range sddlRights {
		if m&r.bit != 0 {
			b.WriteString(r.abbr)
			rest &^= r.bit
		}
	}
	if rest != 0 {
		return "0x" + strconv.FormatUint(uint64(m), 16)
	}
	return b.String()
}

// String returns the SDDL rights string.
func (m Mask) String() string { return m.SDDL() }
