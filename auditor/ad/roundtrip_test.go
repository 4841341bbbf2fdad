package ad

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/ad/wire"
	"github.com/srvctl/srvctl/internal/sambatest"
	"github.com/srvctl/srvctl/zones"
)

// addZones adds the AD-integrated zones rt<from>.test to rt<to-1>.test to
// DomainDnsZones over LDAP, as the DNS server's own zone creation leaves
// them (a dnsZone object), each but every fifth with a _vlmcs._tcp node
// holding one SRV record for KMS1 or KMS2, and returns their names.
func addZones(t *testing.T, dc *sambatest.DC, from, to int) []string {
	t.Helper()
	l := dc.LDAP(t)
	stamp := time.Now().Truncate(time.Hour)
	var names []string
	for i := from; i < to; i++ {
		name := fmt.Sprintf("rt%d.test", i)
		zoneDN := "DC=" + name + ",CN=MicrosoftDNS,DC=DomainDnsZones," + dc.BaseDN
		z := ldap.NewAddRequest(zoneDN, nil)
		z.Attribute("objectClass", []string{"top", "dnsZone"})
		if err := l.Add(z); err != nil {
			t.Fatalf("adding the zone %s: %v", name, err)
		}
		names = append(names, name+".")
		if i%5 == 4 {
			continue
		}
		rec, err := wire.MarshalSRV(wire.SRV{Port: 1688, Weight: uint16(i), Target: dc.Computers[i%2].DNSHostName + "."}, 3600, uint32(i+1), stamp)
		if err != nil {
			t.Fatal(err)
		}
		node := ldap.NewAddRequest("DC=_vlmcs._tcp,"+zoneDN, nil)
		node.Attribute("objectClass", []string{"top", "dnsNode"})
		node.Attribute("dnsRecord", []string{string(rec)})
		if err := l.Add(node); err != nil {
			t.Fatalf("adding the node of %s: %v", name, err)
		}
	}
	return names
}

// The LDAP operations of an audit grow with the hosts, not the zones: the
// nodes of a partition are read by one paged subtree search. What that
// search reads is what a base search per node reads.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	c := dial(t, adminOptions(t, dc))
	hosts := kmsHosts(dc)
	names := addZones(t, dc, 0, 20)
	audit := func(names []string) *Report {
		var reqs []Request
		for _, z := range names {
			reqs = append(reqs, Request{Zone: z, Hosts: hosts})
		}
		rep, err := c.Audit(testCtx(t), reqs)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}

	// 20 zones × 3 hosts: the zones (one search), the group and its
	// members (2), the accounts (1) and their tokenGroups (3), the nodes
	// (one subtree search), their owner, the Administrator (1).
	rep := audit(names[:20])
	if rep.Operations != 1+2+1+3+1+1 {
		t.Errorf("20 zones × 3 hosts: %d LDAP operations, want 9", rep.Operations)
	}
	t.Logf("LDAP operations: 20 AD-integrated zones × 3 hosts: %d", rep.Operations)
	if s := rep.Summarize(); s.Zones != 20 || s.NotIntegrated != 0 || s.CanUpdate+s.CannotUpdate+s.RecordOnly+s.UnknownAccess != 60 {
		t.Errorf("summary: %+v", s)
	}
	// Each zone audited alone (a base search for its node) reads the same.
	for i, z := range rep.Zones {
		alone := audit(names[i : i+1]).Zones[0]
		if diff := cmp.Diff(alone, z); diff != "" {
			t.Errorf("%s audited alone and with 19 others, -alone +together:\n%s", z.Zone, diff)
		}
		if exists := z.Node != nil && z.Node.Exists; exists != (i%5 != 4) {
			t.Errorf("%s: node exists %v", z.Zone, exists)
		}
	}
	if testing.Short() {
		return
	}
	// 1000 zones × 3 hosts: every zone of the partition in one paged
	// search (1003 zones: 3 pages of 500), the 800 nodes in another (2
	// pages), the rest as before.
	names = append(names, addZones(t, dc, 20, 1000)...)
	rep = audit(names)
	if rep.Operations != 3+2+1+3+2+1 {
		t.Errorf("1000 zones × 3 hosts: %d LDAP operations, want 12", rep.Operations)
	}
	t.Logf("LDAP operations: 1000 AD-integrated zones × 3 hosts: %d", rep.Operations)
	if s := rep.Summarize(); s.Zones != 1000 || s.NotIntegrated != 0 || s.CanUpdate+s.CannotUpdate+s.RecordOnly+s.UnknownAccess != 3000 {
		t.Errorf("summary: %+v", s)
	}
	last := rep.Zones[998]
	if want := zones.Canonical(dc.Computers[0].DNSHostName); last.Node == nil || len(last.Node.Records) != 1 || last.Node.Records[0].Target != want {
		t.Errorf("%s: %+v, want one record for %s", last.Zone, last.Node, want)
	}
}

// A search of a DNS partition that fails because this DC cannot search
// there skips the partition; any other failure fails the audit.
func TestPartitionSkip(t *testing.T) {
	for _, tc := range []struct {
		name           string
		err            error
		skip, referral bool
		why            string // a part of why
	}{
		{"nil", nil, false, false, ""},
		{"no such object", ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("0000208D: NameErr")), true, false, "no such container"},
		{"referral", ldap.NewError(ldap.LDAPResultReferral, errors.New("0000202B: RefErr: DSID-0310082F, data 0, 1 access points\n\tref 1: 'corp.example'\n")), true, true,
			"another DC (0000202B: RefErr: DSID-0310082F, data 0, 1 access points ref 1: 'corp.example')"},
		{"referral, wrapped", fmt.Errorf("ad: searching: %w", ldap.NewError(ldap.LDAPResultReferral, errors.New("RefErr"))), true, true, "(RefErr)"},
		{"busy", ldap.NewError(ldap.LDAPResultBusy, errors.New("busy")), false, false, ""},
		{"insufficient access", ldap.NewError(ldap.LDAPResultInsufficientAccessRights, errors.New("no")), false, false, ""},
		{"network", ldap.NewError(ldap.ErrorNetwork, errors.New("connection reset")), false, false, ""},
		{"not LDAP", errors.New("context deadline exceeded"), false, false, ""},
	} {
		skip, referral, why := partitionSkip(tc.err)
		if skip != tc.skip || referral != tc.referral || skip != (why != "") || !strings.Contains(why, tc.why) {
			t.Errorf("%s: skip %v, referral %v, why %q; want skip %v, referral %v, why with %q", tc.name, skip, referral, why, tc.skip, tc.referral, tc.why)
		}
	}
}
