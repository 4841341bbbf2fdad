package gsstsig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// DefaultKrb5Conf is the krb5.conf read when Credentials.Krb5Conf is "".
const DefaultKrb5Conf = "/etc/krb5.conf"

// Secret is a password. Its value is never printed: fmt (every verb),
// encoding/json and any other TextMarshaler user see "[redacted]".
type Secret string

const redacted = "[redacted]"

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (Secret) GoString() string { return redacted }

// Format writes "[redacted]" whatever the verb.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// MarshalText returns "[redacted]".
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Credentials say who srvctl is to the KDC. Exactly one of Keytab, CCache
// and Password is set.
type Credentials struct {
	// Realm is the Kerberos realm, e.g. "CORP.EXAMPLE.COM". "" takes the
	// realm from Principal ("name@REALM"), else from the credential
	// cache, else krb5.conf's default_realm.
	Realm string
	// Principal is the client principal: "KMS1$" (a computer account),
	// "srvctl", or with its realm "srvctl@CORP.EXAMPLE.COM". With CCache
	// it may be "" (the cache's principal); when set it must be the
	// cache's.
	Principal string
	// Keytab is the path of a keytab holding the principal's keys.
	Keytab string
	// CCache is the path of a credential cache (a FILE: cache, as kinit
	// writes it; the "FILE:" prefix is optional) holding a valid TGT.
	// Its TGT is used until it expires; it is never renewed.
	CCache string
	// Password is the principal's password.
	Password Secret
	// Krb5Conf is the path of the krb5.conf naming the realm's KDCs;
	// "" means DefaultKrb5Conf.
	Krb5Conf string
}

// Errors that classify a failed login; the error Login returns wraps one of
// them when the cause is known, and names the principal and realm.
var (
	ErrWrongPassword    = errors.New("wrong password or key: the KDC rejected the pre-authentication")
	ErrUnknownPrincipal = errors.New("the KDC does not know this principal")
	ErrTicketExpired    = errors.New("the ticket has expired")
	ErrKDCUnreachable   = errors.New("cannot reach a KDC of realm")
	ErrAccountDisabled  = errors.New("the account is disabled, locked out or expired")
	ErrPasswordExpired  = errors.New("the password has expired")
	ErrClockSkew        = errors.New("this host's clock differs too much from the KDC's (check NTP)")
)

// source says where the keys or tickets come from, for messages.
func (c Credentials) source() string {
	switch {
	case c.Keytab != "":
		return "keytab " + c.Keytab
	case c.CCache != "":
		return "ccache " + c.CCache
	default:
		return "password"
	}
}

// name splits Principal into name and realm, the realm being Realm, or
// the one in Principal.
func (c Credentials) name() (user, realm string, err error) {
	user, realm = c.Principal, c.Realm
	if i := strings.LastIndex(user, "@"); i >= 0 {
		if realm != "" && realm != user[i+1:] {
			return "", "", fmt.Errorf("kerberos credentials: principal %s is not in realm %s", c.Principal, c.Realm)
		}
		user, realm = user[:i], user[i+1:]
	}
	return user, realm, nil
}

// check reports credentials that cannot be used at all.
func (c Credentials) check() error {
	n := 0
	for _, set := range []bool{c.Keytab != "", c.CCache != "", c.Password != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("kerberos credentials for %s: set exactly one of keytab, ccache and password (%d set)", c.Principal, n)
	}
	if c.Principal == "" && c.CCache == "" {
		return errors.New("kerberos credentials: no principal")
	}
	return nil
}

// Login gets a TGT for the principal, by an AS exchange with the realm's
// KDC (password, keytab) or from the credential cache, and returns the
// gokrb5 client that holds it; Destroy it when done. The KDC exchanges
// are gokrb5's, which takes no context: each KDC gets 5 seconds per
// transport. Errors name the principal and realm (never the password) and
// wrap one of the Err* values above when the cause is known.
func (c Credentials) Login(ctx context.Context) (*client.Client, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	confPath := c.Krb5Conf
	if confPath == "" {
		confPath = DefaultKrb5Conf
	}
	text, err := os.ReadFile(confPath)
	if err != nil {
		return nil, fmt.Errorf("kerberos: reading krb5.conf: %w", err)
	}
	conf, err := config.NewFromString(string(text))
	if err != nil {
		return nil, fmt.Errorf("kerberos: reading %s: %w", confPath, err)
	}
	if c.CCache != "" {
		return c.fromCCache(conf)
	}
	user, realm, err := c.name()
	if err != nil {
		return nil, err
	}
	if realm == "" {
		realm = conf.LibDefaults.DefaultRealm
	}
	if realm == "" {
		return nil, fmt.Errorf("kerberos: no realm for principal %s (and no default_realm in %s)", user, confPath)
	}
	who := user + "@" + realm
	var cl *client.Client
	if c.Keytab != "" {
		kt, err := keytab.Load(c.Keytab)
		if err != nil {
			return nil, fmt.Errorf("kerberos login as %s: reading keytab %s: %w", who, c.Keytab, cleanKeytabErr(err))
		}
		if !hasKey(kt, user, realm) {
			return nil, fmt.Errorf("kerberos login as %s: keytab %s holds no key for it", who, c.Keytab)
		}
		cl = client.NewWithKeytab(user, realm, kt, conf, client.DisablePAFXFAST(true))
	} else {
		cl = client.NewWithPassword(user, realm, string(c.Password), conf, client.DisablePAFXFAST(true))
	}
	if err := cl.Login(); err != nil {
		cl.Destroy()
		err = loginError(who, c.source(), err)
		if errors.Is(err, ErrKDCUnreachable) {
			_, kdcs, _ := conf.GetKDCs(realm, true)
			var list []string
			for i := 1; i <= len(kdcs); i++ {
				list = append(list, kdcs[i])
			}
			err = fmt.Errorf("kerberos login as %s with %s failed: %w %s (%s in %s): %s",
				who, c.source(), ErrKDCUnreachable, realm, strings.Join(list, ", "), confPath, lastCause(err))
		}
		return nil, err
	}
	return cl, nil
}

