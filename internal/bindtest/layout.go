package bindtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// rndcKeyName is the control channel's key (Options.Rndc).
const rndcKeyName = "bindtest-rndc"

// algorithms are the TSIG algorithms named knows.
const algorithms = "hmac-md5 hmac-sha1 hmac-sha224 hmac-sha256 hmac-sha384 hmac-sha512"

// validName reports whether name is labels of [A-Za-z0-9_-] separated by
// dots, with an optional trailing dot: such names go into named.conf, zone
// files and file names without quoting trouble.
func validName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// layout is the validated Options and where everything goes in dir.
type layout struct {
	dir       string
	dynamic   []string            // absolute zone names, updatable
	static    []string            // absolute zone names, not updatable
	sentinel  string              // absolute name of the zone only this instance serves
	records   map[string][]string // absolute zone name -> extra RRs
	keys      []string            // key names without trailing dot
	algorithm string
	policy    string
	options   []string
	conf      []string
	rndc      bool
	rndcKey   string // base64 secret of the control channel's key
}

// newLayout validates opts and fills in the defaults.
func newLayout(opts Options, dir string) (*layout, error) {
	l := &layout{
		dir:       dir,
		sentinel:  "bindtest-" + randomHex(8) + ".test.",
		records:   make(map[string][]string, len(opts.Records)),
		keys:      opts.Keys,
		algorithm: strings.ToLower(opts.Algorithm),
		policy:    opts.Policy,
		options:   opts.Options,
		conf:      opts.Conf,
		rndc:      opts.Rndc,
	}
	if l.rndc {
		l.rndcKey = base64.StdEncoding.EncodeToString([]byte(randomHex(16)))
	}
	if len(l.keys) == 0 {
		l.keys = []string{DefaultKey}
	}
	if l.algorithm == "" {
		l.algorithm = DefaultAlgorithm
	}
	if l.policy == "" {
		l.policy = DefaultPolicy
	}
	if !slices.Contains(strings.Fields(algorithms), l.algorithm) {
		return nil, fmt.Errorf("bindtest: algorithm %q is not one of %s", opts.Algorithm, algorithms)
	}

	zones := map[string]string{} // lower case -> as given, absolute
	for i, z := range slices.Concat(opts.Zones, opts.Static) {
		if !validName(z) {
			return nil, fmt.Errorf("bindtest: zone name %q: want labels of [A-Za-z0-9_-] separated by dots", z)
		}
		abs := absolute(z)
		if _, dup := zones[strings.ToLower(abs)]; dup {
			return nil, fmt.Errorf("bindtest: zone %q given twice (Zones and Static together)", z)
		}
		zones[strings.ToLower(abs)] = abs
		if i < len(opts.Zones) {
			l.dynamic = append(l.dynamic, abs)
		} else {
			l.static = append(l.static, abs)
		}
	}
	l.keys = slices.Clone(l.keys)
	for i, k := range l.keys {
		if !validName(k) {
			return nil, fmt.Errorf("bindtest: key name %q: want labels of [A-Za-z0-9_-] separated by dots", k)
		}
		l.keys[i] = strings.TrimSuffix(k, ".")
		if slices.Contains(l.keys[:i], l.keys[i]) {
			return nil, fmt.Errorf("bindtest: key %q given twice", k)
		}
	}
	for z, rrs := range opts.Records {
		abs, ok := zones[strings.ToLower(absolute(z))]
		if !ok {
			return nil, fmt.Errorf("bindtest: Records for %q, which is not in Zones or Static", z)
		}
		for _, rr := range rrs {
			if strings.ContainsAny(rr, "\n\r") {
				return nil, fmt.Errorf("bindtest: Records for %q: one record per string, no newlines: %q", z, rr)
			}
		}
		l.records[abs] = append(l.records[abs], rrs...)
	}
	return l, nil
}

// absolute returns name with exactly one trailing dot.
func absolute(name string) string { return strings.TrimSuffix(name, ".") + "." }

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; it crashes the program if it would
	return hex.EncodeToString(b)
}

// keyFile is where the key's tsig-keygen style file goes.
func keyFile(dir, name string) string { return filepath.Join(dir, "keys", name+".key") }

// zoneFile is where the zone's file (and named's journal, .jnl) goes.
func (l *layout) zoneFile(zone string) string {
	return filepath.Join(l.dir, "zones", "db."+strings.TrimSuffix(zone, "."))
}

// confFile is named.conf's path.
func (l *layout) confFile() string { return filepath.Join(l.dir, "named.conf") }

// rndcConfFile is rndc.conf's path (Options.Rndc).
func (l *layout) rndcConfFile() string { return filepath.Join(l.dir, "rndc.conf") }

// logFile is named.log's path: named -g writes its log to stderr.
func (l *layout) logFile() string { return filepath.Join(l.dir, "named.log") }

// zones returns every zone named serves: dynamic, static and the sentinel.
func (l *layout) zones() []string {
	return slices.Concat(l.dynamic, l.static, []string{l.sentinel})
}

