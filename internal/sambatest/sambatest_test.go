package sambatest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldap/v3/gssapi"
	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// srvStrings asks the DC for the SRV RRset at name and renders it as
// zone-file lines, sorted; it fails the test unless the answer is
// authoritative NOERROR or NXDOMAIN.
func srvStrings(t *testing.T, dc *DC, name string) []string {
	t.Helper()
	r, err := dc.Query(name, dns.TypeSRV)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError || !r.Authoritative {
		t.Fatalf("SRV %s: %s, authoritative %v", name, dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	var out []string
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			out = append(out, srv.String())
		}
	}
	slices.Sort(out)
	return out
}

// srvLine is how miekg/dns prints an SRV record of the zone.
func srvLine(name string, ttl int, prio, weight, port int, target string) string {
	return (&dns.SRV{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: uint32(ttl)},
		Priority: uint16(prio), Weight: uint16(weight), Port: uint16(port), Target: target}).String()
}

// caPool is a pool holding only the DC's CA, read from CAFile.
func caPool(t *testing.T, dc *DC) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(dc.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("no certificate in %s", dc.CAFile)
	}
	return pool
}

// dialLDAPS connects to the DC's LDAPS port with conf.
func dialLDAPS(dc *DC, conf *tls.Config) (*ldap.Conn, error) {
	l, err := ldap.DialURL(dc.LDAPSURL, ldap.DialWithTLSConfig(conf), ldap.DialWithDialer(&net.Dialer{Timeout: netTimeout}))
	if err != nil {
		return nil, err
	}
	l.SetTimeout(netTimeout)
	return l, nil
}