// fromCCache makes a client from a credential cache holding a valid TGT.
func (c Credentials) fromCCache(conf *config.Config) (*client.Client, error) {
	path := strings.TrimPrefix(c.CCache, "FILE:")
	if i := strings.Index(path, ":"); i > 0 && !strings.Contains(path[:i], "/") {
		return nil, fmt.Errorf("kerberos: ccache %s: only FILE: credential caches are supported", c.CCache)
	}
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		return nil, fmt.Errorf("kerberos: reading ccache %s: %w", path, err)
	}
	user := cc.DefaultPrincipal.PrincipalName.PrincipalNameString()
	realm := cc.DefaultPrincipal.Realm
	who := user + "@" + realm
	want, wantRealm, err := c.name()
	if err != nil {
		return nil, err
	}
	if (want != "" && !strings.EqualFold(want, user)) || (wantRealm != "" && !strings.EqualFold(wantRealm, realm)) {
		if want == "" {
			want = "realm " + wantRealm
		} else if wantRealm != "" {
			want += "@" + wantRealm
		}
		return nil, fmt.Errorf("kerberos: ccache %s holds tickets for %s, not for %s", path, who, want)
	}
	tgt, ok := cc.GetEntry(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}})
	if !ok {
		return nil, fmt.Errorf("kerberos: ccache %s holds no TGT for %s (run kinit)", path, who)
	}
	if now := time.Now(); !now.Before(tgt.EndTime) {
		return nil, fmt.Errorf("kerberos: the TGT of %s in ccache %s expired at %s: %w (renew it with kinit)",
			who, path, tgt.EndTime.UTC().Format(time.RFC3339), ErrTicketExpired)
	}
	cl, err := client.NewFromCCache(cc, conf, client.DisablePAFXFAST(true))
	if err != nil {
		return nil, fmt.Errorf("kerberos: ccache %s for %s: %w", path, who, err)
	}
	return cl, nil
}

// hasKey reports whether kt holds a key for user@realm.
func hasKey(kt *keytab.Keytab, user, realm string) bool {
	want := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, user)
	for _, e := range kt.Entries {
		if strings.EqualFold(e.Principal.Realm, realm) && strings.EqualFold(strings.Join(e.Principal.Components, "/"), want.PrincipalNameString()) {
			return true
		}
	}
	return false
}

// cleanKeytabErr keeps the file error of a keytab that cannot be read, and
// says "not a keytab" for one gokrb5 cannot parse.
func cleanKeytabErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return fmt.Errorf("not a keytab (%v)", err)
}

// kerberosCause maps what gokrb5 reports (it keeps only the text of KDC
// errors) to one of the Err* values, and shortens the text to the KDC's
// error where there is one.
func kerberosCause(err error) (detail string, kind error) {
	s := err.Error()
	detail = s
	if i := strings.LastIndex(s, "KRB Error: "); i >= 0 {
		detail = s[i+len("KRB Error: "):]
	}
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case has("KDC_ERR_PREAUTH_FAILED", "KRB_AP_ERR_BAD_INTEGRITY", "client password/keytab incorrect"):
		return detail, ErrWrongPassword
	case has("KDC_ERR_C_PRINCIPAL_UNKNOWN"):
		return detail, ErrUnknownPrincipal
	case has("KDC_ERR_CLIENT_REVOKED"):
		return detail, ErrAccountDisabled
	case has("KDC_ERR_KEY_EXPIRED"):
		return detail, ErrPasswordExpired
	case has("KRB_AP_ERR_SKEW"):
		return detail, ErrClockSkew
	case has("KRB_AP_ERR_TKT_EXPIRED"):
		return detail, ErrTicketExpired
	case has("Networking_Error", "error sending to a KDC", "failed to communicate with KDC", "communication error with KDC"):
		return detail, ErrKDCUnreachable
	}
	return detail, nil
}

// loginError explains a failed AS exchange.
func loginError(who, source string, err error) error {
	detail, kind := kerberosCause(err)
	if kind == nil {
		return fmt.Errorf("kerberos login as %s with %s failed: %w", who, source, err)
	}
	return fmt.Errorf("kerberos login as %s with %s failed: %w (%s)", who, source, kind, detail)
}

// lastCause is the innermost cause in an error text made of "a: b: c"
// parts, e.g. "connection refused".
func lastCause(err error) string {
	s := strings.TrimRight(err.Error(), ")")
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
