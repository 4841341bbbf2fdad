package ad

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor"
)

// Defaults of the settings Options may leave out.
const (
	// DefaultGroup is the KMS host group of Microsoft's procedure ("change
	// the Default DNS Permissions for SRV Records").
	DefaultGroup = "Key Management Service Group"
	// DefaultTimeout bounds the dial, the TLS handshake, the bind and every
	// LDAP operation.
	DefaultTimeout = 10 * time.Second
	// DefaultOwner is the owner name, relative to the zone, whose node is
	// audited.
	DefaultOwner = "_vlmcs._tcp"
)

// Bind methods.
const (
	BindSimple   = "simple"
	BindKerberos = "kerberos"
)

// Secret is a password. It never prints: every fmt verb, JSON and text
// marshalling give "[redacted]"; Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the password itself, for the bind.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return redacted }

// Format writes "[redacted]" whatever the verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalText returns "[redacted]", so JSON and YAML never hold the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Bind says how to authenticate to the domain controller. The zero value
// is a simple bind without a user, which Dial refuses: set User.
type Bind struct {
	// Method is BindSimple (default) or BindKerberos.
	Method string
	// User is the account to bind as: a DN, user@domain or DOMAIN\user
	// for a simple bind; for Kerberos the default Principal.
	User string
	// Password is the simple bind's password, or the Kerberos password
	// when neither Keytab nor CCache is set. Never logged or printed.
	Password Secret

	// Realm is the Kerberos realm; default: the realm part of Principal
	// (user@REALM), else the domain's DNS name in upper case, from the
	// rootDSE's defaultNamingContext.
	Realm string
	// Principal is the Kerberos client principal ("KMS1$", "svc-srvctl",
	// "svc-srvctl@CORP.EXAMPLE.COM"); default: User.
	Principal string
	// Keytab is a keytab file holding Principal's keys.
	Keytab string
	// CCache is a credential cache holding a TGT (kinit's, e.g.
	// /tmp/krb5cc_1000); Principal and Realm then come from it.
	CCache string
	// Krb5Conf is a krb5.conf; default: a configuration that names the
	// server of URL (port 88) as the realm's only KDC.
	Krb5Conf string
	// SPN is the LDAP service principal; default: ldap/<dnsHostName of the
	// DC, from its rootDSE>.
	SPN string
}

// Options configure Dial. The zero value is not usable: URL and Bind.User
// (or a Kerberos credential) are required; everything else has a default.
type Options struct {
	// URL is the domain controller: ldaps://host[:636] or
	// ldap://host[:389] with StartTLS.
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before binding.
	StartTLS bool
	// CAFile is a PEM file of the CAs that may issue the DC's certificate;
	// default: the system roots.
	CAFile string
	// ServerName is the name the DC's certificate must hold; default: the
	// host of URL.
	ServerName string
	// Bind is how to authenticate.
	Bind Bind
	// Group is the KMS host group (sAMAccountName or CN); default
	// DefaultGroup.
	Group string
	// BaseDN is the domain's DN; default: the rootDSE's
	// defaultNamingContext.
	BaseDN string
	// Hosts are all the configured KMS hosts, whichever zones an audit
	// covers: a member of the group that is none of them is reported as
	// an extra member (with the command that removes it). Default: the
	// hosts the audit's requests name, which misreports a configured host
	// that publishes only in zones the audit leaves out.
	Hosts []Host
	// Timeout bounds the dial, the TLS handshake and each LDAP operation;
	// default DefaultTimeout. A context deadline that comes sooner wins.
	// It cannot bound a Kerberos bind's exchanges with the KDC: gokrb5
	// takes no context and gives each exchange its own 5 s (the login
	// makes two when the KDC asks for pre-authentication, the bind one
	// more for the LDAP service ticket); ctx is checked between them.
	Timeout time.Duration
	// Severity overrides the level of findings by kind.
	Severity map[Kind]auditor.Level
	// Now is the clock (record ages); nil means time.Now.
	Now func() time.Time
	// Logger receives progress; nil logs nothing. Passwords are never
	// logged.
	Logger *zap.Logger
}

// endpoint is a checked URL.
type endpoint struct {
	scheme string // "ldap" or "ldaps"
	host   string // without port or brackets
	addr   string // host:port
}