// The Microsoft scenario on one DC: KMS1 registers _vlmcs._tcp and owns
// it; KMS2 is refused until the group is granted write access; KMS3,
// outside the group, stays refused. Along the way: LDAPS with the
// harness's CA, simple and Kerberos binds, and the fixture helpers.
func TestScenario(t *testing.T) {
	t.Parallel()
	start := time.Now()
	dc := Start(t, Options{})
	t.Logf("DC on %s (DNS port %d) ready in %v", dc.Addr, dc.DNSPort, time.Since(start).Round(time.Millisecond))
	kms1, kms2, kms3 := dc.Computer(t, "KMS1"), dc.Computer(t, "kms2$"), dc.Computer(t, "KMS3")
	const vlmcs = "_vlmcs._tcp.srvctl.test."

	// LDAPS, simple bind as the Administrator, verifying the certificate
	// by host name and by IP address against CAFile.
	for _, serverName := range []string{dc.HostName, dc.Addr} {
		l, err := dialLDAPS(dc, &tls.Config{RootCAs: caPool(t, dc), ServerName: serverName, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("LDAPS to %s as %s: %v", dc.LDAPSURL, serverName, err)
		}
		if err := l.Bind(dc.AdminUser+"@srvctl.test", dc.AdminPassword); err != nil {
			t.Fatalf("simple bind: %v", err)
		}
		res, err := l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"defaultNamingContext", "dnsHostName"}, nil))
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := []string{res.Entries[0].GetAttributeValue("defaultNamingContext"), res.Entries[0].GetAttributeValue("dnsHostName")}
		if diff := cmp.Diff([]string{dc.BaseDN, dc.HostName}, got); diff != "" {
			t.Errorf("rootDSE over LDAPS (%s), -want +got:\n%s", serverName, diff)
		}
	}
	// StartTLS on LDAPURL, then a simple bind.
	l0, err := ldap.DialURL(dc.LDAPURL, ldap.DialWithDialer(&net.Dialer{Timeout: netTimeout}))
	if err != nil {
		t.Fatal(err)
	}
	l0.SetTimeout(netTimeout)
	if err := l0.StartTLS(&tls.Config{RootCAs: caPool(t, dc), ServerName: dc.HostName}); err != nil {
		t.Errorf("StartTLS on %s: %v", dc.LDAPURL, err)
	} else if err := l0.Bind(`SRVCTL\Administrator`, dc.AdminPassword); err != nil {
		t.Errorf("simple bind after StartTLS: %v", err)
	}
	l0.Close()
	// The certificate is not trusted without the CA.
	if l, err := dialLDAPS(dc, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: dc.HostName}); err == nil {
		l.Close()
		t.Error("LDAPS verified without the harness's CA")
	} else if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
		t.Errorf("LDAPS without the CA: %v, want an unknown authority error", err)
	}

	// Kerberos (GSSAPI) bind over LDAPS as KMS1$ with its keytab; KMS1
	// reads the group.
	krb, err := gssapi.NewClientWithKeytab(kms1.SAM, dc.Realm, kms1.Keytab, dc.Krb5Conf)
	if err != nil {
		t.Fatal(err)
	}
	defer krb.Close()
	l, err := dialLDAPS(dc, &tls.Config{RootCAs: caPool(t, dc), ServerName: dc.HostName})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.GSSAPIBind(krb, "ldap/"+dc.HostName, ""); err != nil {
		t.Fatalf("GSSAPI bind as %s: %v", kms1.Principal, err)
	}
	res, err := l.Search(ldap.NewSearchRequest(dc.GroupDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=group)", []string{"member", "groupType", "sAMAccountName"}, nil))
	if err != nil {
		t.Fatalf("%s reads the group: %v", kms1.SAM, err)
	}
	members := res.Entries[0].GetAttributeValues("member")
	slices.Sort(members)
	if diff := cmp.Diff([]string{kms1.DN, kms2.DN}, members); diff != "" {
		t.Errorf("group members, -want +got:\n%s", diff)
	}
	if got := res.Entries[0].GetAttributeValue("groupType"); got != "-2147483646" {
		t.Errorf("groupType %s, want -2147483646 (global security)", got)
	}

	// KMS1 registers _vlmcs._tcp by a GSS-TSIG update and owns the node.
	cc1 := dc.KinitKeytab(t, kms1.SAM, kms1.Keytab)
	out, err := dc.NSUpdateGSS(t, cc1, "update add "+vlmcs+" 3600 IN SRV 0 100 1688 kms1.srvctl.test.")
	t.Logf("nsupdate as KMS1 (%v):\n%s", err, out)
	want := []string{srvLine(vlmcs, 3600, 0, 100, 1688, "kms1.srvctl.test.")}
	if diff := cmp.Diff(want, srvStrings(t, dc, vlmcs)); diff != "" {
		t.Fatalf("SRV after KMS1's update, -want +got:\n%s", diff)
	}
	node := "DC=_vlmcs._tcp,DC=srvctl.test,CN=MicrosoftDNS,DC=DomainDnsZones,DC=srvctl,DC=test"
	if got := dc.NodeDN(vlmcs); got != node {
		t.Errorf("NodeDN(%s) = %s, want %s", vlmcs, got, node)
	}
	e := dc.Entry(t, node, "dnsRecord", "nTSecurityDescriptor")
	if e == nil {
		t.Fatalf("no dnsNode %s after KMS1's update", node)
	}
	if n := len(e.GetRawAttributeValues("dnsRecord")); n != 1 {
		t.Errorf("%d dnsRecord values, want 1", n)
	}
	if len(e.GetRawAttributeValue("nTSecurityDescriptor")) == 0 {
		t.Error("no nTSecurityDescriptor with the SD flags control")
	}
	if sddl := dc.SDDL(t, node); !strings.HasPrefix(sddl, "O:"+kms1.SID+"G:") {
		t.Errorf("node's owner: %s, want KMS1 %s", sddl, kms1.SID)
	}

	// KMS2 is refused (SERVFAIL on Samba) until the group may write.
	add2 := "update add " + vlmcs + " 3600 IN SRV 0 100 1688 kms2.srvctl.test."
	cc2 := dc.KinitPassword(t, kms2.SAM, kms2.Password)
	out, _ = dc.NSUpdateGSS(t, cc2, add2)
	if !strings.Contains(out, "SERVFAIL") {
		t.Errorf("KMS2's update before the grant: want SERVFAIL, got:\n%s", out)
	}
	if diff := cmp.Diff(want, srvStrings(t, dc, vlmcs)); diff != "" {
		t.Fatalf("SRV after KMS2's refused update, -want +got:\n%s", diff)
	}
	dc.AddACE(t, node, "(A;;RPWPCRCCDCLCLORCWOWDSDDTSW;;;"+dc.GroupSID+")")
	out, err = dc.NSUpdateGSS(t, cc2, add2)
	t.Logf("nsupdate as KMS2 after the grant (%v):\n%s", err, out)
	want = append(want, srvLine(vlmcs, 3600, 0, 100, 1688, "kms2.srvctl.test."))
	if diff := cmp.Diff(want, srvStrings(t, dc, vlmcs)); diff != "" {
		t.Errorf("SRV after the grant and KMS2's update, -want +got:\n%s", diff)
	}
	// KMS3 is not in the group.
	cc3 := dc.KinitKeytab(t, kms3.Principal, kms3.Keytab)
	out, _ = dc.NSUpdateGSS(t, cc3, "update add "+vlmcs+" 3600 IN SRV 0 100 1688 kms3.srvctl.test.")
	if !strings.Contains(out, "SERVFAIL") {
		t.Errorf("KMS3's update: want SERVFAIL, got:\n%s", out)
	}
	if diff := cmp.Diff(want, srvStrings(t, dc, vlmcs)); diff != "" {
		t.Errorf("SRV after KMS3's refused update, -want +got:\n%s", diff)
	}

	// A static record: TimeStamp (bytes 20-23 of dnsRecord) 0.
	dc.AddStatic(t, "_static._tcp", "SRV", "kms3.srvctl.test 1688 10 5")
	if diff := cmp.Diff([]string{srvLine("_static._tcp.srvctl.test.", 900, 10, 5, 1688, "kms3.srvctl.test.")}, srvStrings(t, dc, "_static._tcp.srvctl.test")); diff != "" {
		t.Errorf("static SRV, -want +got:\n%s", diff)
	}
	e = dc.Entry(t, dc.NodeDN("_static._tcp"), "dnsRecord")
	if e == nil || len(e.GetRawAttributeValue("dnsRecord")) < 24 {
		t.Fatalf("no dnsRecord for the static record: %v", e)
	}
	if ts := binary.LittleEndian.Uint32(e.GetRawAttributeValue("dnsRecord")[20:]); ts != 0 {
		t.Errorf("static record's TimeStamp %d, want 0", ts)
	}
	// A record KMS1 adds by dynamic update has a TimeStamp.
	e = dc.Entry(t, node, "dnsRecord")
	if ts := binary.LittleEndian.Uint32(e.GetRawAttributeValues("dnsRecord")[0][20:]); ts == 0 {
		t.Error("dynamic record's TimeStamp is 0")
	}

	// Tombstone: the name is gone from DNS, its node stays.
	dc.Tombstone(t, vlmcs)
	if got := srvStrings(t, dc, vlmcs); len(got) != 0 {
		t.Errorf("SRV after Tombstone: %v, want none", got)
	}
	e = dc.Entry(t, node, "dnsRecord", "dNSTombstoned")
	recs := e.GetRawAttributeValues("dnsRecord")
	if len(recs) != 1 || len(recs[0]) < 4 || binary.LittleEndian.Uint16(recs[0][2:]) != 0 {
		t.Errorf("tombstoned node's dnsRecord: % x, want one record of type 0", recs)
	}

	if tail := dc.LogTail(1000); !strings.Contains(tail, "samba version") {
		t.Errorf("LogTail(1000) has no start-up line:\n%s", tail)
	}
}

