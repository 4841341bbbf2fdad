package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/srvctl/srvctl/zones"
)

// This file walks the YAML node tree, which, unlike viper's merged maps,
// keeps keys as written and their line numbers: every problem can name its
// key path, and unknown keys can be found at any depth.

// field is a value in the YAML tree with its key path; node is nil when the
// key is not there.
type field struct {
	path string
	node *yaml.Node
}

// absent reports whether the key is missing or set to null.
func (f field) absent() bool { return isNull(deref(f.node)) }

// fields are the values of a mapping, by key.
type fields struct {
	path   string
	values map[string]*yaml.Node
}

// get returns the field for key, absent or not.
func (fs fields) get(key string) field {
	return field{path: join(fs.path, key), node: fs.values[key]}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// deref follows aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a value for a problem message: a scalar by its text, other
// values by their kind.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "something else"
	}
}

// mapping checks that f is a mapping whose keys are all known, reporting
// unknown and repeated keys with their lines, and returns its fields. It
// returns nil (after reporting) if f is not a mapping; an absent f is an
// empty mapping.
func (l *loader) mapping(f field, known ...string) *fields {
	n := deref(f.node)
	out := &fields{path: f.path, values: make(map[string]*yaml.Node)}
	if isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		l.probs.add(f.path, "want a mapping with the keys %s; got %s", strings.Join(known, ", "), describe(n))
		return nil
	}
	line := make(map[string]int)
	for _, p := range l.pairs(f.path, n, 0) {
		k := p.key
		if k.Kind != yaml.ScalarNode {
			l.probs.add(f.path, "line %d: a key that is %s, not a name", k.Line, describe(k))
			continue
		}
		if !contains(known, k.Value) {
			msg := fmt.Sprintf("unknown key (line %d)", k.Line)
			if s := suggest(k.Value, known); s != "" {
				msg += "; did you mean " + s + "?"
			}
			l.probs.add(join(f.path, k.Value), "%s", msg)
			continue
		}
		if first, dup := line[k.Value]; dup {
			l.probs.add(join(f.path, k.Value), "repeated (line %d; first on line %d)", k.Line, first)
			continue
		}
		line[k.Value] = k.Line
		out.values[k.Value] = p.val
	}
	return out
}

type pair struct{ key, val *yaml.Node }

// pairs returns the key/value pairs of mapping n with YAML merge keys
// ("<<: *defaults") expanded: keys written in n win over merged ones, and
// earlier merged mappings over later ones.
func (l *loader) pairs(path string, n *yaml.Node, depth int) []pair {
	if depth > 10 {
		l.probs.add(path, "line %d: merge keys (<<) nested too deeply", n.Line)
		return nil
	}
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value != "<<" || k.ShortTag() != "!!merge" {
			own = append(own, pair{k, v})
			continue
		}
		switch v = deref(v); v.Kind {
		case yaml.MappingNode:
			merged = append(merged, l.pairs(path, v, depth+1)...)
		case yaml.SequenceNode:
			for _, m := range v.Content {
				if m = deref(m); m.Kind == yaml.MappingNode {
					merged = append(merged, l.pairs(path, m, depth+1)...)
				} else {
					l.probs.add(path, "line %d: << merges mappings, not %s", m.Line, describe(m))
				}
			}
		default:
			l.probs.add(path, "line %d: << merges mappings, not %s", v.Line, describe(v))
		}
	}
	if len(merged) == 0 {
		return own
	}
	seen := make(map[string]bool, len(own))
	for _, p := range own {
		seen[p.key.Value] = true
	}
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			own = append(own, p)
		}
	}
	return own
}

// list returns the items of the sequence at f, each with its path
// ("hosts[0]"). ok is false if f is there but not a list (reported); an
// absent f is an empty list.
func (l *loader) list(f field, what string) (items []field, ok bool) {
	n := deref(f.node)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		l.probs.add(f.path, "want a list of %s; got %s", what, describe(n))
		return nil, false
	}
	for i, c := range n.Content {
		items = append(items, field{path: fmt.Sprintf("%s[%d]", f.path, i), node: c})
	}
	return items, true
}

