package wire_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

func allowACE(s wire.SID, m wire.Mask) wire.ACE {
	return wire.ACE{Type: wire.ACEAccessAllowed, Mask: m, SID: s}
}

func denyACE(s wire.SID, m wire.Mask) wire.ACE {
	return wire.ACE{Type: wire.ACEAccessDenied, Mask: m, SID: s}
}

func objACE(typ wire.ACEType, s wire.SID, m wire.Mask, obj wire.GUID) wire.ACE {
	return wire.ACE{Type: typ, Mask: m, ObjectType: &obj, SID: s}
}

// node returns the descriptor of a _vlmcs._tcp node owned by KMS1 with the
// given DACL.
func node(aces ...wire.ACE) *wire.SecurityDescriptor {
	return &wire.SecurityDescriptor{Revision: 1, Control: nodeControl, Owner: ptrSID(kms1SID), Group: ptrSID(daSID),
		DACL: &wire.ACL{Revision: 4, ACEs: aces}}
}

func byACE(d wire.Decision, i int, ace wire.ACE) wire.Grant {
	return wire.Grant{Decision: d, Source: wire.SourceACE, Index: i, ACE: ace.SDDL()}
}

var (
	notGranted = wire.Grant{Decision: wire.NotGranted, Source: wire.SourceNone, Index: -1}
	byOwner    = wire.Grant{Decision: wire.Allowed, Source: wire.SourceOwner, Index: -1}
	byNullDACL = wire.Grant{Decision: wire.Allowed, Source: wire.SourceNullDACL, Index: -1}
)

