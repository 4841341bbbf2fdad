package wire

import (
	"fmt"
	"strings"
)

// Token is the security context of an account as the access check sees it:
// its own SID and every group SID it holds (transitively, as tokenGroups
// lists them). It matches exactly the SIDs it holds: build it with
// NewToken to include Everyone and Authenticated Users, or NetworkToken
// for the token of a network logon.
type Token struct {
	User   SID
	Groups []SID
}

// NewToken returns the token of an authenticated account: user, its groups,
// and the well-known Everyone (S-1-1-0) and Authenticated Users (S-1-5-11)
// that every such token carries (unless already among groups).
func NewToken(user SID, groups ...SID) Token {
	t := Token{User: user, Groups: append([]SID(nil), groups...)}
	for _, wk := range []SID{Everyone, AuthenticatedUsers} {
		if !t.Contains(wk) {
			t.Groups = append(t.Groups, wk)
		}
	}
	return t
}

// Logon says how an account logged on, for NetworkToken.
type Logon struct {
	// Kerberos: it authenticated to the KDC with its own credentials (a
	// GSS-TSIG update's signer does), so the token holds Authentication
	// authority asserted identity (S-1-18-1).
	Kerberos bool
	// DomainController: it is a domain controller's account
	// (userAccountControl has SERVER_TRUST_ACCOUNT, 0x2000), so the token
	// holds Enterprise Domain Controllers (S-1-5-9).
	DomainController bool
}

// NetworkToken returns the token a domain controller builds for an
// account that logs on over the network, as the DNS server does for the
// signer of a secure dynamic update: NewToken's SIDs plus NETWORK
// (S-1-5-2) and This Organization (S-1-5-15), and those l adds. Samba 4.17
// leaves This Organization out (it adds the others); Windows adds it for
// accounts of its own forest.
func NetworkToken(user SID, l Logon, groups ...SID) Token {
	t := NewToken(user, groups...)
	extra := []SID{Network, ThisOrganization}
	if l.Kerberos {
		extra = append(extra, AuthenticationAuthorityAsserted)
	}
	if l.DomainController {
		extra = append(extra, EnterpriseDomainControllers)
	}
	for _, s := range extra {
		if !t.Contains(s) {
			t.Groups = append(t.Groups, s)
		}
	}
	return t
}

// Contains reports whether the token holds s.
func (t Token) Contains(s SID) bool {
	if t.User.Equal(s) {
		return true
	}
	for _, g := range t.Groups {
		if g.Equal(s) {
			return true
		}
	}
	return false
}

// Decision is the outcome of an access check for one right.
type Decision uint8

// Decisions.
const (
	// NotGranted: no ACE grants the right (Windows then denies it).
	NotGranted Decision = iota
	// Allowed: the right is granted.
	Allowed
	// Denied: a deny ACE took the right away before anything granted it.
	Denied
)

// String returns "not granted", "allowed" or "denied".
func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allowed"
	case Denied:
		return "denied"
	}
	return "not granted"
}

// Source says what decided a Grant.
type Source uint8

// Sources of a decision.
const (
	// SourceNone: nothing decided; the right is not granted.
	SourceNone Source = iota
	// SourceACE: the DACL entry at Grant.Index.
	SourceACE
	// SourceNullDACL: the descriptor has no DACL, which grants everything.
	SourceNullDACL
	// SourceOwner: the implicit READ_CONTROL and WRITE_DAC of the owner.
	SourceOwner
)

// Grant is the outcome of checking one right, with what decided it.
type Grant struct {
	Decision Decision
	Source   Source
	// Index is the deciding ACE's index in the DACL (from 0) when Source is
	// SourceACE, -1 otherwise. Grant.String counts positions from 1.
	Index int
	// ACE is the deciding ACE in SDDL when Source is SourceACE.
	ACE string
}

// String explains the grant, e.g. "denied by (D;;WP;;;S-1-5-21-…-1105) at
// position 2 of the DACL" (positions count from 1).
func (g Grant) String() string {
	switch g.Source {
	case SourceACE:
		return fmt.Sprintf("%s by %s at position %d of the DACL", g.Decision, g.ACE, g.Index+1)
	case SourceNullDACL:
		return "allowed: the object has no DACL (a null DACL grants everyone every right)"
	case SourceOwner:
		return "allowed: implicit right of the owner"
	}
	return "not granted by any ACE"
}

// Check runs the access check of MS-DTYP 2.5.3.2 for the rights in desired
// (generic rights are mapped first) with the object-specific rules of
// 2.5.3.3: ACEs are evaluated in order, inherit-only ACEs are skipped, a
// deny ACE for any right not yet granted denies, and the check is allowed
// once allow ACEs have granted every desired right. An object ACE counts
// when it names no ObjectType or one of objectTypes (the object's class, the
// attribute's property set, the attribute). The owner holds READ_CONTROL
// and WRITE_DAC before any ACE is looked at, unless the DACL holds an ACE
// for OWNER RIGHTS (S-1-3-4), which then applies to the owner instead. ACEs
// of types this package does not decode are skipped (CheckAccess reports
// them).
func (sd *SecurityDescriptor) Check(t Token, desired Mask, objectTypes ...GUID) Grant {
	none := Grant{Decision: NotGranted, Source: SourceNone, Index: -1}
	desired = desired.Mapped()
	if sd == nil || desired == 0 {
		return none
	}
	if sd.HasNullDACL() {
		return Grant{Decision: Allowed, Source: SourceNullDACL, Index: -1}
	}
	owner := sd.Owner != nil && t.Contains(*sd.Owner)
	ownerRightsACE := false
	for _, a := range sd.DACL.ACEs {
		if a.Type.Decoded() && a.Flags&ACEInheritOnly == 0 && a.SID.Equal(OwnerRights) {
			ownerRightsACE = true
			break
		}
	}
	var granted Mask
	if owner && !ownerRightsACE {
		granted = (RightReadControl | RightWriteDAC) & desired
		if granted == desired {
			return Grant{Decision: Allowed, Source: SourceOwner, Index: -1}
		}
	}
	for i, a := range sd.DACL.ACEs {
		if !a.Type.Decoded() || a.Flags&ACEInheritOnly != 0 {
			continue
		}
		if !t.Contains(a.SID) && !(owner && a.SID.Equal(OwnerRights)) {
			continue
		}
		if a.IsObject() && a.ObjectType != nil && !containsGUID(objectTypes, *a.ObjectType) {
			continue
		}
		mask := a.Mask.Mapped() & desired
		if a.IsAllow() {
			granted |= mask
			if granted == desired {
				return Grant{Decision: Allowed, Source: SourceACE, Index: i, ACE: a.SDDL()}
			}
			continue
		}
		if mask&^granted != 0 {
			return Grant{Decision: Denied, Source: SourceACE, Index: i, ACE: a.SDDL()}
		}
	}
	return none
}

