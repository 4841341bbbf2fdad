// Package sambatest starts a real, throwaway Samba Active Directory domain
// controller on a loopback address for tests: LDAP and LDAPS (with a
// certificate from a CA the harness makes), Kerberos, DCE/RPC for
// samba-tool, and Samba's internal DNS server on a random high port.
//
// The domain is fixed: realm SRVCTL.TEST, NetBIOS domain SRVCTL, DC
// dc1.srvctl.test, the AD-integrated zone srvctl.test in DomainDnsZones. It
// also holds the global security group "Key Management Service Group" and
// three computer accounts with known passwords and a keytab each: KMS1$ and
// KMS2$ in the group, KMS3$ not, with A records kms1..3.srvctl.test.
//
// Provisioning a domain takes about ten seconds, so it is done once per
// machine, Samba version and harness layout, into
// os.TempDir()/srvctl-samba-<hash>, guarded by a file lock (the same path
// plus .lock) so that the test packages `go test ./...` runs in parallel
// provision it only once; removing the directory makes the next Start
// provision anew. The build starts the new DC once to add the fixtures
// (group, computers, A records, SPNs, keytabs), then stops it. Every
// Start copies the cached tree (about 45 MB) into a new directory, writes
// its own smb.conf, TLS certificate and krb5.conf, and runs `samba -i -M
// single` as a child in its own process group: under a second to a DC
// that answers. Ports 88, 135, 389 and 636 cannot be moved, so each DC
// gets its own address 127.0.88.N (N up to 32), held by a per-address file
// lock in os.TempDir()/srvctl-samba-locks for the DC's lifetime.
//
// Root is needed (those ports), and the Debian packages named by
// InstallHint. RequireSamba fails the test under CI=true when something is
// missing, and skips it loudly otherwise.
//
// Every helper that runs a Kerberos tool sets KRB5_CONFIG and KRB5CCNAME
// in that command's environment only; the test process's environment is
// never changed.
package sambatest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallHint is the command that installs what the harness needs on
// Debian.
const InstallHint = "apt-get install -y samba samba-ad-dc samba-ad-provision krb5-user winbind ldap-utils bind9-dnsutils"

// The fixed domain every DC serves.
const (
	realm       = "SRVCTL.TEST"
	netbios     = "SRVCTL"
	dnsDomain   = "srvctl.test"
	dcName      = "DC1"
	baseDN      = "DC=srvctl,DC=test"
	groupName   = "Key Management Service Group"
	adminUser   = "Administrator"
	adminPass   = "Srvctl-Admin-1!" // a throwaway domain on loopback
	provisionIP = "127.0.88.1"      // the DC's own A records (see DC.Addr)
)

// How long things may take. Generous: two shared cores.
const (
	startTimeout     = 90 * time.Second // samba answering LDAP, LDAPS, DNS, KDC, RPC
	stopTimeout      = 10 * time.Second // SIGTERM to SIGKILL
	toolTimeout      = 2 * time.Minute  // one samba-tool, kinit, nsupdate
	provisionTimeout = 5 * time.Minute  // samba-tool domain provision
	netTimeout       = 10 * time.Second // one DNS query, one LDAP dial or request
	pollInterval     = 50 * time.Millisecond
)

// Options change the DC of one Start. The zero value is the default DC.
type Options struct {
	// Conf are extra lines for the [global] section of the DC's smb.conf,
	// written after the harness's own; for a parameter set twice the last
	// line wins. E.g. "allow dns updates = nonsecure and secure" or
	// "ldap server require strong auth = yes" (the harness sets
	// allow_sasl_over_tls, so that go-ldap's GSSAPI bind works over LDAPS,
	// and "allow dns updates = secure only").
	Conf []string
}

// Computer is one of the computer accounts of the cached domain.
type Computer struct {
	Name        string // "KMS1": the account's CN and NetBIOS name
	SAM         string // "KMS1$": sAMAccountName
	DNSHostName string // "kms1.srvctl.test": dNSHostName, and an A record in the zone
	Addr        string // the A record's address, e.g. "127.0.89.1" (nothing listens there)
	Password    string // the account's password
	Keytab      string // a keytab with the account's keys, in the DC's directory (kinit -k, gokrb5 keytab.Load)
	Principal   string // "KMS1$@SRVCTL.TEST"
	DN          string // "CN=KMS1,CN=Computers,DC=srvctl,DC=test"
	SID         string // objectSid, e.g. "S-1-5-21-...-1104"
	InGroup     bool   // member of the Key Management Service Group
}

