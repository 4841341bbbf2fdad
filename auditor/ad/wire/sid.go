package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// MaxSubAuthorities is the most sub-authorities a SID may hold (MS-DTYP 2.4.2).
const MaxSubAuthorities = 15

// maxAuthority is the largest 48-bit identifier authority.
const maxAuthority = 1<<48 - 1

// SID is a Windows security identifier (MS-DTYP 2.4.2), e.g.
// S-1-5-21-1004336348-1177238915-682003330-1104. Its revision is always 1.
// Compare SIDs with Equal.
type SID struct {
	// Authority is the 48-bit identifier authority (5 for NT AUTHORITY).
	Authority uint64
	// SubAuthorities are the sub-authorities; the last one of an account
	// SID is its RID. At most MaxSubAuthorities.
	SubAuthorities []uint32
}

// Well-known SIDs.
var (
	// Everyone is S-1-1-0 (SDDL WD): in every token.
	Everyone = SID{Authority: 1, SubAuthorities: []uint32{0}}
	// CreatorOwner is S-1-3-0 (SDDL CO): a placeholder in inheritable ACEs
	// that never matches a token.
	CreatorOwner = SID{Authority: 3, SubAuthorities: []uint32{0}}
	// CreatorGroup is S-1-3-1 (SDDL CG).
	CreatorGroup = SID{Authority: 3, SubAuthorities: []uint32{1}}
	// OwnerRights is S-1-3-4 (SDDL OW): ACEs for it replace the owner's
	// implicit READ_CONTROL and WRITE_DAC.
	OwnerRights = SID{Authority: 3, SubAuthorities: []uint32{4}}
	// Network is S-1-5-2 (SDDL NU): in the token of every account that
	// logged on over the network, as a DNS server sees a dynamic update's
	// signer.
	Network = SID{Authority: 5, SubAuthorities: []uint32{2}}
	// Anonymous is S-1-5-7 (SDDL AN).
	Anonymous = SID{Authority: 5, SubAuthorities: []uint32{7}}
	// EnterpriseDomainControllers is S-1-5-9 (SDDL ED).
	EnterpriseDomainControllers = SID{Authority: 5, SubAuthorities: []uint32{9}}
	// Self is S-1-5-10 (SDDL PS, "principal self"): matches when the object
	// is the account itself, never for a dnsNode.
	Self = SID{Authority: 5, SubAuthorities: []uint32{10}}
	// AuthenticatedUsers is S-1-5-11 (SDDL AU): in the token of every
	// authenticated account, computer accounts included.
	AuthenticatedUsers = SID{Authority: 5, SubAuthorities: []uint32{11}}
	// ThisOrganization is S-1-5-15: Windows adds it to the token of an
	// account of the same forest (Samba 4.17 does not).
	ThisOrganization = SID{Authority: 5, SubAuthorities: []uint32{15}}
	// AuthenticationAuthorityAsserted is S-1-18-1 (SDDL AS),
	// "Authentication authority asserted identity": in the token of an
	// account that authenticated with its own credentials to the KDC
	// (Kerberos), as a GSS-TSIG update's signer has.
	AuthenticationAuthorityAsserted = SID{Authority: 18, SubAuthorities: []uint32{1}}
	// ServiceAsserted is S-1-18-2 (SDDL SS), "Service asserted identity":
	// in the token of an account a service logged on for it (S4U), never
	// with AuthenticationAuthorityAsserted.
	ServiceAsserted = SID{Authority: 18, SubAuthorities: []uint32{2}}
	// LocalSystem is S-1-5-18 (SDDL SY).
	LocalSystem = SID{Authority: 5, SubAuthorities: []uint32{18}}
	// BuiltinAdministrators is S-1-5-32-544 (SDDL BA).
	BuiltinAdministrators = SID{Authority: 5, SubAuthorities: []uint32{32, 544}}
)

// Well-known RIDs of a domain (MS-DTYP 2.4.2.4), for use with SID.WithRID.
const (
	RIDDomainAdmins      = 512
	RIDDomainUsers       = 513
	RIDDomainComputers   = 515
	RIDDomainControllers = 516
	RIDEnterpriseAdmins  = 519
)

// ParseSID decodes a binary SID from the start of b and returns it with the
// number of bytes it occupies (8 + 4 × sub-authority count). Bytes after the
// SID are ignored.
func ParseSID(b []byte) (SID, int, error) {
	return parseSID(span{structure: "SID", b: b}, "SID")
}

func parseSID(s span, field string) (SID, int, error) {
	rev, err := s.u8(0, field+" revision")
	if err != nil {
		return SID{}, 0, err
	}
	if rev != 1 {
		return SID{}, 0, s.errorf(0, field+" revision", "revision %d, want 1", rev)
	}
	count, err := s.u8(1, field+" sub-authority count")
	if err != nil {
		return SID{}, 0, err
	}
	if count > MaxSubAuthorities {
		return SID{}, 0, s.errorf(1, field+" sub-authority count", "%d sub-authorities, at most %d allowed", count, MaxSubAuthorities)
	}
	if err := s.need(2, 6, field+" identifier authority"); err != nil {
		return SID{}, 0, err
	}
	size := 8 + 4*int(count)
	if err := s.need(8, 4*int(count), field+" sub-authorities"); err != nil {
		return SID{}, 0, err
	}
	var sid SID
	for _, c := range s.b[2:8] {
		sid.Authority = sid.Authority<<8 | uint64(c)
	}
	if count > 0 {
		sid.SubAuthorities = make([]uint32, count)
		for i := range sid.SubAuthorities {
			sid.SubAuthorities[i] = binary.LittleEndian.Uint32(s.b[8+4*i:])
		}
	}
	return sid, size, nil
}