// writeFiles generates the keys (storing their secrets in secrets) and
// writes the key files and zone files. named.conf, which names the port,
// is written per attempt by writeConf.
func (l *layout) writeFiles(secrets map[string]string) error {
	for _, sub := range []string{"keys", "zones"} {
		if err := os.Mkdir(filepath.Join(l.dir, sub), 0o700); err != nil {
			return fmt.Errorf("bindtest: %w", err)
		}
	}
	for _, k := range l.keys {
		raw := make([]byte, 32)
		rand.Read(raw) // never fails; it crashes the program if it would
		secret := base64.StdEncoding.EncodeToString(raw)
		secrets[k] = secret
		if err := os.WriteFile(keyFile(l.dir, k), keyStatement(k, l.algorithm, secret), 0o600); err != nil {
			return fmt.Errorf("bindtest: key %s: %w", k, err)
		}
	}
	// Creating a file costs far more than linking one on some disks
	// (1 ms against 25 µs measured): zones without extra records share
	// one zone file of relative names through hard links. named never
	// writes a zone file in place: it dumps a dynamic zone to a new file
	// and renames it over the old name, so a link to the template never
	// changes under the other zones.
	var tmpl bytes.Buffer
	writeZone(&tmpl, nil)
	template := filepath.Join(l.dir, "zones", "template")
	if err := os.WriteFile(template, tmpl.Bytes(), 0o600); err != nil {
		return fmt.Errorf("bindtest: zone template: %w", err)
	}
	var b bytes.Buffer
	for _, z := range l.zones() {
		var err error
		if rrs := l.records[z]; len(rrs) > 0 {
			b.Reset()
			writeZone(&b, rrs)
			err = os.WriteFile(l.zoneFile(z), b.Bytes(), 0o600)
		} else {
			err = os.Link(template, l.zoneFile(z))
		}
		if err != nil {
			return fmt.Errorf("bindtest: zone %s: %w", z, err)
		}
	}
	return nil
}

// keyStatement is a key in tsig-keygen's format.
func keyStatement(name, algorithm, secret string) []byte {
	return fmt.Appendf(nil, "key \"%s\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};\n", name, algorithm, secret)
}

// writeZone writes a minimal zone file, the same for every zone as its
// names are relative to the zone's name (named's $ORIGIN): SOA, NS
// ns.<zone>, ns.<zone> A 127.0.0.1, then the extra records.
func writeZone(w io.Writer, records []string) {
	io.WriteString(w, "$TTL 300\n"+
		"@ IN SOA ns hostmaster 1 3600 600 86400 300\n"+
		"@ IN NS ns\n"+
		"ns IN A 127.0.0.1\n")
	for _, rr := range records {
		fmt.Fprintln(w, rr)
	}
}

// writeConf writes named.conf for port, and rndc.conf for ctlPort when
// the control channel is on.
func (l *layout) writeConf(port, ctlPort int) error {
	var b bytes.Buffer
	controls := "controls { };\n"
	if l.rndc {
		key := keyStatement(rndcKeyName, "hmac-sha256", l.rndcKey)
		b.Write(key)
		controls = fmt.Sprintf("controls {\n\tinet 127.0.0.1 port %d allow { 127.0.0.1; } keys { %q; };\n};\n", ctlPort, rndcKeyName)
		rc := fmt.Appendf(key, "options {\n\tdefault-key %q;\n\tdefault-server 127.0.0.1;\n\tdefault-port %d;\n};\n", rndcKeyName, ctlPort)
		if err := os.WriteFile(l.rndcConfFile(), rc, 0o600); err != nil {
			return fmt.Errorf("bindtest: %w", err)
		}
	}
	for _, k := range l.keys {
		fmt.Fprintf(&b, "include %q;\n", keyFile(l.dir, k))
	}
	fmt.Fprintf(&b, `options {
	directory %q;
	pid-file %q;
	session-keyfile %q;
	managed-keys-directory %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
	allow-query { any; };
	tcp-listen-queue 256;
	tcp-clients 1000;
	transfers-out 256;
%s};
%s`, l.dir, filepath.Join(l.dir, "named.pid"), filepath.Join(l.dir, "session.key"), l.dir, port, extraOptions(l.options), controls)
	for _, z := range l.dynamic {
		fmt.Fprintf(&b, "zone %q {\n\ttype primary;\n\tfile %q;\n\tupdate-policy {\n", z, l.zoneFile(z))
		// A template without {key} (a grant for one named key) gives the
		// same rule for every key: write it once.
		var rules []string
		for _, k := range l.keys {
			if r := strings.NewReplacer("{key}", k, "{zone}", z).Replace(l.policy); !slices.Contains(rules, r) {
				rules = append(rules, r)
				fmt.Fprintf(&b, "\t\t%s\n", r)
			}
		}
		b.WriteString("\t};\n};\n")
	}
	for _, z := range append(slices.Clone(l.static), l.sentinel) {
		fmt.Fprintf(&b, "zone %q {\n\ttype primary;\n\tfile %q;\n};\n", z, l.zoneFile(z))
	}
	for _, c := range l.conf {
		b.WriteString(c + "\n")
	}
	if err := os.WriteFile(l.confFile(), b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("bindtest: %w", err)
	}
	return nil
}

// extraOptions formats Options.Options for the options block.
func extraOptions(opts []string) string {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString("\t" + o + "\n")
	}
	return b.String()
}
