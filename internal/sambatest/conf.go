package sambatest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// serverServices are the samba services the DC runs: not the file server
// (smbd, sysvol), NetBIOS, WINS, winbindd, NTP signing, the KCC and DRS
// replication (one DC), nor dnsupdate (it would register the DC's own
// records with the addresses of this machine).
const serverServices = "-s3fs -nbt -wrepl -winbindd -ntp_signd -kcc -drepl -dnsupdate"

// smbConfPath is the DC's smb.conf.
func (dc *DC) smbConfPath() string { return filepath.Join(dc.Dir, "etc", "smb.conf") }

// clientConfPath is the smb.conf samba-tool uses as a client of the DC.
func (dc *DC) clientConfPath() string { return filepath.Join(dc.Dir, "etc", "client.conf") }

// smbConf is the DC's smb.conf. Every path samba writes to is in Dir,
// including the pid file and the ncalrpc sockets, which otherwise go to
// /run/samba and would stop a second DC from starting.
func (dc *DC) smbConf() string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "\t%s = %s\n", k, v) }
	b.WriteString("# Written by internal/sambatest for one test DC.\n[global]\n")
	line("netbios name", dcName)
	line("workgroup", netbios)
	line("realm", realm)
	line("server role", "active directory domain controller")
	line("private dir", filepath.Join(dc.Dir, "private"))
	line("lock directory", dc.Dir)
	line("state directory", filepath.Join(dc.Dir, "state"))
	line("cache directory", filepath.Join(dc.Dir, "cache"))
	line("binddns dir", filepath.Join(dc.Dir, "bind-dns"))
	line("pid directory", filepath.Join(dc.Dir, "run"))
	line("ncalrpc dir", filepath.Join(dc.Dir, "run", "ncalrpc"))
	line("winbindd socket directory", filepath.Join(dc.Dir, "run", "winbindd"))
	line("ntp signd socket directory", filepath.Join(dc.Dir, "run", "ntp_signd"))
	// "127.0.88.N" alone binds nothing (lo carries only 127.0.0.1); the
	// /8 form makes samba bind exactly this address.
	line("interfaces", dc.Addr+"/8")
	line("bind interfaces only", "yes")
	line("disable netbios", "yes")
	line("server services", serverServices)
	line("dns port", fmt.Sprint(dc.DNSPort))
	line("allow dns updates", "secure only")
	line("ldap server require strong auth", "allow_sasl_over_tls")
	line("tls enabled", "yes")
	line("tls keyfile", filepath.Join(dc.Dir, "tls", "key.pem"))
	line("tls certfile", filepath.Join(dc.Dir, "tls", "cert.pem"))
	line("tls cafile", filepath.Join(dc.Dir, "tls", "ca.pem"))
	line("log level", "1")
	for _, l := range dc.proc.conf {
		b.WriteString("\t" + strings.TrimSpace(l) + "\n")
	}
	return b.String()
}

// clientConf is the smb.conf of samba-tool as a client: the right
// workgroup and realm (or it logs in to the host's default workgroup), and
// its caches in Dir rather than /var/lib/samba.
func (dc *DC) clientConf() string {
	c := filepath.Join(dc.Dir, "client")
	return "# samba-tool as a client of the test DC.\n[global]\n" +
		"\tworkgroup = " + netbios + "\n" +
		"\trealm = " + realm + "\n" +
		"\tlock directory = " + c + "\n" +
		"\tstate directory = " + c + "\n" +
		"\tcache directory = " + c + "\n" +
		"\tprivate dir = " + c + "\n" +
		"\tpid directory = " + c + "\n" +
		"\tncalrpc dir = " + filepath.Join(c, "ncalrpc") + "\n"
}

// krb5Conf is the DC's krb5.conf: the realm's KDC at Addr, over TCP, and
// no DNS: neither to find the KDC or realm nor to canonicalise or
// reverse-resolve host names.
func (dc *DC) krb5Conf() string {
	return "# krb5.conf for the sambatest DC on " + dc.Addr + ".\n" +
		"[libdefaults]\n" +
		"\tdefault_realm = " + realm + "\n" +
		"\tdns_lookup_realm = false\n" +
		"\tdns_lookup_kdc = false\n" +
		"\tdns_canonicalize_hostname = false\n" +
		"\trdns = false\n" +
		"\tudp_preference_limit = 1\n" +
		"[realms]\n" +
		"\t" + realm + " = {\n" +
		"\t\tkdc = " + dc.Addr + "\n" +
		"\t\tadmin_server = " + dc.Addr + "\n" +
		"\t}\n" +
		"[domain_realm]\n" +
		"\t." + dnsDomain + " = " + realm + "\n" +
		"\t" + dnsDomain + " = " + realm + "\n"
}

// writeConfs writes smb.conf, the client's smb.conf and krb5.conf, and
// creates the directories they name.
func (dc *DC) writeConfs() error {
	for _, d := range []string{"etc", "run", "cache", "client"} {
		if err := os.MkdirAll(filepath.Join(dc.Dir, d), 0o755); err != nil {
			return fmt.Errorf("sambatest: %w", err)
		}
	}
	for path, data := range map[string]string{
		dc.smbConfPath():    dc.smbConf(),
		dc.clientConfPath(): dc.clientConf(),
		dc.Krb5Conf:         dc.krb5Conf(),
	} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return fmt.Errorf("sambatest: %w", err)
		}
	}
	return nil
}
