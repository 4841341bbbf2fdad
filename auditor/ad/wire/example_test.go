package wire_test

import (
	"fmt"
	"time"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

// A KMS host that is in the KMS group, with a deny ACE for it placed ahead
// of the group's grant: the deny decides.
func ExampleCheckAccess() {
	host := wire.MustParseSIDString("S-1-5-21-1000-2000-3000-1105")
	group := wire.MustParseSIDString("S-1-5-21-1000-2000-3000-1110")
	owner := wire.MustParseSIDString("S-1-5-21-1000-2000-3000-1104")
	sd := &wire.SecurityDescriptor{
		Revision: 1,
		Control:  wire.ControlSelfRelative | wire.ControlDACLPresent,
		Owner:    &owner,
		DACL: &wire.ACL{Revision: wire.ACLRevisionDS, ACEs: []wire.ACE{
			{Type: wire.ACEAccessAllowed, Mask: wire.FullControl, SID: owner},
			{Type: wire.ACEAccessDenied, Mask: wire.RightWriteProperty, SID: host},
			{Type: wire.ACEAccessAllowed, Mask: wire.FullControl, SID: group},
		}},
	}
	a := wire.CheckAccess(sd, wire.NewToken(host, group))
	fmt.Println(a.Verdict)
	fmt.Println("dnsRecord:", a.DNSRecord)
	// Output:
	// cannot update
	// dnsRecord: denied by (D;;WP;;;S-1-5-21-1000-2000-3000-1105) at position 2 of the DACL
}

// The grant srvctl ad grant adds for the KMS group, and where it goes.
func ExampleAddAllowACE() {
	group := wire.MustParseSIDString("S-1-5-21-1000-2000-3000-1110")
	dacl := &wire.ACL{Revision: wire.ACLRevisionDS, ACEs: []wire.ACE{
		{Type: wire.ACEAccessAllowed, Mask: wire.FullControl, SID: wire.MustParseSIDString("S-1-5-21-1000-2000-3000-1104")},
		{Type: wire.ACEAccessAllowed, Flags: wire.ACEInherited, Mask: wire.GenericReadMapping, SID: wire.AuthenticatedUsers},
	}}
	i, added, err := wire.AddAllowACE(dacl, wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.RightReadProperty | wire.RightWriteProperty, SID: group})
	fmt.Println(i, added, err)
	fmt.Println(dacl.SDDL())
	// Output:
	// 1 true <nil>
	// (A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1000-2000-3000-1104)(A;;RPWP;;;S-1-5-21-1000-2000-3000-1110)(A;ID;LCRPLORC;;;AU)
}

func ExampleParseDNSRecord() {
	value, _ := wire.MarshalSRV(wire.SRV{Priority: 0, Weight: 100, Port: 1688, Target: "KMS1.corp.example.com"},
		3600, 42, time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC))
	r, err := wire.ParseDNSRecord(value)
	fmt.Println(r, err)
	// Output:
	// SRV 0 100 1688 kms1.corp.example.com. ttl=3600 serial=42 refreshed 2024-05-01T10:00:00Z <nil>
}
