package sambatest

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// sdFlagsAll asks for owner, group and DACL (LDAP_SERVER_SD_FLAGS, 7).
const sdFlagsAll = 7

// dialAdmin opens LDAPS to the DC, verifying its certificate against
// CAFile, and binds as the Administrator with a simple bind.
func (dc *DC) dialAdmin() (*ldap.Conn, error) {
	tlsConf, err := dc.TLSConfig()
	if err != nil {
		return nil, err
	}
	l, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(tlsConf), ldap.DialWithDialer(&net.Dialer{Timeout: netTimeout}))
	if err != nil {
		return nil, fmt.Errorf("sambatest: dial %s: %w", dc.LDAPSURL, err)
	}
	l.SetTimeout(netTimeout)
	if err := l.Bind(adminUser+"@"+dnsDomain, dc.AdminPassword); err != nil {
		l.Close()
		return nil, fmt.Errorf("sambatest: simple bind to %s as %s: %w", dc.LDAPSURL, adminUser, err)
	}
	return l, nil
}

// LDAP returns a connection to LDAPSURL bound as the Administrator (simple
// bind; the certificate verified against CAFile), with a 10 s timeout per
// request, closed when the test ends. A failure fails the test.
func (dc *DC) LDAP(tb testing.TB) *ldap.Conn {
	tb.Helper()
	l, err := dc.dialAdmin()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// entry reads the object dn (base search, as the Administrator, with the
// SD flags control so that nTSecurityDescriptor comes back with owner,
// group and DACL); nil when there is no such object.
func (dc *DC) entry(l *ldap.Conn, dn string, attrs ...string) (*ldap.Entry, error) {
	ctl := &ldap.ControlMicrosoftSDFlags{ControlValue: sdFlagsAll}
	res, err := l.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, []ldap.Control{ctl}))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sambatest: read %s: %w", dn, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("sambatest: read %s: %d entries", dn, len(res.Entries))
	}
	return res.Entries[0], nil
}

// Entry reads the object dn as the Administrator over LDAPS, with the
// attributes attrs (all user attributes when none; operational ones such
// as nTSecurityDescriptor only when named) and the SD flags control (owner,
// group and DACL). It returns nil when there is no such object; any other
// failure fails the test.
func (dc *DC) Entry(tb testing.TB, dn string, attrs ...string) *ldap.Entry {
	tb.Helper()
	l, err := dc.dialAdmin()
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	e, err := dc.entry(l, dn, attrs...)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// NodeDN is the DN of the dnsNode of name in the zone: name relative to
// the zone ("_vlmcs._tcp", "@" for the apex) or absolute in it
// ("_vlmcs._tcp.srvctl.test."). The node of a name with several labels
// is one object whose RDN holds the dots:
// "DC=_vlmcs._tcp,DC=srvctl.test,CN=MicrosoftDNS,DC=DomainDnsZones,DC=srvctl,DC=test".
func (dc *DC) NodeDN(name string) string {
	rel := strings.TrimSuffix(strings.ToLower(name), ".")
	switch {
	case rel == dnsDomain:
		rel = "@"
	case strings.HasSuffix(rel, "."+dnsDomain):
		rel = strings.TrimSuffix(rel, "."+dnsDomain)
	}
	return "DC=" + ldap.EscapeDN(rel) + "," + dc.ZoneDN
}

// fqdn makes a name relative to the zone absolute; an absolute name (with
// the trailing dot, or ending in the zone) stays as it is, with the dot.
func (dc *DC) fqdn(name string) string {
	n := strings.TrimSuffix(name, ".")
	if name == "@" || strings.EqualFold(n, dnsDomain) {
		return dc.Zone
	}
	if strings.HasSuffix(name, ".") || strings.HasSuffix(strings.ToLower(n), "."+dnsDomain) {
		return n + "."
	}
	return n + "." + dc.Zone
}

// AddACE adds ACEs, in SDDL, to the DACL of the object dn with `samba-tool
// dsacl set --sddl` (which inserts them before the inherited ACEs, and
// skips an ACE already there), e.g.
// AddACE(t, dc.NodeDN("_vlmcs._tcp"), "(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;"+dc.GroupSID+")")
// for full control, or "(OA;;WP;e0fa1e69-9b45-11d0-afdd-00c04fd930c9;;SID)"
// for write on dnsRecord only. A failure fails the test.
func (dc *DC) AddACE(tb testing.TB, dn, sddl string) {
	tb.Helper()
	dc.SambaTool(tb, "dsacl", "set", "--objectdn="+dn, "--sddl="+sddl)
}

// SDDL returns the security descriptor of the object dn as `samba-tool
// dsacl get` shows it, in SDDL ("O:...G:...D:..."). A failure fails the
// test.
func (dc *DC) SDDL(tb testing.TB, dn string) string {
	tb.Helper()
	out := dc.SambaTool(tb, "dsacl", "get", "--objectdn="+dn)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "O:") {
			return strings.TrimSpace(line)
		}
	}
	tb.Fatalf("sambatest: no SDDL in samba-tool dsacl get %s:\n%s", dn, out)
	return ""
}

// AddStatic adds a record with `samba-tool dns add`, which makes it
// static (TimeStamp 0, never scavenged), e.g. AddStatic(t, "_vlmcs._tcp",
// "SRV", "kms3.srvctl.test 1688 0 100") (data as samba-tool wants it: SRV
// is "target port priority weight"). A failure fails the test.
func (dc *DC) AddStatic(tb testing.TB, name, rrType, data string) {
	tb.Helper()
	dc.SambaTool(tb, "dns", "add", dc.Addr, dnsDomain, name, rrType, data)
}

// Tombstone deletes every record of name (relative to the zone or
// absolute in it) by a GSS-TSIG update as the Administrator, which leaves
// the dnsNode in place with dNSTombstoned TRUE and one record of type 0
// holding the time of deletion, and checks that it did. A failure fails
// the test.
func (dc *DC) Tombstone(tb testing.TB, name string) {
	tb.Helper()
	cc := dc.KinitPassword(tb, adminUser, dc.AdminPassword)
	out, _ := dc.NSUpdateGSS(tb, cc, "update delete "+dc.fqdn(name)) // exit 2 even when applied
	e := dc.Entry(tb, dc.NodeDN(name), "dNSTombstoned")
	if e == nil || !strings.EqualFold(e.GetAttributeValue("dNSTombstoned"), "TRUE") {
		tb.Fatalf("sambatest: %s not tombstoned after nsupdate:\n%s", dc.NodeDN(name), out)
	}
}

// sidString renders a binary SID (MS-DTYP 2.4.2.2) as "S-1-5-21-...".
func sidString(b []byte) (string, error) {
	if len(b) < 8 || b[0] != 1 || len(b) != 8+4*int(b[1]) {
		return "", fmt.Errorf("sambatest: not a SID: % x", b)
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	s := fmt.Sprintf("S-1-%d", auth)
	for i := range int(b[1]) {
		s += fmt.Sprintf("-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return s, nil
}
