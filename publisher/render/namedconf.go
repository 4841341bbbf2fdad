// Package render writes the configuration other programs need so that
// srvctl's records can be published: the named.conf statements that let
// srvctl (and KMS hosts) update the _vlmcs._tcp SRV records on a BIND
// server, and the DnsDomainPublishList registry value of Windows KMS hosts.
//
// Updates are signed with TSIG keys, or with GSS-TSIG (Kerberos, RFC 3645):
// srvctl's own principal (Zone.Principal) and KMS hosts' machine accounts
// (Zone.Kerberos) get grants, and named gets the keytab it accepts them
// with (NamedConf.TKEYKeytab).
//
// It takes its own plain structs, never the config package, and does no
// I/O but writing to the given io.Writer; CheckNamedConf alone runs a
// program (named-checkconf).
package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/srvctl/srvctl/zones"
)

// Key is a TSIG key that named must know: srvctl's own key for a zone, or
// a KMS host's key (Zone.HostKeys).
type Key struct {
	// Name is the key's name, with or without the trailing dot; it is
	// printed without it.
	Name string
	// Algorithm is hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256,
	// hmac-sha384 or hmac-sha512; "" means hmac-sha256.
	Algorithm string
	// SecretFile is the file holding the secret; "" when srvctl has none
	// (a KMS host's key).
	SecretFile string
	// KeygenFile says SecretFile is tsig-keygen output, a key statement
	// named can include: the key is then rendered as include "SecretFile";.
	KeygenFile bool
	// Secret is the base64 secret, printed only when NamedConf.WithSecrets
	// is set (and the key is not a KeygenFile).
	Secret string
}

// Zone is one zone on the BIND server.
type Zone struct {
	// Name is the zone's name, canonical (lower case, trailing dot); the
	// trailing dot may be left out.
	Name string
	// Owner is the absolute name of the SRV RRset srvctl publishes, e.g.
	// "_vlmcs._tcp.corp.example.com."; "" means _vlmcs._tcp.<Name>. It must
	// lie below Name.
	Owner string
	// Backend is "rfc2136" (the zone takes dynamic updates; "" means the
	// same) or "bindfile" (srvctl writes a file the zone file includes).
	Backend string
	// Key is the name of srvctl's TSIG key for an rfc2136 zone. It may be
	// "" only with Principal (GSS-TSIG instead) or NamedConf.AllowUpdate
	// (unsigned updates).
	Key string
	// Principal is srvctl's own Kerberos principal for an rfc2136 zone it
	// updates with GSS-TSIG instead of a TSIG key, e.g.
	// "srvctl@CORP.EXAMPLE.COM" or a computer account
	// "SRVCTL$@CORP.EXAMPLE.COM": NAME@REALM, NAME being "/"-separated
	// components of letters, digits, "-", "_", "." and "$", REALM upper
	// case. It gets the same grant a key gets (update-policy style only:
	// allow-update takes keys and addresses, no principals). A zone has
	// Key or Principal, not both; "" means none.
	Principal string
	// File is the fragment srvctl writes for a bindfile zone.
	File string
	// HostKeys are the TSIG keys KMS hosts publish themselves with in this
	// zone (optional; rfc2136 zones only).
	HostKeys []string
	// Kerberos is the realm (e.g. "CORP.EXAMPLE.COM", upper case) whose
	// machine accounts (HOST$@REALM) may publish SRV records pointing at
	// themselves (HOST.<realm>) with GSS-TSIG: an ms-subdomain-self-rhs
	// grant (optional; update-policy style, rfc2136 zones only).
	Kerberos string
	// MaxRecords caps the SRV RRset with SRV(n) in every grant of the zone
	// (update-policy style only); 0 means no cap, at most 65535.
	MaxRecords int
}

// Style is how a zone's update permissions are written.
type Style string

// The styles.
const (
	// StyleUpdatePolicy grants the keys the SRV records at the zone's
	// owner name and nothing else. It is the default ("").
	StyleUpdatePolicy Style = "update-policy"
	// StyleAllowUpdate is the legacy allow-update { key ...; }; which lets
	// the keys change every record of the zone.
	StyleAllowUpdate Style = "allow-update"
)