// Two DCs started by one test run at once, on different addresses, each
// on its own copy of the domain.
func TestTwoAtOnce(t *testing.T) {
	t.Parallel()
	dc1 := Start(t, Options{})
	dc2 := Start(t, Options{})
	if dc1.Addr == dc2.Addr || dc1.Dir == dc2.Dir {
		t.Fatalf("two DCs share %s / %s", dc1.Addr, dc1.Dir)
	}
	dc1.AddStatic(t, "only-on-one", "A", "127.0.89.7")
	for _, tc := range []struct {
		dc   *DC
		want int
	}{{dc1, 1}, {dc2, 0}} {
		r, err := tc.dc.Query("only-on-one.srvctl.test", dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Answer) != tc.want || !r.Authoritative {
			t.Errorf("DC on %s: A only-on-one: %d records (aa %v), want %d", tc.dc.Addr, len(r.Answer), r.Authoritative, tc.want)
		}
	}
}

// Two parallel subtests each start a DC with their own Options: the
// default refuses an unsigned update, one with "allow dns updates =
// nonsecure and secure" in Conf takes it.
func TestParallelStarts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  Options
		rcode int
	}{
		{"default", Options{}, dns.RcodeRefused},
		{"nonsecure", Options{Conf: []string{"allow dns updates = nonsecure and secure"}}, dns.RcodeSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			dc := Start(t, tc.opts)
			t.Logf("DC on %s ready in %v", dc.Addr, time.Since(start).Round(time.Millisecond))
			m := new(dns.Msg)
			m.SetUpdate(dc.Zone)
			rr, err := dns.NewRR("unsigned.srvctl.test. 300 IN A 127.0.89.9")
			if err != nil {
				t.Fatal(err)
			}
			m.Insert([]dns.RR{rr})
			r, _, err := (&dns.Client{Net: "tcp", Timeout: netTimeout}).Exchange(m, dc.DNSAddr)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tc.rcode {
				t.Errorf("unsigned update: %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
			q, err := dc.Query("unsigned.srvctl.test", dns.TypeA)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if tc.rcode == dns.RcodeSuccess {
				want = 1
			}
			if len(q.Answer) != want {
				t.Errorf("A unsigned.srvctl.test: %d records, want %d", len(q.Answer), want)
			}
		})
	}
}

