package config

import (
	"net"
	"strings"
)

// Zone authentication methods.
const (
	AuthTSIG    = "tsig"     // a shared TSIG key (the default)
	AuthGSSTSIG = "gss-tsig" // Kerberos, RFC 3645: AD-integrated zones
)

// Kerberos is srvctl's Kerberos identity for a zone with auth gss-tsig.
type Kerberos struct {
	Realm        string // upper case; "" = from the principal, the ccache or krb5.conf
	Principal    string // e.g. "SRVCTL$" or "srvctl@CORP.EXAMPLE.COM"; "" only with CCache (its principal)
	Keytab       string // absolute path of a keytab (mode 0600)
	CCache       string // absolute path of a credential cache
	PasswordFile string // absolute path of a file holding the password (mode 0600)
	Password     Secret // its first line; empty with LoadOptions.NoSecrets
	Krb5Conf     string // absolute path of krb5.conf; "" = /etc/krb5.conf
	// ServerName is the DNS server's host name when the zone's server is
	// an address or another name: the service principal is
	// DNS/<ServerName>. "" = the host of the zone's server.
	ServerName string
}

// kerberos decodes a zone's auth and kerberos keys into z. rfc2136 says
// whether the zone takes dynamic updates. It reports whether all is well.
func (l *loader) kerberos(z *Zone, m *fields, rfc2136 bool) bool {
	ok := true
	af := m.get("auth")
	if s, present := l.scalar(af); present && s != "" {
		switch a := strings.ToLower(s); a {
		case AuthTSIG:
		case AuthGSSTSIG:
			z.Auth = a
		default:
			l.probs.add(af.path, "%q is not one of tsig, gss-tsig", s)
			ok = false
		}
		if !rfc2136 {
			l.probs.add(af.path, "only backend rfc2136 signs updates")
			ok = false
		}
	}
	kf := m.get("kerberos")
	if z.Auth != AuthGSSTSIG {
		if !kf.absent() {
			l.probs.add(kf.path, "only for auth: gss-tsig")
			ok = false
		}
		return ok
	}
	if kf.absent() {
		l.probs.add(kf.path, "missing: auth gss-tsig needs srvctl's Kerberos identity (realm, principal, and one of keytab, ccache, password_file)")
		return false
	}
	km := l.mapping(kf, "realm", "principal", "keytab", "ccache", "password_file", "krb5_conf", "server_name")
	if km == nil {
		return false
	}
	k := &Kerberos{}
	str := func(key string) (string, field) {
		f := km.get(key)
		s, _ := l.scalar(f)
		return strings.TrimSpace(s), f
	}
	var pwWritten string
	k.Keytab, _ = l.credentialFile(km.get("keytab"), true)
	k.CCache, _ = l.credentialFile(km.get("ccache"), false)
	k.PasswordFile, pwWritten = l.credentialFile(km.get("password_file"), true)
	k.Krb5Conf, _ = l.credentialFile(km.get("krb5_conf"), false)
	var rf, pf, sf field
	k.Realm, rf = str("realm")
	k.Principal, pf = str("principal")
	k.ServerName, sf = str("server_name")
	if k.Realm != "" && (!validRealm(k.Realm) || k.Realm != strings.ToUpper(k.Realm)) {
		l.probs.add(rf.path, "%q is not a realm (upper-case letters, digits, dots and hyphens)", k.Realm)
		ok = false
	}
	if k.Principal != "" {
		if msg := checkADName(k.Principal, 256); msg != "" || strings.ContainsAny(k.Principal, " /\\;") {
			l.probs.add(pf.path, "%q is not a principal like SRVCTL$ or srvctl@CORP.EXAMPLE.COM", k.Principal)
			ok = false
		}
	}
	if k.ServerName != "" {
		if err := checkHostname(k.ServerName); err != nil || net.ParseIP(k.ServerName) != nil {
			l.probs.add(sf.path, "%q: want the DNS server's host name (the service principal is DNS/<name>)", k.ServerName)
			ok = false
		}
		k.ServerName = strings.ToLower(strings.TrimSuffix(k.ServerName, "."))
	}
	switch n := countSet(k.Keytab, k.CCache, k.PasswordFile); {
	case n == 0:
		l.probs.add(kf.path, "one of keytab, ccache or password_file is needed")
		ok = false
	case n > 1:
		l.probs.add(kf.path, "one of keytab, ccache or password_file, not several")
		ok = false
	}
	if k.Principal == "" && k.CCache == "" {
		l.probs.add(pf.path, "missing: the principal srvctl logs in as (e.g. SRVCTL$)")
		ok = false
	}
	if k.ServerName == "" && z.Server != "" {
		if h, _, err := net.SplitHostPort(z.Server); err == nil && net.ParseIP(strings.Trim(h, "[]")) != nil {
			l.probs.add(sf.path, "missing: the server %s is an address; Kerberos needs the DNS server's host name (the service principal is DNS/<name>)", z.Server)
			ok = false
		}
	}
	if !l.noSecrets {
		if k.PasswordFile != "" {
			var good bool
			if k.Password, good = l.readPassword(km.get("password_file"), k.PasswordFile, pwWritten); !good {
				ok = false
			}
		}
		if !l.checkPrivate(km.get("keytab"), k.Keytab) || !l.checkPrivate(km.get("ccache"), k.CCache) {
			ok = false
		}
	}
	z.Kerberos = k
	return ok
}