// NamedConf is what WriteNamedConf renders. The zero value renders only
// the header comment.
type NamedConf struct {
	// Keys are rendered as key statements or includes, sorted by name.
	Keys []Key
	// Zones get their update-policy or allow-update statement (rfc2136) or
	// the $INCLUDE line for their zone file (bindfile), sorted by name.
	Zones []Zone
	// Style is StyleUpdatePolicy ("" means the same) or StyleAllowUpdate.
	Style Style
	// WithSecrets prints the secrets of keys that are not KeygenFiles.
	// Without it such a key statement is commented out and holds a
	// placeholder secret.
	WithSecrets bool
	// AllowUpdate are address match list elements added to every
	// allow-update statement: "any", "localhost", "localnets", an IP
	// address or prefix. They take unsigned updates, so they are refused
	// unless Insecure is set, and need Style StyleAllowUpdate.
	AllowUpdate []string
	// Insecure accepts AllowUpdate; the output then carries a warning.
	Insecure bool
	// Source is the config file named in the header comment; "" names none.
	Source string
	// TKEYKeytab is the absolute path of the keytab named accepts GSS-TSIG
	// with (tkey-gssapi-keytab): it holds the keys of the server's service
	// principal, DNS/<server host name>@REALM. Zones with a Principal or
	// Kerberos need it (or TKEYCredential). "" renders none; when such a
	// zone needs one, the output then says what is missing.
	TKEYKeytab string
	// TKEYCredential is the service principal whose key named accepts
	// GSS-TSIG with (tkey-gssapi-credential), e.g.
	// "DNS/ns1.corp.example.com@CORP.EXAMPLE.COM". named (BIND 9.18) takes
	// that key from the default keytab (KRB5_KTNAME in its environment,
	// else /etc/krb5.keytab) even when TKEYKeytab names another, and does
	// not start without it; BIND 9.18 also deprecates the option
	// (named-checkconf warns). TKEYKeytab alone, which accepts any
	// principal of its keytab, is preferred; the output says all this.
	// "" renders none.
	TKEYCredential string
}

// DefaultAlgorithm is the TSIG algorithm of a Key without one.
const DefaultAlgorithm = "hmac-sha256"

// algorithms are the TSIG algorithms named knows by these names.
var algorithms = []string{"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"}

// The backends of Zone.Backend.
const (
	backendRFC2136  = "rfc2136"
	backendBindfile = "bindfile"
)

// WriteNamedConf writes the named.conf statements for c to w: a header
// comment; each key, sorted by name (an include of its SecretFile for a
// KeygenFile, otherwise a key statement); then for each zone, sorted by
// name, either the update-policy (or allow-update) statement to put inside
// the zone's zone block, or, for a bindfile zone, the $INCLUDE line for its
// zone file, as a comment. Every part is explained in comments.
//
// A key statement without WithSecrets is commented out, and the secret in
// it is a placeholder, "<paste the base64 secret of NAME here>", which is
// not base64: the output as printed defines no key, so it cannot make named
// use a wrong secret, and if someone uncomments the statement without
// pasting the secret, named and named-checkconf refuse it ("bad base64
// encoding").
//
// The update-policy statements pass named-checkconf once they are inside
// their zone blocks (CheckNamedConf does exactly that). Names, paths and
// addresses are validated so that nothing can be injected; on any error
// nothing is written and the error lists every problem.
//
// Between the keys and the zones comes what named needs for GSS-TSIG
// grants (Zone.Principal, Zone.Kerberos): tkey-gssapi-keytab
// (NamedConf.TKEYKeytab) in its options. named.conf allows one options
// block, so the statement is printed inside a commented-out one, from
// "//options {" to "//};", with a comment saying to add it to the
// server's own; without a keytab, a comment says what is missing.
func WriteNamedConf(w io.Writer, c NamedConf) error {
	n, err := normalize(c)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	n.write(&b)
	_, err = w.Write(b.Bytes())
	return err
}

// namedConf is a validated NamedConf: names without trailing dots where
// they are printed, zones and keys sorted.
type namedConf struct {
	keys           []key
	zones          []zone
	style          Style
	withSecrets    bool
	allowUpdate    []string
	source         string
	tkeyKeytab     string
	tkeyCredential string
}

type key struct {
	name, algorithm, secretFile, secret string
	keygen                              bool
}