func containsGUID(list []GUID, g GUID) bool {
	for _, x := range list {
		if x == g {
			return true
		}
	}
	return false
}

// Verdict sums up whether an account can maintain the _vlmcs._tcp records.
type Verdict uint8

// Verdicts.
const (
	// Cannot: the account may not write dnsRecord; its updates are refused.
	Cannot Verdict = iota
	// DNSRecordOnly: the account may write dnsRecord but not dNSTombstoned:
	// adding and replacing records works, deleting the last record fails
	// (the DNS server tombstones the node and needs both).
	DNSRecordOnly
	// CanUpdate: the account may write both.
	CanUpdate
)

// String returns "cannot update", "dnsRecord only" or "can update".
func (v Verdict) String() string {
	switch v {
	case CanUpdate:
		return "can update"
	case DNSRecordOnly:
		return "dnsRecord only"
	}
	return "cannot update"
}

// Access is whether an account may update the records of a dnsNode, and why.
type Access struct {
	Verdict Verdict
	// DNSRecord is WriteProperty on dnsRecord: adding, changing, removing
	// records.
	DNSRecord Grant
	// DNSTombstoned is WriteProperty on dNSTombstoned: needed to remove the
	// last record (the node is tombstoned).
	DNSTombstoned Grant
	// WriteDAC is WRITE_DAC on the node: an account holding it (the owner
	// always does, unless an OWNER RIGHTS ACE says otherwise) can grant
	// itself anything, though it does not hold WriteProperty until it does.
	WriteDAC Grant
	// Owner reports that the token holds the node's owner SID.
	Owner bool
	// NullDACL reports that the node has no DACL: everyone may do anything.
	// A descriptor read without its DACL looks the same (see HasNullDACL).
	NullDACL bool
	// Undecoded lists the DACL indices of ACEs this package does not decode
	// (callback, conditional or other types) and that are not inherit-only.
	// They were not evaluated: if one applies to the account, Windows'
	// answer may differ.
	Undecoded []int
}

// CheckAccess decides whether the account whose token is t may update the
// records of the dnsNode protected by sd: WriteProperty on dnsRecord and on
// dNSTombstoned, with ACEs for the dnsNode class or those attributes
// counting. A nil sd (no descriptor read) grants nothing.
func CheckAccess(sd *SecurityDescriptor, t Token) Access {
	if sd == nil {
		none := Grant{Index: -1}
		return Access{Verdict: Cannot, DNSRecord: none, DNSTombstoned: none, WriteDAC: none}
	}
	a := Access{
		DNSRecord:     sd.Check(t, RightWriteProperty, ClassDNSNode, AttrDNSRecord),
		DNSTombstoned: sd.Check(t, RightWriteProperty, ClassDNSNode, AttrDNSTombstoned),
		WriteDAC:      sd.Check(t, RightWriteDAC, ClassDNSNode),
		Owner:         sd.Owner != nil && t.Contains(*sd.Owner),
		NullDACL:      sd.HasNullDACL(),
	}
	if !a.NullDACL {
		for i, ace := range sd.DACL.ACEs {
			if !ace.Type.Decoded() && ace.Flags&ACEInheritOnly == 0 {
				a.Undecoded = append(a.Undecoded, i)
			}
		}
	}
	switch {
	case a.DNSRecord.Decision == Allowed && a.DNSTombstoned.Decision == Allowed:
		a.Verdict = CanUpdate
	case a.DNSRecord.Decision == Allowed:
		a.Verdict = DNSRecordOnly
	default:
		a.Verdict = Cannot
	}
	return a
}

// String explains the result in one line, e.g. "cannot update: dnsRecord
// denied by (D;;WP;;;S-1-5-21-…) at position 1 of the DACL; dNSTombstoned
// ...; owner: can grant itself write access".
func (a Access) String() string {
	var b strings.Builder
	b.WriteString(a.Verdict.String())
	b.WriteString(": dnsRecord ")
	b.WriteString(a.DNSRecord.String())
	b.WriteString("; dNSTombstoned ")
	b.WriteString(a.DNSTombstoned.String())
	if a.Owner {
		b.WriteString("; the account owns the node")
	}
	if a.Verdict != CanUpdate && a.WriteDAC.Decision == Allowed {
		b.WriteString("; it holds WRITE_DAC and can grant itself write access")
	}
	if len(a.Undecoded) > 0 {
		fmt.Fprintf(&b, "; %d ACE(s) of undecoded types not evaluated", len(a.Undecoded))
	}
	return b.String()
}