// parseURL checks an LDAP URL and fills in the default port.
func parseURL(raw string) (endpoint, error) {
	if raw == "" {
		return endpoint{}, errors.New("ad: no URL: set ldaps://host or ldap://host with StartTLS")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("ad: URL %q: %w", raw, err)
	}
	e := endpoint{scheme: strings.ToLower(u.Scheme), host: u.Hostname()}
	var port string
	switch e.scheme {
	case "ldaps":
		port = "636"
	case "ldap":
		port = "389"
	default:
		return endpoint{}, fmt.Errorf("ad: URL %q: scheme %q: want ldaps:// or ldap://", raw, u.Scheme)
	}
	if e.host == "" {
		return endpoint{}, fmt.Errorf("ad: URL %q has no host", raw)
	}
	if u.User != nil {
		return endpoint{}, fmt.Errorf("ad: URL %s: user information in the URL is not allowed: use the bind settings", redactURL(u))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("ad: URL %q: a DN, attributes or a filter in the URL are not used: give scheme://host[:port] only", raw)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	e.addr = net.JoinHostPort(e.host, port)
	return e, nil
}

// redactURL prints u without its password.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// String is the URL as srvctl names the server: scheme://host:port.
func (e endpoint) String() string { return e.scheme + "://" + e.addr }

// check validates o before anything is sent and returns the endpoint.
func (o *Options) check() (endpoint, error) {
	e, err := parseURL(o.URL)
	if err != nil {
		return e, err
	}
	tls := e.scheme == "ldaps" || o.StartTLS
	if e.scheme == "ldaps" && o.StartTLS {
		return e, fmt.Errorf("ad: %s: StartTLS is for ldap:// URLs; an ldaps:// connection is TLS from the start", e)
	}
	switch method(o.Bind.Method) {
	case BindSimple:
		if o.Bind.User == "" {
			return e, fmt.Errorf("ad: %s: a simple bind needs a user", e)
		}
		if !tls {
			return e, fmt.Errorf("ad: refusing a simple bind to %s as %s without TLS: the password would cross the network in clear; use ldaps:// or StartTLS", e, o.Bind.User)
		}
		if o.Bind.Keytab != "" || o.Bind.CCache != "" {
			return e, fmt.Errorf("ad: %s: a keytab or credential cache needs the kerberos bind method", e)
		}
	case BindKerberos:
		if !tls {
			return e, fmt.Errorf("ad: refusing a Kerberos bind to %s without TLS: Active Directory requires LDAP signing on plain ldap://, which needs a SASL security layer that go-ldap does not negotiate, so the DC would refuse the bind; use ldaps:// or StartTLS", e)
		}
		n := 0
		for _, set := range []bool{o.Bind.Keytab != "", o.Bind.CCache != "", o.Bind.Password != ""} {
			if set {
				n++
			}
		}
		switch {
		case n == 0:
			return e, fmt.Errorf("ad: %s: a Kerberos bind needs a keytab, a credential cache or a password", e)
		case n > 1:
			return e, fmt.Errorf("ad: %s: set only one of keytab, credential cache and password for a Kerberos bind", e)
		}
		if o.Bind.CCache == "" && o.principal() == "" {
			return e, fmt.Errorf("ad: %s: a Kerberos bind with a keytab or password needs a principal (or user)", e)
		}
	default:
		return e, fmt.Errorf("ad: %s: bind method %q: want simple or kerberos", e, o.Bind.Method)
	}
	if o.Timeout < 0 {
		return e, fmt.Errorf("ad: %s: negative timeout %v", e, o.Timeout)
	}
	return e, nil
}

// method returns the bind method, lower case, with its default.
func method(m string) string {
	if m == "" {
		return BindSimple
	}
	return strings.ToLower(m)
}

// principal is the Kerberos principal as configured (Principal or User).
func (o *Options) principal() string {
	if o.Bind.Principal != "" {
		return o.Bind.Principal
	}
	return o.Bind.User
}

// bindUser names the account for messages.
func (o *Options) bindUser() string {
	if method(o.Bind.Method) == BindKerberos {
		if p := o.principal(); p != "" {
			return p
		}
		return "the principal of " + o.Bind.CCache
	}
	return o.Bind.User
}

// splitPrincipal returns the name and realm of a principal written as
// name@REALM, DOMAIN\name or name.
func splitPrincipal(p string) (name, realm string) {
	if i := strings.LastIndexByte(p, '@'); i >= 0 {
		return p[:i], strings.ToUpper(p[i+1:])
	}
	if i := strings.IndexByte(p, '\\'); i >= 0 {
		return p[i+1:], ""
	}
	return p, ""
}

// realmOf returns the DNS domain of a DN in upper case:
// DC=corp,DC=example,DC=com → CORP.EXAMPLE.COM.
func realmOf(dn string) string {
	var labels []string
	for _, rdn := range splitDN(dn) {
		k, v, ok := strings.Cut(rdn, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "DC") {
			labels = append(labels, strings.TrimSpace(v))
		}
	}
	return strings.ToUpper(strings.Join(labels, "."))
}

// splitDN splits a DN at the commas that separate RDNs (not escaped ones).
func splitDN(dn string) []string {
	var out []string
	start := 0
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			out = append(out, dn[start:i])
			start = i + 1
		}
	}
	return append(out, dn[start:])
}