type zone struct {
	name       string // without the trailing dot
	owner      string // absolute, canonical
	backend    string
	key        string // without the trailing dot
	principal  string // srvctl's Kerberos principal
	file       string
	hostKeys   []string
	realm      string
	maxRecords int
}

// normalize validates c and returns it ready to print.
func normalize(c NamedConf) (*namedConf, error) {
	n := &namedConf{style: c.Style, withSecrets: c.WithSecrets, source: c.Source}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch n.style {
	case "":
		n.style = StyleUpdatePolicy
	case StyleUpdatePolicy, StyleAllowUpdate:
	default:
		fail("style %q: want %q or %q", c.Style, StyleUpdatePolicy, StyleAllowUpdate)
	}
	if err := checkComment(c.Source); err != nil {
		fail("source %q: %w", c.Source, err)
	}
	if c.TKEYKeytab != "" {
		switch err := checkQuotable(c.TKEYKeytab); {
		case err != nil:
			fail("tkey-gssapi-keytab %q: %w", c.TKEYKeytab, err)
		case !strings.HasPrefix(c.TKEYKeytab, "/"):
			fail("tkey-gssapi-keytab %q: not an absolute path (named would take it relative to its working directory)", c.TKEYKeytab)
		}
		n.tkeyKeytab = c.TKEYKeytab
	}
	if c.TKEYCredential != "" {
		if err := checkPrincipal(c.TKEYCredential); err != nil {
			fail("tkey-gssapi-credential %q: %w", c.TKEYCredential, err)
		}
		n.tkeyCredential = c.TKEYCredential
	}

	if len(c.AllowUpdate) > 0 {
		switch {
		case !c.Insecure:
			fail("allow-update %q refused: it takes updates without a key, so anyone who can reach the server (from there) can rewrite every record of the zone; use TSIG keys, or set insecure to accept that",
				c.AllowUpdate)
		case n.style != StyleAllowUpdate:
			fail("allow-update %q: addresses cannot be granted in update-policy; use the allow-update style", c.AllowUpdate)
		}
		for _, a := range c.AllowUpdate {
			e, err := addressElement(a)
			if err != nil {
				fail("allow-update element %q: %w", a, err)
				continue
			}
			if !slices.Contains(n.allowUpdate, e) {
				n.allowUpdate = append(n.allowUpdate, e)
			}
		}
	}

	seenKeys := map[string]bool{}
	for _, k := range c.Keys {
		nk, err := normalizeKey(k, c.WithSecrets)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seenKeys[strings.ToLower(nk.name)] {
			fail("key %q: defined twice", nk.name)
			continue
		}
		seenKeys[strings.ToLower(nk.name)] = true
		n.keys = append(n.keys, nk)
	}
	slices.SortFunc(n.keys, func(a, b key) int { return strings.Compare(a.name, b.name) })

	seenZones := map[string]bool{}
	for _, z := range c.Zones {
		nz, zerrs := n.normalizeZone(z)
		if len(zerrs) > 0 {
			errs = append(errs, zerrs...)
			continue
		}
		if seenZones[nz.name] {
			fail("zone %s: given twice", nz.name)
			continue
		}
		seenZones[nz.name] = true
		n.zones = append(n.zones, nz)
	}
	slices.SortFunc(n.zones, func(a, b zone) int { return strings.Compare(a.name, b.name) })

	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return n, nil
}

// normalizeKey validates a key. Its errors never quote the secret.
func normalizeKey(k Key, withSecrets bool) (key, error) {
	name, err := keyName(k.Name)
	if err != nil {
		return key{}, fmt.Errorf("key %q: %w", k.Name, err)
	}
	alg := strings.ToLower(strings.TrimSuffix(k.Algorithm, "."))
	if alg == "" {
		alg = DefaultAlgorithm
	}
	if !slices.Contains(algorithms, alg) {
		return key{}, fmt.Errorf("key %s: algorithm %q is not one of %s", name, k.Algorithm, strings.Join(algorithms, ", "))
	}
	nk := key{name: name, algorithm: alg, secretFile: k.SecretFile, keygen: k.KeygenFile}
	if k.SecretFile != "" {
		if err := checkQuotable(k.SecretFile); err != nil {
			return key{}, fmt.Errorf("key %s: secret file %q: %w", name, k.SecretFile, err)
		}
	}
	if k.KeygenFile && k.SecretFile == "" {
		return key{}, fmt.Errorf("key %s: a tsig-keygen file is to be included, but no secret file is given", name)
	}
	if withSecrets && !k.KeygenFile && k.Secret != "" {
		raw, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil || len(raw) == 0 {
			return key{}, fmt.Errorf("key %s: the secret is not valid base64", name)
		}
		nk.secret = k.Secret
	}
	return nk, nil
}