// scalar returns the text of the single value at f. ok is false when f is
// absent, or when it is a list or mapping, which is reported.
func (l *loader) scalar(f field) (s string, ok bool) {
	n := deref(f.node)
	if isNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		l.probs.add(f.path, "want a single value; got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// uint16 returns the integer at f, which must be in lo..65535; def if f is
// absent. ok is false after a problem.
func (l *loader) uint16(f field, lo, def uint16) (v uint16, ok bool) {
	s, present := l.scalar(f)
	if !present {
		return def, f.absent()
	}
	n, msg := integer(s, int64(lo), 65535)
	if msg != "" {
		l.probs.add(f.path, "%s", msg)
		return def, false
	}
	return uint16(n), true
}

// integer parses s as a decimal integer in lo..hi; msg says why not.
func integer(s string, lo, hi int64) (n int64, msg string) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Sprintf("%s is out of range %d-%d", strings.TrimSpace(s), lo, hi)
	case err != nil:
		return 0, fmt.Sprintf("%q is not a number", s)
	case n < lo || n > hi:
		return 0, fmt.Sprintf("%d is out of range %d-%d", n, lo, hi)
	}
	return n, ""
}

// zones decodes the zones list. hosts and keys are the canonical names of
// the hosts and keys written, which zones may refer to.
func (l *loader) zones(f field, hosts, keys map[string]bool) []Zone {
	items, ok := l.list(f, "zones")
	if ok && len(items) == 0 {
		l.probs.add(f.path, "no zones: at least one zone to publish in is required")
	}
	var out []Zone
	first := make(map[string]string)
	for _, it := range items {
		m := l.mapping(it, "name", "backend", "server", "key", "auth", "kerberos", "hosts", "overrides",
			"file", "zone_file", "check_command", "reload_command", "audit_servers")
		if m == nil {
			continue
		}
		valid := true
		bad := func() { valid = false }
		var z Zone

		nf := m.get("name")
		if name, present := l.scalar(nf); present {
			if err := zones.CheckZoneName(name); err != nil {
				l.probs.add(nf.path, "%v", err)
				bad()
			}
			z.Name = zones.Canonical(name)
			if p, dup := first[z.Name]; dup {
				l.probs.add(nf.path, "%q duplicates %s", name, p)
				bad()
			} else if valid {
				first[z.Name] = it.path
			}
		} else {
			if nf.absent() {
				l.probs.add(nf.path, "missing: every zone needs a name")
			}
			bad()
		}

		bf := m.get("backend")
		z.Backend = DefaultBackend
		switch b, present := l.scalar(bf); {
		case present && b != "":
			switch b {
			case DefaultBackend, BindfileBackend:
			default:
				l.probs.add(bf.path, "%q is not a backend (rfc2136, bindfile)", b)
				bad()
			}
			z.Backend = b
		case !present && !bf.absent():
			bad() // not a single value: reported
		}
		rfc2136 := z.Backend == DefaultBackend
		bindfile := z.Backend == BindfileBackend

		sf := m.get("server")
		if s, present := l.scalar(sf); present && s != "" && bindfile {
			l.probs.add(sf.path, "backend bindfile writes a file, it has no server (the zone file's named is reloaded with reload_command)")
			bad()
		} else if present && s != "" {
			server, err := parseServer(s)
			if err != nil {
				l.probs.add(sf.path, "%v", err)
				bad()
			}
			z.Server = server
		} else if present || sf.absent() {
			if rfc2136 {
				l.probs.add(sf.path, "missing: backend rfc2136 needs the zone's primary server (host or address, port 53 by default)")
				bad()
			}
		} else {
			bad() // not a single value: reported
		}

		if !l.kerberos(&z, m, rfc2136) {
			bad()
		}
		gss := z.Auth == AuthGSSTSIG
		kf := m.get("key")
		if k, present := l.scalar(kf); present && k != "" && gss {
			l.probs.add(kf.path, "auth gss-tsig signs with Kerberos, not a TSIG key: drop key")
			bad()
		} else if present && k != "" {
			z.Key = zones.Canonical(k)
			switch {
			case bindfile:
				l.probs.add(kf.path, "only backend rfc2136 signs updates with a key")
				bad()
			case !keys[z.Key]:
				l.probs.add(kf.path, "%q is not one of keys", k)
				bad()
			case l.noSecret[z.Key]:
				l.probs.add(kf.path, "key %q has no secret_file: srvctl signs this zone's updates with it", k)
				bad()
			}
		} else if present || kf.absent() {
			if rfc2136 && !gss {
				l.probs.add(kf.path, "missing: backend rfc2136 needs a TSIG key (one of keys), or auth: gss-tsig")
				bad()
			}
		} else {
			bad() // not a single value: reported
		}

		if !l.bindfile(&z, m, !bindfile) {
			bad()
		}
		var servers bool
		if z.AuditServers, servers = l.auditServers(m.get("audit_servers")); !servers {
			bad()
		}

		var ok bool
		if z.Hosts, ok = l.zoneHosts(m.get("hosts"), hosts); !ok {
			bad()
		}
		if z.Overrides, ok = l.overrides(m.get("overrides"), hosts, z.Hosts, m.get("hosts").path); !ok {
			bad()
		}
		if valid {
			out = append(out, z)
		}
	}
	return out
}

