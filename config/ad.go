package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Defaults of the ad section.
const (
	DefaultADGroup   = "Key Management Service Group"
	DefaultADTimeout = 10 * time.Second
)

// AD configures srvctl audit ad and srvctl ad grant: the domain
// controller to read the permissions of the _vlmcs._tcp records from.
type AD struct {
	URL        string        // ldaps://host[:port] or ldap://host[:port]; "" when the section is absent
	StartTLS   bool          // ldap:// upgraded with StartTLS
	CAFile     string        // absolute path of the PEM CA bundle that signs the DC's certificate; "" = system roots
	ServerName string        // the name the DC's certificate must carry; "" = the URL's host
	Bind       ADBind        // how srvctl authenticates
	Group      string        // the KMS host group, default DefaultADGroup
	BaseDN     string        // the domain's DN; "" = defaultNamingContext of the rootDSE
	Timeout    time.Duration // per LDAP operation and dial, default DefaultADTimeout
}

// ADBind says how srvctl binds to the directory.
type ADBind struct {
	Method string // "simple" or "kerberos"
	// User is the bind user: a DN, user@domain or DOMAIN\user (simple);
	// the principal's default (kerberos).
	User         string
	PasswordFile string // absolute path of the file holding the password (simple; kerberos without keytab/ccache)
	Password     Secret // its first line; empty with LoadOptions.NoSecrets
	Realm        string // kerberos: the realm, upper case
	Principal    string // kerberos: default User
	Keytab       string // kerberos: absolute path of a keytab (mode 0600)
	CCache       string // kerberos: absolute path of a credential cache
	Krb5Conf     string // kerberos: absolute path of krb5.conf; "" = /etc/krb5.conf
	SPN          string // kerberos: the DC's service principal; "" = ldap/<DC host name>
}

// ad decodes the ad section; absent, it is the zero AD.
func (l *loader) ad(f field) AD {
	if f.absent() {
		return AD{}
	}
	a := AD{Group: DefaultADGroup, Timeout: DefaultADTimeout}
	m := l.mapping(f, "url", "start_tls", "ca_file", "server_name", "bind", "group", "base_dn", "timeout")
	if m == nil {
		return a
	}
	uf := m.get("url")
	switch s, ok := l.scalar(uf); {
	case !ok && uf.absent():
		l.probs.add(uf.path, "missing: the domain controller, like ldaps://dc1.corp.example.com")
	case ok:
		u, err := url.Parse(s)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "ldaps" && u.Scheme != "ldap"):
			l.probs.add(uf.path, "%q: want ldaps://host[:port] or ldap://host[:port] (with start_tls: true)", s)
		case u.Path != "" && u.Path != "/", u.RawQuery != "", u.User != nil:
			l.probs.add(uf.path, "%q: only a scheme, a host and a port (no path, query or user)", s)
		default:
			if p := u.Port(); p != "" {
				if _, msg := integer(p, 1, 65535); msg != "" {
					l.probs.add(uf.path, "%q: port %s", s, msg)
				}
			}
			a.URL = u.Scheme + "://" + u.Host
		}
	}
	if sf := m.get("start_tls"); !sf.absent() {
		if s, ok := l.scalar(sf); ok {
			switch strings.ToLower(s) {
			case "true", "yes":
				a.StartTLS = true
			case "false", "no":
			default:
				l.probs.add(sf.path, "%q: want true or false", s)
			}
		}
	}
	if a.StartTLS && strings.HasPrefix(a.URL, "ldaps://") {
		l.probs.add(m.get("start_tls").path, "true with an ldaps:// url: StartTLS is for ldap://")
	}
	if cf := m.get("ca_file"); !cf.absent() {
		if s, ok := l.scalar(cf); ok && s != "" {
			a.CAFile, _ = l.path(cf, s)
		}
	}
	if nf := m.get("server_name"); !nf.absent() {
		if s, ok := l.scalar(nf); ok && s != "" {
			if err := checkHostname(s); err != nil && net.ParseIP(s) == nil {
				l.probs.add(nf.path, "%v", err)
			}
			a.ServerName = strings.TrimSuffix(s, ".")
		}
	}
	if gf := m.get("group"); !gf.absent() {
		if s, ok := l.scalar(gf); ok {
			if msg := checkADName(s, 256); msg != "" {
				l.probs.add(gf.path, "%s", msg)
			}
			a.Group = s
		}
	}
	if bf := m.get("base_dn"); !bf.absent() {
		if s, ok := l.scalar(bf); ok && s != "" {
			if !strings.Contains(strings.ToUpper(s), "DC=") || strings.ContainsFunc(s, unicode.IsControl) {
				l.probs.add(bf.path, "%q is not a domain DN like DC=corp,DC=example,DC=com", s)
			}
			a.BaseDN = s
		}
	}
	a.Timeout = l.duration(m.get("timeout"), DefaultADTimeout)
	a.Bind = l.adBind(m.get("bind"), a)
	return a
}