func TestNodeDN(t *testing.T) {
	dc := newDC("/dc", &meta{}, Options{})
	zone := ",DC=srvctl.test,CN=MicrosoftDNS,DC=DomainDnsZones,DC=srvctl,DC=test"
	for _, tc := range []struct{ name, dn, fqdn string }{
		{"_vlmcs._tcp", "DC=_vlmcs._tcp" + zone, "_vlmcs._tcp.srvctl.test."},
		{"_vlmcs._tcp.srvctl.test.", "DC=_vlmcs._tcp" + zone, "_vlmcs._tcp.srvctl.test."},
		{"_VLMCS._tcp.SRVCTL.test", "DC=_vlmcs._tcp" + zone, "_VLMCS._tcp.SRVCTL.test."},
		{"kms1", "DC=kms1" + zone, "kms1.srvctl.test."},
		{"@", "DC=@" + zone, "srvctl.test."},
		{"srvctl.test.", "DC=@" + zone, "srvctl.test."},
	} {
		if got := dc.NodeDN(tc.name); got != tc.dn {
			t.Errorf("NodeDN(%q) = %q, want %q", tc.name, got, tc.dn)
		}
		if got := dc.fqdn(tc.name); got != tc.fqdn {
			t.Errorf("fqdn(%q) = %q, want %q", tc.name, got, tc.fqdn)
		}
	}
}

func TestSIDString(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
		err  bool
	}{
		{[]byte{1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, "S-1-1-0", false},
		{[]byte{1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0}, "S-1-5-11", false},
		{[]byte{1, 4, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 2, 0, 0, 0x39, 0x30, 0, 0, 0x50, 0x04, 0, 0}, "S-1-5-21-513-12345-1104", false},
		{[]byte{1, 2, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0}, "", true}, // truncated
		{[]byte{2, 0, 0, 0, 0, 0, 0, 5}, "", true},              // revision
		{nil, "", true},
	} {
		got, err := sidString(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("sidString(% x) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// The configuration files a DC gets, as golden files (-update rewrites
// them).
func TestConfs(t *testing.T) {
	dc := newDC("/tmp/sambadc-X", &meta{}, Options{Conf: []string{"allow dns updates = nonsecure and secure", "  log level = 3 "}})
	dc.setAddr("127.0.88.7", 40053)
	for name, got := range map[string]string{"smb.conf": dc.smbConf(), "client.conf": dc.clientConf(), "krb5.conf": dc.krb5Conf()} {
		golden := filepath.Join("testdata", name+".golden")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s, -want +got:\n%s", name, diff)
		}
	}
}