// normalizeZone validates a zone in n's style.
func (n *namedConf) normalizeZone(z Zone) (zone, []error) {
	var errs []error
	if err := zones.CheckZoneName(z.Name); err != nil {
		return zone{}, []error{fmt.Errorf("zone name: %w", err)}
	}
	canon := zones.Canonical(z.Name)
	nz := zone{name: strings.TrimSuffix(canon, "."), backend: z.Backend}
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("zone %s: "+format, append([]any{nz.name}, args...)...))
	}

	if nz.backend == "" {
		nz.backend = backendRFC2136
	}
	switch nz.backend {
	case backendBindfile:
		switch {
		case z.File == "":
			fail("bindfile zone without a file")
		default:
			if err := checkQuotable(z.File); err != nil {
				fail("file %q: %w", z.File, err)
			}
		}
		if len(z.HostKeys) > 0 || z.Kerberos != "" {
			fail("KMS hosts cannot publish themselves in a bindfile zone (it takes no updates): drop its host keys and Kerberos realm")
		}
		if z.Principal != "" {
			fail("principal %q: a bindfile zone takes no updates, so no GSS-TSIG grant", z.Principal)
		}
		if z.MaxRecords != 0 {
			fail("a record cap (SRV(n)) needs dynamic updates; a bindfile zone has none")
		}
		nz.file = z.File
		return nz, errs
	case backendRFC2136:
	default:
		fail("backend %q: want %q or %q", z.Backend, backendRFC2136, backendBindfile)
		return nz, errs
	}

	nz.owner = zones.Owner(zones.DefaultService, canon)
	if z.Owner != "" {
		owner, err := ownerName(z.Owner, canon)
		if err != nil {
			fail("owner %q: %w", z.Owner, err)
		}
		nz.owner = owner
	}
	switch {
	case z.Key != "" && z.Principal != "":
		fail("key %q and principal %q: srvctl signs with a TSIG key or with GSS-TSIG (Kerberos), give one", z.Key, z.Principal)
	case z.Key != "":
		k, err := keyName(z.Key)
		if err != nil {
			fail("key %q: %w", z.Key, err)
		}
		nz.key = k
	case z.Principal != "":
		if err := checkPrincipal(z.Principal); err != nil {
			fail("principal %q: %w", z.Principal, err)
		}
		nz.principal = z.Principal
		if n.style == StyleAllowUpdate {
			fail("principal %s: allow-update takes keys and addresses only, not Kerberos principals; use the update-policy style", z.Principal)
		}
	case len(n.allowUpdate) == 0:
		fail("no key: srvctl's updates must be signed with a TSIG key or GSS-TSIG (a Kerberos principal)")
	}
	for _, h := range z.HostKeys {
		k, err := keyName(h)
		if err != nil {
			fail("host key %q: %w", h, err)
			continue
		}
		if k != nz.key && !slices.Contains(nz.hostKeys, k) {
			nz.hostKeys = append(nz.hostKeys, k)
		}
	}
	slices.Sort(nz.hostKeys)
	if z.Kerberos != "" {
		realm, err := realmName(z.Kerberos)
		if err != nil {
			fail("Kerberos realm %q: %w", z.Kerberos, err)
		}
		nz.realm = realm
		if n.style == StyleAllowUpdate {
			fail("Kerberos self-publishing (ms-subdomain-self-rhs) needs the update-policy style")
		}
	}
	switch {
	case z.MaxRecords < 0 || z.MaxRecords > 65535:
		fail("record cap %d: want 0 (none) to 65535", z.MaxRecords)
	case z.MaxRecords > 0 && n.style == StyleAllowUpdate:
		fail("a record cap (SRV(n)) needs the update-policy style")
	}
	nz.maxRecords = z.MaxRecords
	return nz, errs
}

