package config

import (
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// audit decodes the audit block; absent, every setting has its default.
func (l *loader) audit(f field) Audit {
	a := Audit{
		Timeout:    DefaultAuditTimeout,
		Probe:      DefaultProbe,
		StaleAfter: DefaultStaleAfter,
		StaleRuns:  DefaultStaleRuns,
		MaxDeletes: DefaultMaxDeletes,
		StateFile:  DefaultStateFile,
	}
	m := l.mapping(f, "resolver", "timeout", "probe", "stale_after", "stale_runs", "max_deletes", "state_file", "severity")
	if m == nil {
		return a
	}
	a.Severity = l.severity(m.get("severity"))
	if rf := m.get("resolver"); !rf.absent() {
		if s, ok := l.scalar(rf); ok && s != "" {
			r, err := parseServer(s)
			if err != nil {
				l.probs.add(rf.path, "%v", err)
			}
			a.Resolver = r
		}
	}
	a.Timeout = l.duration(m.get("timeout"), DefaultAuditTimeout)
	a.StaleAfter = l.duration(m.get("stale_after"), DefaultStaleAfter)
	if pf := m.get("probe"); !pf.absent() {
		if s, ok := l.scalar(pf); ok {
			switch p := strings.ToLower(s); p {
			case "kms", "tcp", "none":
				a.Probe = p
			default:
				l.probs.add(pf.path, "%q is not one of kms (a DCE/RPC bind to the KMS interface), tcp (connect only), none", s)
			}
		}
	}
	if rf := m.get("stale_runs"); !rf.absent() {
		if s, ok := l.scalar(rf); ok {
			n, msg := integer(s, 1, 1_000_000)
			if msg != "" {
				l.probs.add(rf.path, "%s", msg)
			}
			a.StaleRuns = int(n)
		}
	}
	if df := m.get("max_deletes"); !df.absent() {
		if s, ok := l.scalar(df); ok {
			n, msg := integer(s, 1, 1_000_000)
			if msg != "" {
				l.probs.add(df.path, "%s (prune: none never deletes)", msg)
			}
			a.MaxDeletes = int(n)
		}
	}
	if sf := m.get("state_file"); !sf.absent() {
		if s, ok := l.scalar(sf); ok && s != "" {
			a.StateFile, _ = l.path(sf, s)
		}
	}
	return a
}

// duration decodes a positive duration, def when absent.
func (l *loader) duration(f field, def time.Duration) time.Duration {
	s, ok := l.scalar(f)
	if !ok || s == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		l.probs.add(f.path, "%q is not a duration (like 3s, 1500ms, 72h)", s)
		return def
	case d <= 0:
		l.probs.add(f.path, "%s is not positive", s)
		return def
	}
	return d
}

// auditServers decodes a zone's audit_servers: host:port entries.
func (l *loader) auditServers(f field) ([]string, bool) {
	items, ok := l.list(f, "servers (host:port)")
	if ok && !f.absent() && len(items) == 0 {
		l.probs.add(f.path, "an empty list: leave audit_servers out to ask the zone's NS servers")
		return nil, false
	}
	var out []string
	for _, it := range items {
		s, present := l.scalar(it)
		if !present || s == "" {
			if present || it.absent() {
				l.probs.add(it.path, "empty: want a server (host or address, port 53 by default)")
			}
			ok = false
			continue
		}
		server, err := parseServer(s)
		if err != nil {
			l.probs.add(it.path, "%v", err)
			ok = false
			continue
		}
		if contains(out, server) {
			l.probs.add(it.path, "%q is listed twice", s)
			ok = false
			continue
		}
		out = append(out, server)
	}
	return out, ok
}

// namedConf decodes the named_conf block: the grants that let KMS hosts
// publish themselves. hosts are the valid hosts (for self_publish: tsig,
// each needs its key).
func (l *loader) namedConf(f field, hosts []Host) NamedConf {
	var n NamedConf
	m := l.mapping(f, "self_publish", "realm", "limit_records", "tkey_keytab")
	if m == nil {
		return n
	}
	if kf := m.get("tkey_keytab"); !kf.absent() {
		if s, ok := l.scalar(kf); ok && s != "" {
			if !filepath.IsAbs(s) {
				l.probs.add(kf.path, "%q: the path named reads, so absolute (like /etc/bind/dns.keytab)", s)
			} else {
				n.TKEYKeytab, _ = l.path(kf, s)
			}
		}
	}
	sf := m.get("self_publish")
	if s, ok := l.scalar(sf); ok {
		switch p := strings.ToLower(s); p {
		case "", "none":
		case "tsig":
			n.SelfPublish = p
			keyed := false
			for _, h := range hosts {
				keyed = keyed || h.Key != ""
			}
			if !keyed && len(hosts) > 0 {
				l.probs.add(sf.path, "tsig: no host has its own key (hosts[].key): nothing to grant")
			}
		case "kerberos":
			n.SelfPublish = p
		default:
			l.probs.add(sf.path, "%q is not one of none, tsig (each host's own key), kerberos", s)
		}
	}
	rf := m.get("realm")
	if s, ok := l.scalar(rf); ok && s != "" {
		if !validRealm(s) {
			l.probs.add(rf.path, "%q is not a Kerberos realm (like CORP.EXAMPLE.COM)", s)
		}
		n.Realm = strings.ToUpper(s)
	}
	if n.SelfPublish == "kerberos" && n.Realm == "" {
		l.probs.add(rf.path, "missing: self_publish kerberos needs the realm of the KMS hosts' machine accounts")
	}
	if n.SelfPublish != "kerberos" && n.Realm != "" {
		l.probs.add(rf.path, "only self_publish kerberos uses a realm")
	}
	lf := m.get("limit_records")
	if s, ok := l.scalar(lf); ok {
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			n.LimitRecords = true
		case "false", "no", "off":
		default:
			l.probs.add(lf.path, "%q is not true or false", s)
		}
	}
	return n
}

// validRealm reports whether s is a realm name that is safe in named.conf:
// DNS-like labels of letters, digits and hyphens.
func validRealm(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// severity decodes audit.severity: finding kind → ok, warning, critical or
// unknown. The kinds are the auditor's; the CLI checks them.
func (l *loader) severity(f field) map[string]string {
	if f.absent() {
		return nil
	}
	n := deref(f.node)
	if n.Kind != yaml.MappingNode {
		l.probs.add(f.path, "want a mapping of finding kinds to levels (ok, warning, critical, unknown); got %s", describe(n))
		return nil
	}
	out := map[string]string{}
	for _, p := range l.pairs(f.path, n, 0) {
		kind := p.key.Value
		lf := field{path: join(f.path, kind), node: p.val}
		v, ok := l.scalar(lf)
		if !ok {
			if lf.absent() {
				l.probs.add(lf.path, "empty: want ok, warning, critical or unknown")
			}
			continue
		}
		switch lvl := strings.ToLower(v); lvl {
		case "ok", "warning", "critical", "unknown":
			if _, dup := out[kind]; dup {
				l.probs.add(lf.path, "repeated (line %d)", p.key.Line)
			}
			out[kind] = lvl
		default:
			l.probs.add(lf.path, "%q is not one of ok, warning, critical, unknown", v)
		}
	}
	return out
}