// zoneHosts decodes a zone's host list: names of hosts, each once.
func (l *loader) zoneHosts(f field, hosts map[string]bool) ([]string, bool) {
	items, ok := l.list(f, "host names")
	if ok && !f.absent() && len(items) == 0 {
		l.probs.add(f.path, "an empty list: leave hosts out to publish all hosts")
		return nil, false
	}
	var out []string
	first := make(map[string]string)
	for _, it := range items {
		name, present := l.scalar(it)
		switch {
		case !present:
			if it.absent() {
				l.probs.add(it.path, "empty: want a host name")
			}
			ok = false
			continue
		case !hosts[zones.Canonical(name)]:
			l.probs.add(it.path, "%q is not one of hosts", name)
			ok = false
			continue
		}
		c := zones.Canonical(name)
		if p, dup := first[c]; dup {
			l.probs.add(it.path, "%q duplicates %s", name, p)
			ok = false
			continue
		}
		first[c] = it.path
		out = append(out, c)
	}
	return out, ok
}

// overrides decodes a zone's overrides. Each names one of hosts, and one of
// zoneHosts when the zone has its own list (at zoneHostsPath), at most once.
func (l *loader) overrides(f field, hosts map[string]bool, zoneHosts []string, zoneHostsPath string) ([]Override, bool) {
	items, ok := l.list(f, "overrides")
	var out []Override
	first := make(map[string]string)
	for _, it := range items {
		m := l.mapping(it, "host", "priority", "weight")
		if m == nil {
			ok = false
			continue
		}
		var o Override
		hf := m.get("host")
		name, present := l.scalar(hf)
		c := zones.Canonical(name)
		switch {
		case !present:
			if hf.absent() {
				l.probs.add(hf.path, "missing: an override names the host it changes")
			}
			ok = false
		case !hosts[c]:
			l.probs.add(hf.path, "%q is not one of hosts", name)
			ok = false
		case len(zoneHosts) > 0 && !contains(zoneHosts, c):
			l.probs.add(hf.path, "%q is not in %s", name, zoneHostsPath)
			ok = false
		case first[c] != "":
			l.probs.add(hf.path, "%q duplicates %s", name, first[c])
			ok = false
		default:
			first[c] = it.path
			o.Host = c
		}
		pf, wf := m.get("priority"), m.get("weight")
		if pf.absent() && wf.absent() {
			l.probs.add(it.path, "sets neither priority nor weight")
			ok = false
		}
		if !pf.absent() {
			v, good := l.uint16(pf, 0, 0)
			o.Priority, ok = &v, ok && good
		}
		if !wf.absent() {
			v, good := l.uint16(wf, 0, 0)
			o.Weight, ok = &v, ok && good
		}
		out = append(out, o)
	}
	return out, ok
}

// parseServer checks a zone's server, "host", "host:port", an IP address,
// or "[IPv6]:port", and returns it as host:port with the port defaulting to
// DefaultServerPort. Host names must be fully qualified.
func parseServer(s string) (string, error) {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if port == "" {
			return "", fmt.Errorf("%q: empty port", s)
		}
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if host == "" {
		return "", fmt.Errorf("%q: no host", s)
	}
	p := uint64(DefaultServerPort)
	if port != "" {
		var err error
		p, err = strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			return "", fmt.Errorf("%q: port %q is not a number in 1-65535", s, port)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return net.JoinHostPort(ip.String(), strconv.FormatUint(p, 10)), nil
	}
	if strings.Contains(s, "[") {
		return "", fmt.Errorf("%q: brackets are for IPv6 addresses", s)
	}
	if err := checkHostname(host); err != nil {
		return "", fmt.Errorf("%q is neither an IP address nor a host name: %w", host, err)
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), strconv.FormatUint(p, 10)), nil
}

// checkHostname is zones.CheckHostname, also refusing names whose last
// label is numeric: no top-level domain is (RFC 3696 section 2), so such a
// name is a mistyped IP address, which an SRV target must not be either
// (RFC 2782).
func checkHostname(name string) error {
	if err := zones.CheckHostname(name); err != nil {
		return err
	}
	n := strings.TrimSuffix(name, ".")
	last := n[strings.LastIndexByte(n, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return fmt.Errorf("%q: the last label is numeric", name)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known key closest to an unknown one, if it is close
// enough to be a typo (or differs only in case), else "".
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if strings.EqualFold(k, key) || len(key) >= 3 && strings.HasPrefix(k, strings.ToLower(key)) {
			return k
		}
		if d := distance(strings.ToLower(key), k); d < bestD && d < len(k) {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b (bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