// ParseSIDString parses the S-1-… text form. The authority is decimal, or
// hexadecimal with a 0x prefix (as MS-DTYP 2.4.2.1 writes authorities of
// 2^32 and above).
func ParseSIDString(str string) (SID, error) {
	parts := strings.Split(str, "-")
	if len(parts) < 3 || (parts[0] != "S" && parts[0] != "s") || parts[1] != "1" {
		return SID{}, fmt.Errorf("SID %q: want S-1-<authority>[-<sub-authority>...]", str)
	}
	var sid SID
	var err error
	auth := parts[2]
	if strings.HasPrefix(auth, "0x") || strings.HasPrefix(auth, "0X") {
		sid.Authority, err = strconv.ParseUint(auth[2:], 16, 48)
	} else {
		sid.Authority, err = strconv.ParseUint(auth, 10, 48)
	}
	if err != nil {
		return SID{}, fmt.Errorf("SID %q: identifier authority %q is not a 48-bit number", str, auth)
	}
	subs := parts[3:]
	if len(subs) > MaxSubAuthorities {
		return SID{}, fmt.Errorf("SID %q: %d sub-authorities, at most %d allowed", str, len(subs), MaxSubAuthorities)
	}
	if len(subs) > 0 {
		sid.SubAuthorities = make([]uint32, len(subs))
	}
	for i, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return SID{}, fmt.Errorf("SID %q: sub-authority %d %q is not a 32-bit number", str, i+1, p)
		}
		sid.SubAuthorities[i] = uint32(v)
	}
	return sid, nil
}

// MustParseSIDString is ParseSIDString for constants; it panics on error.
func MustParseSIDString(str string) SID {
	sid, err := ParseSIDString(str)
	if err != nil {
		panic(err)
	}
	return sid
}

// String returns the S-1-… form (MS-DTYP 2.4.2.1).
func (s SID) String() string {
	var b strings.Builder
	b.WriteString("S-1-")
	if s.Authority < 1<<32 {
		b.WriteString(strconv.FormatUint(s.Authority, 10))
	} else {
		fmt.Fprintf(&b, "0x%012X", s.Authority)
	}
	for _, sub := range s.SubAuthorities {
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(sub), 10))
	}
	return b.String()
}

// Size is the length of the binary form.
func (s SID) Size() int { return 8 + 4*len(s.SubAuthorities) }

// Bytes returns the binary form. A SID with more than MaxSubAuthorities
// sub-authorities or an authority above 48 bits has none: Bytes returns nil
// (Valid says why).
func (s SID) Bytes() []byte {
	if s.Valid() != nil {
		return nil
	}
	return s.appendTo(make([]byte, 0, s.Size()))
}

// Valid reports why s has no binary form, or nil.
func (s SID) Valid() error {
	if len(s.SubAuthorities) > MaxSubAuthorities {
		return fmt.Errorf("SID %s: %d sub-authorities, at most %d allowed", s, len(s.SubAuthorities), MaxSubAuthorities)
	}
	if s.Authority > maxAuthority {
		return fmt.Errorf("SID %s: identifier authority above 48 bits", s)
	}
	return nil
}

func (s SID) appendTo(b []byte) []byte {
	b = append(b, 1, byte(len(s.SubAuthorities)))
	for shift := 40; shift >= 0; shift -= 8 {
		b = append(b, byte(s.Authority>>shift))
	}
	for _, sub := range s.SubAuthorities {
		b = binary.LittleEndian.AppendUint32(b, sub)
	}
	return b
}

// Equal reports whether s and o are the same SID.
func (s SID) Equal(o SID) bool {
	if s.Authority != o.Authority || len(s.SubAuthorities) != len(o.SubAuthorities) {
		return false
	}
	for i, v := range s.SubAuthorities {
		if o.SubAuthorities[i] != v {
			return false
		}
	}
	return true
}

// RID returns the last sub-authority (the relative identifier of an account
// in its domain), or 0 when s has none.
func (s SID) RID() uint32 {
	if len(s.SubAuthorities) == 0 {
		return 0
	}
	return s.SubAuthorities[len(s.SubAuthorities)-1]
}

// Domain returns s without its RID: the domain SID of an account SID.
func (s SID) Domain() SID {
	d := SID{Authority: s.Authority}
	if n := len(s.SubAuthorities); n > 1 {
		d.SubAuthorities = append([]uint32(nil), s.SubAuthorities[:n-1]...)
	}
	return d
}

// WithRID returns s with rid appended: Domain().WithRID(RIDDomainAdmins) is
// the Domain Admins group of an account's domain.
func (s SID) WithRID(rid uint32) SID {
	subs := make([]uint32, len(s.SubAuthorities), len(s.SubAuthorities)+1)
	copy(subs, s.SubAuthorities)
	return SID{Authority: s.Authority, SubAuthorities: append(subs, rid)}
}

// IsDomainSID reports whether s lies in a domain's account space
// (S-1-5-21-…): the SID of a user, computer or group of some domain.
func (s SID) IsDomainSID() bool {
	return s.Authority == 5 && len(s.SubAuthorities) >= 1 && s.SubAuthorities[0] == 21
}