// DC is a running Samba AD domain controller. Its methods may be called
// concurrently.
type DC struct {
	// Addr is the DC's IP address, "127.0.88.N": LDAP 389, LDAPS 636,
	// global catalog 3268/3269, Kerberos 88 (TCP and UDP), kpasswd 464,
	// RPC endpoint mapper 135. DNS is on DNSPort. The DC's own records in
	// the zone (dc1, the apex A, gc._msdcs, ...) hold 127.0.88.1, the
	// address the cached domain was provisioned with, whatever Addr is:
	// connect to Addr.
	Addr string
	// HostName is the DC's DNS name, "dc1.srvctl.test": the LDAP service
	// principal is ldap/HostName, the DNS one DNS/HostName.
	HostName string
	// Realm is the Kerberos realm, "SRVCTL.TEST".
	Realm string
	// Domain is the NetBIOS domain name, "SRVCTL".
	Domain string
	// BaseDN is the domain's DN, "DC=srvctl,DC=test".
	BaseDN string
	// DomainSID is the domain's SID, "S-1-5-21-a-b-c".
	DomainSID string
	// LDAPURL is "ldap://Addr:389". Samba wants TLS (StartTLS, with the
	// LDAPS certificate) or a SASL security layer there before a bind;
	// go-ldap has no security layer, so it binds after StartTLS or on
	// LDAPSURL.
	LDAPURL string
	// LDAPSURL is "ldaps://Addr:636", served with a certificate for
	// HostName and Addr issued by CAFile.
	LDAPSURL string
	// CAFile is the PEM file of the CA that issued the LDAPS certificate.
	CAFile string
	// AdminUser is "Administrator"; simple binds accept
	// "Administrator@srvctl.test", "SRVCTL\Administrator" or the DN
	// "CN=Administrator,CN=Users,DC=srvctl,DC=test".
	AdminUser string
	// AdminPassword is the Administrator's password.
	AdminPassword string
	// DNSPort is the port of Samba's DNS server on Addr, TCP and UDP.
	DNSPort int
	// DNSAddr is "Addr:DNSPort".
	DNSAddr string
	// Krb5Conf is a krb5.conf for this DC: the realm's KDC at Addr, no
	// DNS lookups, no reverse DNS. Usable by MIT tools (KRB5_CONFIG) and
	// gokrb5 (config.Load).
	Krb5Conf string
	// Zone is the AD-integrated zone, "srvctl.test.".
	Zone string
	// ZoneDN is the zone's dnsZone object,
	// "DC=srvctl.test,CN=MicrosoftDNS,DC=DomainDnsZones,DC=srvctl,DC=test".
	ZoneDN string
	// Group is "Key Management Service Group", a global security group.
	Group string
	// GroupDN is "CN=Key Management Service Group,CN=Users,DC=srvctl,DC=test".
	GroupDN string
	// GroupSID is the group's objectSid.
	GroupSID string
	// Computers are KMS1, KMS2 and KMS3, in that order.
	Computers []Computer
	// Dir holds the DC's files: smb.conf, samba.log, tls/, private/
	// (sam.ldb), krb5.conf, keytabs/.
	Dir string

	proc     *process
	addrLock *os.File
	ownDir   bool // Stop removes Dir (not for the cache's build)
	stopOnce sync.Once
	stopErr  error
}

// RequireSamba checks that this process can run a Samba AD DC: it is
// root, and samba, samba-tool, samba_spnupdate, kinit, nsupdate and
// /usr/bin/python3 are installed. When they are not the test fails under
// CI=true (a missing dependency must never pass CI) and is skipped, loudly,
// otherwise.
func RequireSamba(tb testing.TB) {
	tb.Helper()
	if err := checkSamba(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true and a real Samba AD DC is needed: %v", err)
		}
		tb.Skipf("SKIPPED: this test needs a real Samba AD DC on loopback. %v", err)
	}
}

// checkSamba is RequireSamba's check.
func checkSamba() error {
	var missing []string
	for _, name := range []string{"samba", "samba-tool", "samba_spnupdate", "kinit", "nsupdate"} {
		if _, err := findBinary(name); err != nil {
			missing = append(missing, name)
		}
	}
	if _, err := os.Stat(python3); err != nil {
		missing = append(missing, python3)
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("sambatest: %s not installed; install with `%s`", strings.Join(missing, ", "), InstallHint))
	}
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("sambatest: a Samba DC needs root (ports 88, 135, 389, 636): run the tests as root (CI does)"))
	}
	return errors.Join(errs...)
}

// Start runs a DC for the test and stops it, and removes its files, when
// the test ends. The first Start on a machine (or after a Samba upgrade)
// provisions the cached domain, which takes a while; the next ones copy it.
// Any failure is fatal and shows the tail of samba's log.
func Start(tb testing.TB, opts Options) *DC {
	tb.Helper()
	RequireSamba(tb)
	c, err := ensureCache()
	if err != nil {
		tb.Fatal(err)
	}
	dc, err := launch(c, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := dc.Stop(); err != nil {
			tb.Errorf("sambatest: %v", err)
		}
	})
	return dc
}

