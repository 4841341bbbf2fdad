package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/srvctl/srvctl/zones"
)

// LoadOptions says where Load finds the config and what overrides it. The
// zero value loads $SRVCTL_CONFIG or DefaultPath with the process's
// environment.
type LoadOptions struct {
	// Path is the config file. Empty: $SRVCTL_CONFIG, else DefaultPath.
	Path string
	// Flags, if not nil, may define "log-level" and "log-format"; those of
	// them that were set on the command line override the file and the
	// environment.
	Flags *pflag.FlagSet
	// Env is the environment as KEY=VALUE strings; nil means os.Environ().
	// SRVCTL_CONFIG names the config file, and SRVCTL_SERVICE, SRVCTL_TTL,
	// SRVCTL_PRUNE, SRVCTL_TIMEOUT, SRVCTL_CONCURRENCY, SRVCTL_LOG_LEVEL and
	// SRVCTL_LOG_FORMAT override the file's settings of the same name.
	// Empty values are ignored.
	Env []string
	// NoSecrets makes Load check everything but not open the secret files,
	// e.g. to check the examples of the documentation. Keys then have no
	// Secret, and the algorithm is the configured one or the default.
	NoSecrets bool
	// ADSecrets, with NoSecrets, still reads the ad section's password:
	// srvctl audit needs it to bind to the directory, not the TSIG keys.
	ADSecrets bool
}