// keyName checks a TSIG key name: labels of letters, digits, hyphens and
// underscores (a domain name, as tsig-keygen makes them), which can go into
// a quoted string and a grant without escaping. It returns the name
// without the trailing dot.
func keyName(name string) (string, error) {
	n := strings.TrimSuffix(name, ".")
	if err := checkLabels(n, 253); err != nil {
		return "", err
	}
	return n, nil
}

// ownerName checks an owner name below zone (canonical) and returns it
// canonical, absolute.
func ownerName(name, zone string) (string, error) {
	n := strings.TrimSuffix(name, ".")
	if err := checkLabels(n, 253); err != nil {
		return "", err
	}
	owner := zones.Canonical(n)
	if !strings.HasSuffix(owner, "."+zone) {
		return "", fmt.Errorf("not below the zone %s", zone)
	}
	return owner, nil
}

// realmName checks a Kerberos realm as ms-subdomain-self-rhs takes it: a
// DNS domain of letters, digits and hyphens, upper case.
func realmName(realm string) (string, error) {
	r := strings.TrimSuffix(realm, ".")
	if err := checkRealm(r); err != nil {
		return "", err
	}
	return r, nil
}

// checkRealm checks a realm: dot-separated labels of upper-case letters,
// digits and hyphens. Kerberos realms are case-sensitive, and so is BIND
// where it compares a principal's realm with a grant's (the
// ms-/krb5-subdomain-self-rhs rules).
func checkRealm(r string) error {
	if err := checkLabels(r, 253); err != nil {
		return err
	}
	if strings.Contains(r, "_") {
		return errors.New(`contains "_" (only letters, digits, hyphens and dots)`)
	}
	if r != strings.ToUpper(r) {
		return fmt.Errorf("not upper case: Kerberos realms are case-sensitive (Active Directory's is its DNS domain in upper case, e.g. %s), and so is BIND where it matches them", strings.ToUpper(r))
	}
	return nil
}

// checkPrincipal checks a Kerberos principal for a grant or
// tkey-gssapi-credential: NAME@REALM, NAME one or more "/"-separated
// components of letters, digits, "-", "_", "." and "$" (srvctl,
// SRVCTL$, DNS/ns1.corp.example.com), REALM as checkRealm wants it. named
// reads both the principal it authenticated and a grant's identity as DNS
// names (a "." separates labels), so the principal must also be one: no
// empty label, labels of at most 63 and at most 253 characters in all.
// Anything that would need quoting or escaping in named.conf is refused.
func checkPrincipal(p string) error {
	if p == "" {
		return errors.New("empty principal")
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.$/@", c)) {
			return fmt.Errorf(`contains %q (a principal is NAME@REALM of letters, digits, "-", "_", ".", "$" and "/")`, c)
		}
	}
	name, realm, ok := strings.Cut(p, "@")
	switch {
	case !ok:
		return errors.New("no realm: want NAME@REALM, e.g. srvctl@CORP.EXAMPLE.COM")
	case strings.Contains(realm, "@"):
		return errors.New(`more than one "@"`)
	case name == "":
		return errors.New(`no name before "@"`)
	}
	for c := range strings.SplitSeq(name, "/") {
		if c == "" {
			return fmt.Errorf("empty component in %q", name)
		}
	}
	if err := checkRealm(realm); err != nil {
		return fmt.Errorf("realm %q: %w", realm, err)
	}
	if len(p) > 253 {
		return errors.New("longer than 253 characters (named reads it as a DNS name)")
	}
	for l := range strings.SplitSeq(p, ".") {
		switch {
		case l == "":
			return errors.New(`empty label: named reads a principal as a DNS name, so no leading, trailing or doubled "."`)
		case len(l) > 63:
			return fmt.Errorf("%q longer than 63 characters between dots (named reads a principal as a DNS name)", l)
		}
	}
	return nil
}

// checkLabels reports whether n is dot-separated labels of 1 to 63
// letters, digits, hyphens and underscores, at most max characters.
func checkLabels(n string, max int) error {
	if n == "" {
		return errors.New("empty name")
	}
	if len(n) > max {
		return fmt.Errorf("longer than %d characters", max)
	}
	for l := range strings.SplitSeq(n, ".") {
		if l == "" {
			return errors.New("empty label")
		}
		if len(l) > 63 {
			return fmt.Errorf("label %q longer than 63 characters", l)
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("contains %q (only letters, digits, hyphens, underscores and dots)", c)
			}
		}
	}
	return nil
}