func TestCheckAccess(t *testing.T) {
	// The DACL KMS1's registration leaves, plus what the zone hands down.
	kms1Full := allowACE(kms1SID, wire.FullControl)
	inheritedAU := wire.ACE{Type: wire.ACEAccessAllowed, Flags: wire.ACEInherited, Mask: wire.GenericReadMapping, SID: wire.AuthenticatedUsers}
	groupGA := allowACE(groupSID, wire.FullControl)
	groupGenericAll := allowACE(groupSID, wire.RightGenericAll)
	groupGW := allowACE(groupSID, wire.RightGenericWrite)
	groupRPWP := allowACE(groupSID, wire.RightReadProperty|wire.RightWriteProperty)
	denyKMS2WP := denyACE(kms2SID, wire.RightWriteProperty)
	groupRecordOnly := objACE(wire.ACEAccessAllowedObject, groupSID, wire.RightWriteProperty, wire.AttrDNSRecord)
	groupTombOnly := objACE(wire.ACEAccessAllowedObject, groupSID, wire.RightWriteProperty, wire.AttrDNSTombstoned)
	groupProperty := objACE(wire.ACEAccessAllowedObject, groupSID, wire.RightWriteProperty, wire.AttrDNSProperty)
	groupNodeClass := objACE(wire.ACEAccessAllowedObject, groupSID, wire.RightWriteProperty, wire.ClassDNSNode)
	groupNoObjType := wire.ACE{Type: wire.ACEAccessAllowedObject, Mask: wire.RightWriteProperty, InheritedObjectType: &wire.ClassDNSNode, SID: groupSID}
	denyKMS2Tomb := objACE(wire.ACEAccessDeniedObject, kms2SID, wire.RightWriteProperty, wire.AttrDNSTombstoned)
	denyKMS2Property := objACE(wire.ACEAccessDeniedObject, kms2SID, wire.RightWriteProperty, wire.AttrDNSProperty)
	groupInheritOnly := wire.ACE{Type: wire.ACEAccessAllowed, Flags: wire.ACEContainerInherit | wire.ACEInheritOnly, Mask: wire.FullControl, SID: groupSID}
	everyoneWP := allowACE(wire.Everyone, wire.RightWriteProperty)
	authUsersRPWP := allowACE(wire.AuthenticatedUsers, wire.RightReadProperty|wire.RightWriteProperty)
	creatorOwnerGA := allowACE(wire.CreatorOwner, wire.FullControl)
	denyKMS2WD := denyACE(kms2SID, wire.RightWriteDAC)
	ownerRightsRC := allowACE(wire.OwnerRights, wire.RightReadControl)
	ownerRightsWP := allowACE(wire.OwnerRights, wire.RightWriteProperty)
	callback := wire.ACE{Type: 0x0A, Raw: cat(le32(0x20), sidRaw(5, 21, 1000, 2000, 3000, 1105), []byte("artx"))}

	kms2 := wire.NewToken(kms2SID, groupSID)                        // KMS2, member of the group
	kms3 := wire.NewToken(kms3SID)                                  // outside the group
	kms1 := wire.NewToken(kms1SID, groupSID)                        // the owner
	bare := wire.Token{User: kms2SID, Groups: []wire.SID{groupSID}} // without the well-known SIDs

	tests := []struct {
		name  string
		sd    *wire.SecurityDescriptor
		token wire.Token
		want  wire.Access
	}{
		{
			name: "the owner's explicit full control", sd: node(kms1Full, inheritedAU), token: kms1,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 0, kms1Full), DNSTombstoned: byACE(wire.Allowed, 0, kms1Full),
				WriteDAC: byOwner, Owner: true},
		},
		{
			name: "second host before any grant", sd: node(kms1Full, inheritedAU), token: kms2,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
		{
			name: "owner only: implicit rights are no write access", sd: node(inheritedAU), token: kms1,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: byOwner, Owner: true},
		},
		{
			name: "group full control (stored expanded)", sd: node(kms1Full, groupGA, inheritedAU), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 1, groupGA), DNSTombstoned: byACE(wire.Allowed, 1, groupGA),
				WriteDAC: byACE(wire.Allowed, 1, groupGA)},
		},
		{
			name: "group GENERIC_ALL bit", sd: node(kms1Full, groupGenericAll), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 1, groupGenericAll), DNSTombstoned: byACE(wire.Allowed, 1, groupGenericAll),
				WriteDAC: byACE(wire.Allowed, 1, groupGenericAll)},
		},
		{
			name: "group generic write", sd: node(kms1Full, groupGW), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 1, groupGW), DNSTombstoned: byACE(wire.Allowed, 1, groupGW), WriteDAC: notGranted},
		},
		{
			name: "group RPWP", sd: node(kms1Full, groupRPWP), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 1, groupRPWP), DNSTombstoned: byACE(wire.Allowed, 1, groupRPWP), WriteDAC: notGranted},
		},
		{
			name: "host outside the group", sd: node(kms1Full, groupGA, inheritedAU), token: kms3,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
		{
			name: "deny for the host before the group grant wins", sd: node(denyKMS2WP, kms1Full, groupGA), token: kms2,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: byACE(wire.Denied, 0, denyKMS2WP), DNSTombstoned: byACE(wire.Denied, 0, denyKMS2WP),
				WriteDAC: byACE(wire.Allowed, 2, groupGA)},
		},
		{
			name: "grant before a deny (non-canonical): first decides", sd: node(groupRPWP, denyKMS2WP), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 0, groupRPWP), DNSTombstoned: byACE(wire.Allowed, 0, groupRPWP), WriteDAC: notGranted},
		},
		{
			name: "deny of another right does not block", sd: node(denyKMS2WD, groupRPWP), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 1, groupRPWP), DNSTombstoned: byACE(wire.Allowed, 1, groupRPWP),
				WriteDAC: byACE(wire.Denied, 0, denyKMS2WD)},
		},
		{
			name: "object grant on dnsRecord only", sd: node(kms1Full, groupRecordOnly), token: kms2,
			want: wire.Access{Verdict: wire.DNSRecordOnly, DNSRecord: byACE(wire.Allowed, 1, groupRecordOnly), DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
		{
			name: "object grants on both attributes", sd: node(groupRecordOnly, groupTombOnly), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 0, groupRecordOnly), DNSTombstoned: byACE(wire.Allowed, 1, groupTombOnly), WriteDAC: notGranted},
		},
		{
			name: "object grant for an unrelated attribute is ignored", sd: node(kms1Full, groupProperty), token: kms2,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
		{
			name: "object deny for an unrelated attribute is ignored", sd: node(denyKMS2Property, groupRPWP), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 1, groupRPWP), DNSTombstoned: byACE(wire.Allowed, 1, groupRPWP), WriteDAC: notGranted},
		},
		{
			name: "object grant for the dnsNode class covers every attribute", sd: node(groupNodeClass), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 0, groupNodeClass), DNSTombstoned: byACE(wire.Allowed, 0, groupNodeClass), WriteDAC: notGranted},
		},
		{
			name: "object ACE without object type covers every attribute", sd: node(groupNoObjType), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 0, groupNoObjType), DNSTombstoned: byACE(wire.Allowed, 0, groupNoObjType), WriteDAC: notGranted},
		},
		{
			name: "object deny on dNSTombstoned before a full grant", sd: node(denyKMS2Tomb, groupGA), token: kms2,
			want: wire.Access{Verdict: wire.DNSRecordOnly, DNSRecord: byACE(wire.Allowed, 1, groupGA), DNSTombstoned: byACE(wire.Denied, 0, denyKMS2Tomb),
				WriteDAC: byACE(wire.Allowed, 1, groupGA)},
		},
		{
			name: "inherit-only grant is skipped", sd: node(kms1Full, groupInheritOnly), token: kms2,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
		{
			name: "Everyone", sd: node(everyoneWP), token: kms3,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 0, everyoneWP), DNSTombstoned: byACE(wire.Allowed, 0, everyoneWP), WriteDAC: notGranted},
		},
		{
			name: "Authenticated Users", sd: node(authUsersRPWP), token: kms3,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 0, authUsersRPWP), DNSTombstoned: byACE(wire.Allowed, 0, authUsersRPWP), WriteDAC: notGranted},
		},
		{
			name: "a token without the well-known SIDs matches none", sd: node(everyoneWP, authUsersRPWP), token: bare,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
		{
			name: "CREATOR OWNER matches no token", sd: node(creatorOwnerGA), token: kms1,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: byOwner, Owner: true},
		},
		{
			name: "OWNER RIGHTS replaces the owner's implicit rights", sd: node(ownerRightsRC), token: kms1,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted, Owner: true},
		},
		{
			name: "OWNER RIGHTS grants to the owner", sd: node(ownerRightsWP), token: kms1,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 0, ownerRightsWP), DNSTombstoned: byACE(wire.Allowed, 0, ownerRightsWP), WriteDAC: notGranted, Owner: true},
		},
		{
			name: "OWNER RIGHTS grants nothing to others", sd: node(ownerRightsWP), token: kms2,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
		{
			name: "undecoded ACE types are reported", sd: node(callback, groupRPWP), token: kms2,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byACE(wire.Allowed, 1, groupRPWP), DNSTombstoned: byACE(wire.Allowed, 1, groupRPWP), WriteDAC: notGranted, Undecoded: []int{0}},
		},
		{
			name: "empty DACL: nothing allowed", sd: node(), token: kms2,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
		{
			name: "absent DACL: null DACL allows everything",
			sd:   &wire.SecurityDescriptor{Revision: 1, Control: 0x8000, Owner: ptrSID(kms1SID)}, token: kms3,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byNullDACL, DNSTombstoned: byNullDACL, WriteDAC: byNullDACL, NullDACL: true},
		},
		{
			name: "DACL present flag unset: null DACL",
			sd:   &wire.SecurityDescriptor{Revision: 1, Control: 0x8000, DACL: &wire.ACL{Revision: 2}}, token: kms3,
			want: wire.Access{Verdict: wire.CanUpdate, DNSRecord: byNullDACL, DNSTombstoned: byNullDACL, WriteDAC: byNullDACL, NullDACL: true},
		},
		{
			name: "no descriptor: nothing", sd: nil, token: kms1,
			want: wire.Access{Verdict: wire.Cannot, DNSRecord: notGranted, DNSTombstoned: notGranted, WriteDAC: notGranted},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wire.CheckAccess(tt.sd, tt.token)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckAccess (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckMultipleRights(t *testing.T) {
	rp := allowACE(groupSID, wire.RightReadProperty)
	wp := allowACE(groupSID, wire.RightWriteProperty)
	dwp := denyACE(kms2SID, wire.RightWriteProperty)
	tok := wire.NewToken(kms2SID, groupSID)
	tests := []struct {
		name string
		sd   *wire.SecurityDescriptor
		want wire.Grant
	}{
		{"granted across two ACEs", node(rp, wp), byACE(wire.Allowed, 1, wp)},
		{"a deny for the rest", node(rp, dwp, wp), byACE(wire.Denied, 1, dwp)},
		{"half granted", node(rp), notGranted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.sd.Check(tok, wire.RightReadProperty|wire.RightWriteProperty, wire.AttrDNSRecord)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
	// Without an object type list, an object ACE naming a type counts for nothing.
	sd := node(objACE(wire.ACEAccessAllowedObject, groupSID, wire.RightWriteProperty, wire.AttrDNSRecord))
	if got := sd.Check(tok, wire.RightWriteProperty); got.Decision != wire.NotGranted {
		t.Errorf("object ACE applied to the object as a whole: %v", got)
	}
	// Generic rights asked for are mapped: GW needs RC, SW and WP.
	if got := node(allowACE(groupSID, wire.GenericWriteMapping)).Check(tok, wire.RightGenericWrite); got.Decision != wire.Allowed {
		t.Errorf("RC|SW|WP does not satisfy GENERIC_WRITE: %v", got)
	}
	if got := node(wp).Check(tok, 0); got.Decision != wire.NotGranted {
		t.Errorf("an empty request was decided: %v", got)
	}
}

func TestNewToken(t *testing.T) {
	tok := wire.NewToken(kms2SID, groupSID, wire.Everyone)
	want := wire.Token{User: kms2SID, Groups: []wire.SID{groupSID, wire.Everyone, wire.AuthenticatedUsers}}
	if diff := cmp.Diff(want, tok); diff != "" {
		t.Errorf("NewToken (-want +got):\n%s", diff)
	}
	for _, s := range []wire.SID{kms2SID, groupSID, wire.Everyone, wire.AuthenticatedUsers} {
		if !tok.Contains(s) {
			t.Errorf("token lacks %s", s)
		}
	}
	if tok.Contains(kms1SID) || tok.Contains(wire.CreatorOwner) {
		t.Error("token contains SIDs it was not given")
	}
}

// A network logon's token holds NETWORK and This Organization; a
// Kerberos one Authentication authority asserted identity; a domain
// controller's Enterprise Domain Controllers. A deny or an allow for any of
// them decides for the account.
func TestNetworkToken(t *testing.T) {
	dcSID := kms1SID.Domain().WithRID(1000)
	for _, tc := range []struct {
		name  string
		user  wire.SID
		logon wire.Logon
		want  []wire.SID
	}{
		{"plain", kms2SID, wire.Logon{}, []wire.SID{groupSID, wire.Network, wire.Everyone, wire.AuthenticatedUsers, wire.ThisOrganization}},
		{"kerberos", kms2SID, wire.Logon{Kerberos: true},
			[]wire.SID{groupSID, wire.Network, wire.Everyone, wire.AuthenticatedUsers, wire.ThisOrganization, wire.AuthenticationAuthorityAsserted}},
		{"domain controller", dcSID, wire.Logon{Kerberos: true, DomainController: true},
			[]wire.SID{groupSID, wire.Network, wire.Everyone, wire.AuthenticatedUsers, wire.ThisOrganization, wire.AuthenticationAuthorityAsserted, wire.EnterpriseDomainControllers}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// NETWORK among the groups is not added twice.
			tok := wire.NetworkToken(tc.user, tc.logon, groupSID, wire.Network)
			if diff := cmp.Diff(wire.Token{User: tc.user, Groups: tc.want}, tok); diff != "" {
				t.Errorf("NetworkToken (-want +got):\n%s", diff)
			}
		})
	}
	kerberos := wire.NetworkToken(kms2SID, wire.Logon{Kerberos: true}, groupSID)
	dc := wire.NetworkToken(dcSID, wire.Logon{Kerberos: true, DomainController: true})
	for _, tc := range []struct {
		name string
		sd   *wire.SecurityDescriptor
		tok  wire.Token
		want wire.Verdict
	}{
		{"deny NETWORK before the group's grant", node(denyACE(wire.Network, wire.RightWriteProperty), allowACE(groupSID, wire.RightReadProperty|wire.RightWriteProperty)), kerberos, wire.Cannot},
		{"deny S-1-18-1 before the group's grant", node(denyACE(wire.AuthenticationAuthorityAsserted, wire.RightWriteProperty), allowACE(groupSID, wire.FullControl)), kerberos, wire.Cannot},
		{"deny This Organization before the group's grant", node(denyACE(wire.ThisOrganization, wire.RightWriteProperty), allowACE(groupSID, wire.FullControl)), kerberos, wire.Cannot},
		{"a DC by Enterprise Domain Controllers", node(allowACE(wire.EnterpriseDomainControllers, wire.FullControl)), dc, wire.CanUpdate},
		{"a KMS host is no DC", node(allowACE(wire.EnterpriseDomainControllers, wire.FullControl)), kerberos, wire.Cannot},
	} {
		if got := wire.CheckAccess(tc.sd, tc.tok).Verdict; got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAccessExplains(t *testing.T) {
	deny := denyACE(kms2SID, wire.RightWriteProperty)
	a := wire.CheckAccess(node(allowACE(kms1SID, wire.FullControl), deny, allowACE(groupSID, wire.FullControl)), wire.NewToken(kms2SID, groupSID))
	if got, want := a.DNSRecord.String(), "denied by (D;;WP;;;S-1-5-21-1000-2000-3000-1105) at position 2 of the DACL"; got != want {
		t.Errorf("Grant.String() = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		a    wire.Access
		want []string
	}{
		{a, []string{"cannot update: dnsRecord denied by (D;;WP;;;S-1-5-21-1000-2000-3000-1105) at position 2", "it holds WRITE_DAC and can grant itself"}},
		{wire.CheckAccess(node(), wire.NewToken(kms1SID)), []string{"cannot update: dnsRecord not granted by any ACE", "the account owns the node", "can grant itself write access"}},
		{wire.CheckAccess(&wire.SecurityDescriptor{Control: 0x8000}, wire.NewToken(kms3SID)), []string{"can update: dnsRecord allowed: the object has no DACL (a null DACL grants everyone every right)"}},
		{wire.CheckAccess(node(objACE(wire.ACEAccessAllowedObject, groupSID, wire.RightWriteProperty, wire.AttrDNSRecord)), wire.NewToken(kms2SID, groupSID)),
			[]string{"dnsRecord only: dnsRecord allowed by (OA;;WP;e0fa1e69-9b45-11d0-afdd-00c04fd930c9;;S-1-5-21-1000-2000-3000-1110) at position 1", "dNSTombstoned not granted"}},
		{wire.CheckAccess(node(wire.ACE{Type: 0x0B, Raw: make([]byte, 8)}), wire.NewToken(kms2SID)), []string{"1 ACE(s) of undecoded types not evaluated"}},
	} {
		s := tt.a.String()
		for _, w := range tt.want {
			if !strings.Contains(s, w) {
				t.Errorf("Access.String() = %q, want it to contain %q", s, w)
			}
		}
	}
	if got := byOwner.String(); got != "allowed: implicit right of the owner" {
		t.Errorf("owner grant: %q", got)
	}
	for v, want := range map[wire.Verdict]string{wire.Cannot: "cannot update", wire.DNSRecordOnly: "dnsRecord only", wire.CanUpdate: "can update"} {
		if v.String() != want {
			t.Errorf("Verdict(%d) = %q, want %q", v, v, want)
		}
	}
}