// Load reads the config file named by opts, applies the environment and
// flag overrides and defaults, checks everything, and reads the TSIG secrets.
//
// A config with problems gives an *Error listing all of them, each naming
// its key (or environment variable, or flag). A missing file gives an error
// that wraps fs.ErrNotExist and names the path. Load never logs.
func Load(opts LoadOptions) (*Config, error) {
	env := environ(opts.Env)
	path, from := opts.Path, ""
	if path == "" {
		path, from = env["SRVCTL_CONFIG"], " (from SRVCTL_CONFIG)"
	}
	if path == "" {
		path, from = DefaultPath, " (the default; name another with SRVCTL_CONFIG or -c/--config)"
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config %s%s: no such file: %w", path, from, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	l := &loader{dir: dir, env: env, flags: opts.Flags, noSecrets: opts.NoSecrets, adSecrets: !opts.NoSecrets || opts.ADSecrets, noSecret: map[string]bool{}}
	cfg, err := l.load(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(l.probs) > 0 {
		return nil, &Error{Path: path, Problems: l.probs}
	}
	cfg.Path = path
	return cfg, nil
}

// environ turns KEY=VALUE strings into a map; a later KEY wins.
func environ(env []string) map[string]string {
	if env == nil {
		env = os.Environ()
	}
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// loader holds the state of one Load: where relative paths start, the
// overrides, and the problems found so far.
type loader struct {
	dir       string // absolute directory of the config file
	env       map[string]string
	flags     *pflag.FlagSet
	noSecrets bool
	adSecrets bool              // read the ad section's password and check its keytab
	noSecret  map[string]bool   // keys written without secret_file
	hostKeys  []keyRef          // hosts[].key as written
	fragments map[string]string // bindfile fragment path → the key that names it
	probs     problems
}

// keyRef is a reference to a key by name, at path.
type keyRef struct{ path, name string }

// load decodes and checks the YAML document data. Problems go to l.probs,
// and the config returned is only valid if there are none; the error is for
// failures that are not the config's fault.
func (l *loader) load(data []byte) (*Config, error) {
	cfg := &Config{}
	root := l.parse(data)
	if root == nil {
		return cfg, nil // reported
	}
	top := l.mapping(field{node: root}, "service", "ttl", "prune", "timeout", "concurrency",
		"log_level", "log_format", "schedule", "jitter", "listen", "hosts", "keys", "zones", "audit", "named_conf", "ad")
	if top == nil {
		return cfg, nil // reported
	}
	if err := l.settings(cfg, top); err != nil {
		return nil, err
	}
	var hostNames, keyNames map[string]bool
	cfg.Hosts, hostNames = l.hosts(top.get("hosts"))
	cfg.Keys, keyNames = l.keys(top.get("keys"))
	for _, ref := range l.hostKeys {
		if !keyNames[zones.Canonical(ref.name)] {
			l.probs.add(ref.path, "%q is not one of keys", ref.name)
		}
	}
	cfg.Zones = l.zones(top.get("zones"), hostNames, keyNames)
	cfg.Audit = l.audit(top.get("audit"))
	cfg.NamedConf = l.namedConf(top.get("named_conf"), cfg.Hosts)
	cfg.AD = l.ad(top.get("ad"))
	return cfg, nil
}

// parse parses data as one YAML document and returns its root node, or nil
// after recording why there is none.
func (l *loader) parse(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.probs.add("", "the file is empty")
		} else {
			l.probs.add("", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		l.probs.add("", "line %d: a second YAML document (the config is one document)", line)
	case !errors.Is(err, io.EOF):
		l.probs.add("", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) != 1 || isNull(doc.Content[0]) {
		l.probs.add("", "the file is empty")
		return nil
	}
	return doc.Content[0]
}

// settings sets the scalar settings of cfg. Viper merges them: the file's
// values, then the SRVCTL_* environment, then the flags that were set. Each
// value is checked whichever layer it came from, and a problem names that
// layer's spelling of the key: "ttl", "SRVCTL_TTL" or "--log-level".
func (l *loader) settings(cfg *Config, top *fields) error {
	keys := []string{"service", "ttl", "prune", "timeout", "concurrency", "log_level", "log_format", "schedule", "jitter", "listen"}
	flagNames := map[string]string{"log_level": "log-level", "log_format": "log-format"}

	file := make(map[string]any)
	env := make(map[string]any)
	source := make(map[string]string)
	for _, k := range keys {
		source[k] = k
		if s, ok := l.scalar(top.get(k)); ok && s != "" {
			file[k] = s
		}
		if name := "SRVCTL_" + strings.ToUpper(k); l.env[name] != "" {
			env[k] = l.env[name]
			source[k] = name
		}
	}
	v := viper.New()
	if err := v.MergeConfigMap(file); err != nil {
		return fmt.Errorf("merging the file's settings: %w", err)
	}
	if err := v.MergeConfigMap(env); err != nil {
		return fmt.Errorf("merging the environment: %w", err)
	}
	if l.flags != nil {
		for _, k := range keys {
			f := l.flags.Lookup(flagNames[k])
			if flagNames[k] == "" || f == nil || !f.Changed {
				continue
			}
			if err := v.BindPFlag(k, f); err != nil {
				return fmt.Errorf("flag --%s: %w", f.Name, err)
			}
			source[k] = "--" + f.Name
		}
	}

	// Each setting: its value ("" for the default) and where it came from.
	get := func(k string) (string, string) { return strings.TrimSpace(v.GetString(k)), source[k] }

	s, src := get("service")
	cfg.Service = zones.DefaultService
	if s != "" {
		s = strings.TrimSuffix(s, ".")
		if err := zones.CheckService(s); err != nil {
			l.probs.add(src, "%v", err)
		}
		cfg.Service = strings.ToLower(s)
	}

	s, src = get("ttl")
	cfg.TTL = DefaultTTL
	if s != "" {
		n, msg := integer(s, 0, MaxTTL)
		if msg != "" {
			l.probs.add(src, "%s", msg)
		}
		cfg.TTL = uint32(n)
	}

	s, src = get("prune")
	cfg.Prune = DefaultPrune
	switch p := zones.Prune(strings.ToLower(s)); p {
	case "":
	case zones.PruneNone, zones.PruneStale, zones.PruneAll:
		cfg.Prune = p
	default:
		l.probs.add(src, "%q is not one of none, stale, all", s)
	}

	s, src = get("timeout")
	cfg.Timeout = DefaultTimeout
	if s != "" {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			l.probs.add(src, "%q is not a duration (like 5s, 1500ms or 1m30s)", s)
		case d <= 0:
			l.probs.add(src, "%s is not positive", s)
		default:
			cfg.Timeout = d
		}
	}

	s, src = get("concurrency")
	cfg.Concurrency = DefaultConcurrency
	if s != "" {
		n, msg := integer(s, 1, MaxConcurrency)
		if msg != "" {
			l.probs.add(src, "%s", msg)
		}
		cfg.Concurrency = int(n)
	}

	s, src = get("log_level")
	cfg.LogLevel = DefaultLogLevel
	switch lvl := strings.ToLower(s); lvl {
	case "":
	case "debug", "info", "warn", "error":
		cfg.LogLevel = lvl
	default:
		l.probs.add(src, "%q is not one of debug, info, warn, error", s)
	}

	s, src = get("log_format")
	switch f := strings.ToLower(s); f {
	case "", "console", "json":
		cfg.LogFormat = f
	default:
		l.probs.add(src, "%q is not one of console, json", s)
	}

	s, src = get("schedule")
	cfg.Schedule = cmp.Or(s, DefaultSchedule)
	if _, err := cron.ParseStandard(cfg.Schedule); err != nil {
		l.probs.add(src, "%q is not a schedule (5 cron fields like \"*/15 * * * *\", @hourly, @daily or @every 15m): %v", s, err)
	}

	s, src = get("jitter")
	if s != "" {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			l.probs.add(src, "%q is not a duration (like 30s or 5m)", s)
		case d < 0:
			l.probs.add(src, "%s is negative", s)
		default:
			cfg.Jitter = d
		}
	}

	s, src = get("listen")
	if s != "" {
		if err := checkListen(s); err != nil {
			l.probs.add(src, "%q: %v", s, err)
		} else {
			cfg.Listen = s
		}
	}
	return nil
}

// checkListen checks a host:port to serve HTTP on.
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port, like 127.0.0.1:9553 (%v)", err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("host %q is not an IP address or localhost", host)
	}
	return nil
}