// checkQuotable reports whether s can go into a quoted named.conf string,
// a zone file's $INCLUDE and a comment line as it is: valid UTF-8 without
// `"`, `\`, `;`, `{`, `}` or control characters.
func checkQuotable(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case !unicode.IsPrint(r) && r != ' ':
			return fmt.Errorf("contains the non-printing character %q", r)
		case strings.ContainsRune("\"\\;{}", r):
			return fmt.Errorf("contains %q, which is refused in named.conf strings", r)
		}
	}
	return nil
}

// checkComment reports whether s fits on one comment line.
func checkComment(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return fmt.Errorf("contains the non-printing character %q", r)
		}
	}
	return nil
}

// addressElement checks an allow-update address match list element and
// returns it as named.conf takes it.
func addressElement(a string) (string, error) {
	switch s := strings.ToLower(strings.TrimSpace(a)); s {
	case "any", "localhost", "localnets":
		return s, nil
	}
	if addr, err := netip.ParseAddr(a); err == nil && addr.Zone() == "" {
		return addr.String(), nil
	}
	if p, err := netip.ParsePrefix(a); err == nil {
		if p != p.Masked() {
			return "", fmt.Errorf("prefix has host bits set; did you mean %s?", p.Masked())
		}
		return p.String(), nil
	}
	return "", errors.New(`want "any", "localhost", "localnets", an IP address or a prefix`)
}

// write prints n.
func (n *namedConf) write(b *bytes.Buffer) {
	if n.source != "" {
		fmt.Fprintf(b, "// Generated by srvctl from %s: render it again after changing that file.\n", n.source)
	} else {
		b.WriteString("// Generated by srvctl: render it again after changing its configuration.\n")
	}
	b.WriteString("// The named.conf statements that let srvctl (and KMS hosts) update the KMS SRV records.\n")
	if len(n.allowUpdate) > 0 {
		fmt.Fprintf(b, "// WARNING, INSECURE: the allow-update statements below take updates WITHOUT a key from %s.\n",
			strings.Join(n.allowUpdate, ", "))
	}
	if len(n.keys) > 0 {
		b.WriteString("\n// TSIG keys. Define each key once in named.conf: leave out those defined already.\n")
	}
	for _, k := range n.keys {
		b.WriteString("\n")
		n.writeKey(b, k)
	}
	n.writeTKEY(b)
	for _, z := range n.zones {
		b.WriteString("\n")
		switch {
		case z.backend == backendBindfile:
			writeBindfile(b, z)
		case n.style == StyleAllowUpdate:
			n.writeAllowUpdate(b, z)
		default:
			writeUpdatePolicy(b, z)
		}
	}
}

func (n *namedConf) writeKey(b *bytes.Buffer, k key) {
	switch {
	case k.keygen:
		fmt.Fprintf(b, "// Key %s, from the tsig-keygen file srvctl signs with (named must be able to read it).\n", k.name)
		fmt.Fprintf(b, "include %s;\n", quote(k.secretFile))
		return
	case k.secret != "":
		fmt.Fprintf(b, "// Key %s. This statement holds the secret: keep the file it goes into private.\n", k.name)
		fmt.Fprintf(b, "key %s {\n\talgorithm %s;\n\tsecret %s;\n};\n", quote(k.name), k.algorithm, quote(k.secret))
		return
	}
	switch {
	case n.withSecrets:
		fmt.Fprintf(b, "// Key %s: srvctl holds no secret for it.\n", k.name)
	default:
		fmt.Fprintf(b, "// Key %s: its secret is left out (srvctl prints secrets only when asked to).\n", k.name)
	}
	from := "the secret the KMS host signs with"
	if k.secretFile != "" {
		from = "the secret from " + k.secretFile
	}
	fmt.Fprintf(b, "// Uncomment this statement and paste %s, unless the key\n", from)
	b.WriteString("// is defined already. The placeholder is not base64: named refuses it.\n")
	fmt.Fprintf(b, "//key %s {\n//\talgorithm %s;\n//\tsecret \"<paste the base64 secret of %s here>\";\n//};\n", quote(k.name), k.algorithm, k.name)
}