// adBind decodes ad.bind.
func (l *loader) adBind(f field, a AD) ADBind {
	var b ADBind
	if f.absent() {
		l.probs.add(f.path, "missing: method simple (user, password_file) or kerberos (realm with keytab, ccache or password_file)")
		return b
	}
	m := l.mapping(f, "method", "user", "password_file", "realm", "principal", "keytab", "ccache", "krb5_conf", "spn")
	if m == nil {
		return b
	}
	str := func(key string) (string, field) {
		kf := m.get(key)
		s, _ := l.scalar(kf)
		return strings.TrimSpace(s), kf
	}
	method, mf := str("method")
	b.Method = strings.ToLower(method)
	b.User, _ = str("user")
	if b.User != "" {
		if msg := checkADName(b.User, 512); msg != "" {
			l.probs.add(m.get("user").path, "%s", msg)
		}
	}
	var pwWritten string
	b.PasswordFile, pwWritten = l.credentialFile(m.get("password_file"), true)
	b.Keytab, _ = l.credentialFile(m.get("keytab"), true)
	b.CCache, _ = l.credentialFile(m.get("ccache"), false)
	b.Krb5Conf, _ = l.credentialFile(m.get("krb5_conf"), false)
	b.Realm, _ = str("realm")
	b.Principal, _ = str("principal")
	b.SPN, _ = str("spn")

	switch b.Method {
	case "simple":
		if b.User == "" {
			l.probs.add(m.get("user").path, "missing: the bind user (a DN, user@domain or DOMAIN\\user)")
		}
		if b.PasswordFile == "" {
			l.probs.add(m.get("password_file").path, "missing: the file holding the bind password (mode 0600)")
		}
		if strings.HasPrefix(a.URL, "ldap://") && !a.StartTLS {
			l.probs.add(mf.path, "simple over ldap:// without start_tls would send the password in clear: use ldaps:// or start_tls: true")
		}
		for _, k := range []string{"realm", "principal", "keytab", "ccache", "krb5_conf", "spn"} {
			if !m.get(k).absent() {
				l.probs.add(m.get(k).path, "only for method kerberos")
			}
		}
	case "kerberos":
		if b.Realm == "" {
			l.probs.add(m.get("realm").path, "missing: the Kerberos realm, like CORP.EXAMPLE.COM")
		} else if !validRealm(b.Realm) || b.Realm != strings.ToUpper(b.Realm) {
			l.probs.add(m.get("realm").path, "%q is not a realm (upper-case letters, digits, dots and hyphens)", b.Realm)
		}
		if b.Principal == "" {
			b.Principal = b.User
		}
		switch n := countSet(b.Keytab, b.CCache, b.PasswordFile); {
		case n == 0:
			l.probs.add(f.path, "kerberos needs one of keytab, ccache or password_file")
		case n > 1:
			l.probs.add(f.path, "kerberos takes one of keytab, ccache or password_file, not several")
		}
		if b.Principal == "" && b.CCache == "" {
			l.probs.add(m.get("principal").path, "missing: the principal to log in as (or user)")
		}
	case "":
		l.probs.add(mf.path, "missing: simple or kerberos")
	default:
		l.probs.add(mf.path, "%q is not one of simple, kerberos", method)
	}

	if l.adSecrets {
		if b.PasswordFile != "" {
			b.Password, _ = l.readPassword(m.get("password_file"), b.PasswordFile, pwWritten)
		}
		l.checkPrivate(m.get("keytab"), b.Keytab)
		l.checkPrivate(m.get("ccache"), b.CCache)
	}
	return b
}

// checkADName checks a name that srvctl prints into fix commands and LDAP
// filters: no control characters, no double quotes, a sane length.
func checkADName(s string, max int) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "empty"
	case len(s) > max:
		return fmt.Sprintf("longer than %d characters", max)
	case strings.ContainsFunc(s, unicode.IsControl), strings.ContainsRune(s, '"'):
		return fmt.Sprintf("%q: no double quotes or control characters (it is printed into commands)", s)
	}
	return ""
}

// account decodes a host's sAMAccountName.
func (l *loader) account(f field) string {
	s, ok := l.scalar(f)
	if !ok || s == "" {
		return ""
	}
	// sAMAccountName: at most 20 characters, none of "/\[]:;|=,+*?<>@ and
	// no control characters; a computer's ends with $.
	if len(s) > 20 || strings.ContainsAny(s, "\"/\\[]:;|=,+*?<>@ ") || strings.ContainsFunc(s, unicode.IsControl) {
		l.probs.add(f.path, "%q is not a sAMAccountName (at most 20 characters, none of \"/\\[]:;|=,+*?<>@ or spaces), like KMS1$", s)
		return ""
	}
	return s
}