// hosts decodes the hosts list. It returns the valid hosts and the
// canonical names of all hosts written, valid or not, so that references to
// a host with a bad entry are not reported twice.
func (l *loader) hosts(f field) ([]Host, map[string]bool) {
	items, ok := l.list(f, "hosts")
	names := make(map[string]bool)
	if ok && len(items) == 0 {
		l.probs.add(f.path, "no hosts: at least one KMS host is required")
	}
	var out []Host
	first := make(map[string]string) // canonical name → path of its first entry
	for _, it := range items {
		m := l.mapping(it, "name", "port", "priority", "weight", "key", "account")
		if m == nil {
			continue
		}
		valid := true
		h := Host{Port: DefaultPort}
		kf := m.get("key")
		if k, present := l.scalar(kf); present && k != "" {
			h.Key = zones.Canonical(k)
			l.hostKeys = append(l.hostKeys, keyRef{path: kf.path, name: k}) // checked once keys are read
		} else if !present && !kf.absent() {
			valid = false // not a single value: reported
		}
		nf := m.get("name")
		name, present := l.scalar(nf)
		switch {
		case !present:
			if nf.absent() {
				l.probs.add(nf.path, "missing: every host needs a name (its FQDN)")
			}
			valid = false
		default:
			if err := checkHostname(name); err != nil {
				l.probs.add(nf.path, "%v", err)
				valid = false
			}
			h.Name = zones.Canonical(name)
			names[h.Name] = true
			if p, dup := first[h.Name]; dup {
				l.probs.add(nf.path, "%q duplicates %s", name, p)
				valid = false
			} else if valid {
				first[h.Name] = it.path
			}
		}
		h.Account = l.account(m.get("account"))
		var okPort, okPrio, okWeight bool
		h.Port, okPort = l.uint16(m.get("port"), 1, DefaultPort)
		h.Priority, okPrio = l.uint16(m.get("priority"), 0, 0)
		h.Weight, okWeight = l.uint16(m.get("weight"), 0, 0)
		if valid && okPort && okPrio && okWeight {
			out = append(out, h)
		}
	}
	return out, names
}

// keys decodes the keys list and reads each key's secret file. Like hosts,
// it returns the canonical names of all keys written.
func (l *loader) keys(f field) ([]Key, map[string]bool) {
	items, _ := l.list(f, "keys")
	names := make(map[string]bool)
	first := make(map[string]string)
	var out []Key
	for _, it := range items {
		m := l.mapping(it, "name", "algorithm", "secret_file")
		if m == nil {
			continue
		}
		valid := true
		var k Key
		nf := m.get("name")
		name, present := l.scalar(nf)
		switch {
		case !present:
			if nf.absent() {
				l.probs.add(nf.path, "missing: every key needs the name the DNS server knows it by")
			}
			valid = false
		default:
			if err := checkTSIGName(name); err != nil {
				l.probs.add(nf.path, "%q: %v", name, err)
				valid = false
			}
			k.Name = zones.Canonical(name)
			names[k.Name] = true
			if p, dup := first[k.Name]; dup {
				l.probs.add(nf.path, "%q duplicates %s", name, p)
				valid = false
			} else if valid {
				first[k.Name] = it.path
			}
		}

		af := m.get("algorithm")
		alg, present := l.scalar(af)
		algSet := present && alg != ""
		k.Algorithm = DefaultAlgorithm
		switch {
		case algSet:
			a, ok := parseAlgorithm(alg)
			if !ok {
				l.probs.add(af.path, "%q is not a TSIG algorithm (%s)", alg, algorithmList())
				valid = false
			}
			k.Algorithm = a
		case !present && !af.absent():
			valid = false // not a single value: reported
		}

		sf := m.get("secret_file")
		file, present := l.scalar(sf)
		switch {
		case !present:
			if sf.absent() {
				l.noSecret[k.Name] = true // only a host's own key may do without: see zones and hosts
			} else {
				valid = false
			}
		case file == "":
			l.probs.add(sf.path, "empty: every key needs the file that holds its secret")
			valid = false
		default:
			written := file
			if isCredentialName(file) {
				k.Credential = file
				if d := l.env["CREDENTIALS_DIRECTORY"]; d != "" {
					file = filepath.Join(d, file) // systemd's LoadCredential=
				}
			}
			if !filepath.IsAbs(file) {
				file = filepath.Join(l.dir, file)
			}
			k.SecretFile = filepath.Clean(file)
			if msg := checkPath(k.SecretFile); msg != "" {
				l.probs.add(sf.path, "%s", msg)
				valid = false
				break
			}
			if !l.noSecrets && !l.readSecret(&k, written, sf.path, af.path, algSet, valid) {
				valid = false
			}
		}
		if valid {
			out = append(out, k)
		}
	}
	return out, names
}