// gssZones are the names of the zones with GSS-TSIG grants (a principal
// or a realm), which need named's tkey-gssapi-keytab.
func (n *namedConf) gssZones() []string {
	var out []string
	for _, z := range n.zones {
		if z.principal != "" || z.realm != "" {
			out = append(out, z.name)
		}
	}
	return out
}

// maxListed is how many zones a comment names before it says "and N more".
const maxListed = 5

// list names up to maxListed of names: "a", "a and b", "a, b and 3 more".
func list(names []string) string {
	if len(names) > maxListed {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// writeTKEY writes the options named needs to accept GSS-TSIG: as a
// commented-out options block (named.conf has only one, and a second one
// makes named refuse the file), or, when neither the keytab nor the
// credential is known, a comment saying what to add.
func (n *namedConf) writeTKEY(b *bytes.Buffer) {
	need := n.gssZones()
	if len(need) == 0 && n.tkeyKeytab == "" && n.tkeyCredential == "" {
		return
	}
	b.WriteString("\n// GSS-TSIG (Kerberos, RFC 3645): named accepts it only with the keys of its own\n")
	b.WriteString("// service principal, DNS/<this server's host name>@<REALM> (the name clients ask\n")
	b.WriteString("// for, e.g. DNS/ns1.corp.example.com@CORP.EXAMPLE.COM), from a keytab it can read.\n")
	if len(need) > 0 {
		fmt.Fprintf(b, "// The grants to Kerberos principals below need that; they are in\n// %s.\n", list(need))
	}
	if n.tkeyKeytab == "" && n.tkeyCredential == "" {
		b.WriteString("// srvctl was given no keytab for named, so this is left to you: add\n")
		b.WriteString("//\ttkey-gssapi-keytab \"<absolute path of that keytab>\";\n")
		b.WriteString("// to the options { ... }; block of named.conf. Without it named refuses every\n")
		b.WriteString("// GSS-TSIG negotiation (TKEY), so every GSS-TSIG update.\n")
		return
	}
	if n.tkeyCredential != "" {
		b.WriteString("// tkey-gssapi-credential is deprecated in BIND 9.18 (named-checkconf warns). With\n")
		b.WriteString("// it, named takes that principal's key from the default keytab (KRB5_KTNAME in its\n")
		b.WriteString("// environment, else /etc/krb5.keytab), even when tkey-gssapi-keytab names another,\n")
		b.WriteString("// and does not start when the key is not there. tkey-gssapi-keytab alone needs\n")
		b.WriteString("// neither: it accepts every principal of its keytab.\n")
	}
	b.WriteString("// named.conf has a single options block: add the lines between the braces to yours\n")
	b.WriteString("// (the block is commented out, as a second one makes named refuse the file).\n")
	b.WriteString("//options {\n")
	if n.tkeyKeytab != "" {
		fmt.Fprintf(b, "//\ttkey-gssapi-keytab %s;\n", quote(n.tkeyKeytab))
	}
	if n.tkeyCredential != "" {
		fmt.Fprintf(b, "//\ttkey-gssapi-credential %s;\n", quote(n.tkeyCredential))
	}
	b.WriteString("//};\n")
}

// types is the rrtype list of a grant: SRV, or SRV(n) with a cap.
func (z zone) types() string {
	if z.maxRecords > 0 {
		return fmt.Sprintf("SRV(%d)", z.maxRecords)
	}
	return "SRV"
}

func writeUpdatePolicy(b *bytes.Buffer, z zone) {
	switch {
	case z.principal != "":
		fmt.Fprintf(b, "// %s: srvctl (GSS-TSIG as %s) may change the\n", z.name, z.principal)
		fmt.Fprintf(b, "// SRV records at %s and nothing else.\n", z.owner)
	default:
		fmt.Fprintf(b, "// %s: srvctl (key %s) may change the SRV records at\n", z.name, z.key)
		fmt.Fprintf(b, "// %s and nothing else.\n", z.owner)
	}
	if z.maxRecords > 0 {
		fmt.Fprintf(b, "// SRV(%d): named keeps at most %d SRV records there and drops extra ones SILENTLY\n", z.maxRecords, z.maxRecords)
		b.WriteString("// (the update still succeeds); srvctl reads its records back after writing.\n")
	}
	fmt.Fprintf(b, "// Put this inside: zone %s { ... };\n", quote(z.name))
	b.WriteString("update-policy {\n")
	if z.principal != "" {
		fmt.Fprintf(b, "\tgrant %s name %s %s;\n", quote(z.principal), z.owner, z.types())
	} else {
		fmt.Fprintf(b, "\tgrant %s name %s %s;\n", quote(z.key), z.owner, z.types())
	}
	if len(z.hostKeys) > 0 {
		b.WriteString("\t// KMS hosts publishing themselves with their own TSIG keys. A key is not tied\n")
		b.WriteString("\t// to a target: each may write any SRV record at this name.\n")
		for _, h := range z.hostKeys {
			fmt.Fprintf(b, "\tgrant %s name %s %s;\n", quote(h), z.owner, z.types())
		}
	}
	if z.realm != "" {
		b.WriteString("\t// KMS hosts publishing themselves with GSS-TSIG (ms-subdomain-self-rhs): a machine\n")
		fmt.Fprintf(b, "\t// account HOST$@%s may add and delete only the SRV records here whose\n", z.realm)
		fmt.Fprintf(b, "\t// target is HOST.%s, so that must be the KMS host's FQDN; deleting the\n", strings.ToLower(z.realm))
		b.WriteString("\t// whole RRset is refused. Every machine account of the realm may: BIND knows no\n")
		b.WriteString("\t// groups. krb5-self and ms-self would not do: they let a host change the records at\n")
		b.WriteString("\t// its own name, not SRV records at this one.\n")
		fmt.Fprintf(b, "\tgrant %s ms-subdomain-self-rhs %s %s;\n", z.realm, z.owner, z.types())
	}
	b.WriteString("};\n")
}

func (n *namedConf) writeAllowUpdate(b *bytes.Buffer, z zone) {
	var who, elems []string
	if z.key != "" {
		who = append(who, fmt.Sprintf("srvctl (key %s)", z.key))
		elems = append(elems, "key "+quote(z.key)+";")
	}
	if len(z.hostKeys) > 0 {
		who = append(who, fmt.Sprintf("KMS hosts (keys %s)", strings.Join(z.hostKeys, ", ")))
		for _, h := range z.hostKeys {
			elems = append(elems, "key "+quote(h)+";")
		}
	}
	for _, a := range n.allowUpdate {
		elems = append(elems, a+";")
	}
	if len(who) > 0 {
		fmt.Fprintf(b, "// %s: %s may update the zone.\n", z.name, strings.Join(who, " and "))
		b.WriteString("// allow-update lets these keys change EVERY record of the zone, not only the SRV\n")
		fmt.Fprintf(b, "// records at %s: the update-policy style is narrower.\n", z.owner)
	} else {
		fmt.Fprintf(b, "// %s: srvctl updates it without a key.\n", z.name)
	}
	if len(n.allowUpdate) > 0 {
		fmt.Fprintf(b, "// WARNING, INSECURE: %s let anyone who can reach this server\n", strings.Join(n.allowUpdate, ", "))
		fmt.Fprintf(b, "// (from there) rewrite every record of %s, WITHOUT a key.\n", z.name)
	}
	b.WriteString("// A zone takes allow-update or update-policy, not both: remove its update-policy.\n")
	fmt.Fprintf(b, "// Put this inside: zone %s { ... };\n", quote(z.name))
	fmt.Fprintf(b, "allow-update { %s };\n", strings.Join(elems, " "))
}

func writeBindfile(b *bytes.Buffer, z zone) {
	fmt.Fprintf(b, "// %s: srvctl writes its SRV records to a file (bindfile backend), not by\n", z.name)
	b.WriteString("// dynamic update. Keep the zone static (no allow-update, no update-policy) and put\n")
	b.WriteString("// this line into the zone's file, not into named.conf:\n")
	b.WriteString("//\n")
	fmt.Fprintf(b, "//\t$INCLUDE %s\n", quote(z.file))
	b.WriteString("//\n")
	b.WriteString("// A relative path is relative to named's directory.\n")
}

// quote puts s, checked with checkQuotable or a name check, between double
// quotes: such strings need no escapes in named.conf or a zone file.
func quote(s string) string { return `"` + s + `"` }