// launch copies the cached domain into a new directory and starts a DC on
// a free pool address.
func launch(c *cache, opts Options) (_ *DC, err error) {
	// A short directory: samba's unix sockets live in it, and a socket
	// path is at most 107 bytes (t.TempDir's names can be long).
	dir, err := os.MkdirTemp("", "sambadc-")
	if err != nil {
		return nil, fmt.Errorf("sambatest: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.RemoveAll(dir))
		}
	}()
	if err := copyTree(c.tree(), dir); err != nil {
		return nil, err
	}
	dc := newDC(dir, c.meta, opts)
	dc.ownDir = true
	if err := os.MkdirAll(filepath.Join(dir, "keytabs"), 0o700); err != nil {
		return nil, fmt.Errorf("sambatest: %w", err)
	}
	for i, m := range c.meta.Computers {
		kt := filepath.Join(dir, "keytabs", m.Name+".keytab")
		if err := copyFile(c.keytab(m.Name), kt, 0o600); err != nil {
			return nil, err
		}
		dc.Computers[i].Keytab = kt
	}
	if err := dc.start(); err != nil {
		return nil, err
	}
	return dc, nil
}

// newDC fills in a DC for the tree in dir, from what the cache recorded.
func newDC(dir string, m *meta, opts Options) *DC {
	dc := &DC{
		HostName:      strings.ToLower(dcName) + "." + dnsDomain,
		Realm:         realm,
		Domain:        netbios,
		BaseDN:        baseDN,
		DomainSID:     m.DomainSID,
		AdminUser:     adminUser,
		AdminPassword: adminPass,
		Zone:          dnsDomain + ".",
		ZoneDN:        "DC=" + dnsDomain + ",CN=MicrosoftDNS,DC=DomainDnsZones," + baseDN,
		Group:         groupName,
		GroupDN:       m.GroupDN,
		GroupSID:      m.GroupSID,
		Dir:           dir,
		CAFile:        filepath.Join(dir, "tls", "ca.pem"),
		Krb5Conf:      filepath.Join(dir, "krb5.conf"),
		proc:          &process{conf: opts.Conf},
	}
	for _, c := range m.Computers {
		dc.Computers = append(dc.Computers, Computer{
			Name:        c.Name,
			SAM:         c.Name + "$",
			DNSHostName: strings.ToLower(c.Name) + "." + dnsDomain,
			Addr:        c.Addr,
			Password:    c.Password,
			Principal:   c.Name + "$@" + realm,
			DN:          c.DN,
			SID:         c.SID,
			InGroup:     c.InGroup,
		})
	}
	return dc
}

// setAddr records the address and DNS port the DC runs on.
func (dc *DC) setAddr(addr string, dnsPort int) {
	dc.Addr = addr
	dc.DNSPort = dnsPort
	dc.DNSAddr = net.JoinHostPort(addr, strconv.Itoa(dnsPort))
	dc.LDAPURL = "ldap://" + net.JoinHostPort(addr, "389")
	dc.LDAPSURL = "ldaps://" + net.JoinHostPort(addr, "636")
}

// Computer returns the computer account called name ("KMS1" or "KMS1$"),
// failing the test when there is none.
func (dc *DC) Computer(tb testing.TB, name string) Computer {
	tb.Helper()
	for _, c := range dc.Computers {
		if strings.EqualFold(c.Name, name) || strings.EqualFold(c.SAM, name) {
			return c
		}
	}
	tb.Fatalf("sambatest: no computer account %q (there are KMS1, KMS2, KMS3)", name)
	return Computer{}
}

// Stop stops samba (SIGTERM to its process group, SIGKILL after 10 s),
// waits for it, releases the DC's address and removes Dir. Start calls it
// when the test ends; it is idempotent: later calls return the first
// call's result. It reports samba having exited before Stop, or having to
// be killed.
func (dc *DC) Stop() error {
	dc.stopOnce.Do(func() {
		var errs []error
		if dc.proc != nil && dc.proc.cmd != nil {
			errs = append(errs, dc.proc.stop())
		}
		if dc.addrLock != nil {
			errs = append(errs, releaseAddr(dc.addrLock))
		}
		if dc.ownDir {
			errs = append(errs, os.RemoveAll(dc.Dir))
		}
		dc.stopErr = errors.Join(errs...)
	})
	return dc.stopErr
}

// LogTail returns the last n lines of samba's log (samba.log in Dir), for
// failure messages.
func (dc *DC) LogTail(n int) string {
	return logTail(filepath.Join(dc.Dir, "samba.log"), n)
}

// logTail returns the last n lines of the file at path.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