// isCredentialName reports whether a secret_file is a bare file name, which
// systemd can hand over with LoadCredential= under that name.
func isCredentialName(file string) bool {
	return file != "" && file != "." && file != ".." && !strings.ContainsRune(file, '/')
}

// readSecret reads k's secret file (written is secret_file as written) into
// k. The file's key name must be k's,
// and its algorithm must be k's if the config sets one (algSet); if not, the
// file's algorithm replaces the default. checkName is false when k's own
// name or algorithm is bad, which makes comparing them pointless.
func (l *loader) readSecret(k *Key, written, filePath, algPath string, algSet, checkName bool) bool {
	data, msg := readSecretFile(k.SecretFile, written, l.env["CREDENTIALS_DIRECTORY"])
	if msg != "" {
		l.probs.add(filePath, "%s", msg)
		return false
	}
	name, alg, secret, err := ParseSecret(data)
	if err != nil {
		l.probs.add(filePath, "%s: not a tsig-keygen key or a base64 secret: %v", k.SecretFile, err)
		return false
	}
	k.Keygen = name != ""
	ok := true
	if checkName && name != "" && name != k.Name {
		l.probs.add(filePath, "the key in %s is named %q, not %q", k.SecretFile, name, k.Name)
		ok = false
	}
	if alg != "" {
		switch {
		case !algSet:
			k.Algorithm = alg
		case checkName && alg != k.Algorithm:
			l.probs.add(algPath, "%s, but the key in %s is %s", k.Algorithm, k.SecretFile, alg)
			ok = false
		}
	}
	k.Secret = Secret(secret)
	return ok
}

// maxSecretFile is the largest secret file read: a key statement is a few
// hundred bytes.
const maxSecretFile = 64 << 10

// readSecretFile reads a secret file after checking that only its owner can
// read it. It returns the problem, if any, as a message. written is the
// path as the config spells it: if it names no file and looks like a
// secret, the message does not repeat it.
//
// A file in $CREDENTIALS_DIRECTORY (credsDir) is systemd's private copy:
// newer systemd grants the service's user read access with an ACL, which
// makes the mode show group bits, so the mode is not checked there.
func readSecretFile(path, written, credsDir string) ([]byte, string) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && looksLikeSecret(written) {
			return nil, "looks like a secret, not a file name: put the secret in a file (mode 0600) and name the file here"
		}
		return nil, err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err.Error()
	}
	mode := st.Mode()
	switch {
	case mode.IsDir():
		return nil, fmt.Sprintf("%s is a directory, not a key file", path)
	case !mode.IsRegular():
		return nil, fmt.Sprintf("%s is not a regular file", path)
	case credsDir != "" && filepath.Dir(path) == filepath.Clean(credsDir):
	case mode.Perm()&0o044 != 0:
		return nil, fmt.Sprintf("%s is readable by group or others (mode %04o): chmod 600 it", path, mode.Perm())
	case mode.Perm()&0o077 != 0:
		return nil, fmt.Sprintf("%s is open to group or others (mode %04o): chmod 600 it", path, mode.Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err.Error()
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Sprintf("%s is larger than %d KiB: not a key file", path, maxSecretFile>>10)
	}
	return data, ""
}

// looksLikeSecret reports whether a secret_file value that names no file
// is rather a base64 secret pasted in its place (at least 16 bytes).
func looksLikeSecret(s string) bool {
	return len(s) >= 24 && checkBase64(s) == nil
}
