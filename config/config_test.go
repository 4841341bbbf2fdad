package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/srvctl/srvctl/zones"
)

// Secrets of the key files the tests write. They are made up, but valid
// base64 of 32 bytes like tsig-keygen's.
const (
	corpSecret   = "c3J2Y3RsLWNvcnAtdGVzdC1zZWNyZXQtMzItYnl0ZXM="
	otherSecret  = "b3RoZXItc2VjcmV0LW9mLTMyLWJ5dGVzLWZvci10ZXN0"
	sha512Secret = "c2hhNTEyLXNlY3JldC1mb3ItdGhlLWNvbmZpZy10ZXN0cy0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLQ=="
)

// keyFiles are the secret files every config test can name, relative to
// the config's directory, with their mode.
func keyFiles() map[string]struct {
	content string
	mode    fs.FileMode
} {
	type file = struct {
		content string
		mode    fs.FileMode
	}
	return map[string]file{
		"corp.key": {"key \"srvctl-corp\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + corpSecret + "\";\n};\n", 0o600},
		"bare.key": {corpSecret + "\n", 0o400},
		"sha512.key": {"# made with tsig-keygen -a hmac-sha512\nkey \"sha512-key\" {\n\talgorithm hmac-sha512;\n\tsecret \"" +
			sha512Secret + "\";\n};\n", 0o600},
		"other.key":   {"key \"other\" { algorithm hmac-sha256; secret \"" + otherSecret + "\"; };\n", 0o600},
		"open.key":    {"key \"srvctl-corp\" { algorithm hmac-sha256; secret \"" + corpSecret + "\"; };\n", 0o644},
		"groupw.key":  {corpSecret, 0o620},
		"garbage.key": {"this is not a key " + corpSecret + "\n", 0o600},
		"nosec.key":   {"key \"srvctl-corp\" { algorithm hmac-sha256; };\n", 0o600},
	}
}

// writeConfig writes the key files and a config file with body into a new
// directory, replacing {dir} in body with that directory, and returns the
// config's path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for name, f := range keyFiles() {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(f.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil { // not subject to the umask
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "srvctl.yaml")
	body = strings.ReplaceAll(body, "{dir}", dir)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problemList returns the problems of err as "key: msg" strings, failing
// the test if err is not an *Error.
func problemList(t *testing.T, err error) []string {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.String())
	}
	return out
}

// Valid parts to build configs from.
const (
	hostsOK = `hosts:
  - name: kms1.corp.example.com
  - name: kms2.corp.example.com
`
	keysOK = `keys:
  - name: srvctl-corp
    secret_file: corp.key
`
	zonesOK = `zones:
  - name: corp.example.com
    server: 192.0.2.53
    key: srvctl-corp
`
	allOK = hostsOK + keysOK + zonesOK
)

// designExample is the example of DESIGN.md ("The config file, as users
// write it"), with the key file in the test's directory.
const designExample = `
service: _vlmcs._tcp          # owner-name prefix; default _vlmcs._tcp
ttl: 3600                     # TTL of published records; default 3600
prune: none                   # which unwanted records apply deletes: none | stale | all
hosts:                        # the KMS hosts
  - name: kms1.corp.example.com   # FQDN, trailing dot optional
    port: 1688                    # default 1688
    priority: 0                   # default 0
    weight: 100                   # default 0
  - name: kms2.corp.example.com
    priority: 10
keys:                         # TSIG keys, referred to by name
  - name: srvctl-corp
    algorithm: hmac-sha256        # default hmac-sha256
    secret_file: {dir}/corp.key   # tsig-keygen output or a bare base64 secret; refused if group/world readable
zones:
  - name: corp.example.com
    backend: rfc2136              # default rfc2136
    server: ns1.corp.example.com:53   # the zone's primary; port defaults to 53
    key: srvctl-corp
  - name: branch.example.net
    server: 10.1.0.53
    key: srvctl-corp
    hosts: [kms2.corp.example.com]    # publish only these hosts here; default: all hosts
    overrides:                        # per-zone priority/weight, like DnsDomainPublishList "domain,priority,weight"
      - host: kms2.corp.example.com
        priority: 0
        weight: 50
  - name: lab.example.org
    backend: bindfile
    file: /etc/bind/fragments/lab.example.org.vlmcs   # fragment for $INCLUDE in a static zone
`

func u16(v uint16) *uint16 { return &v }

// defaultAudit is the audit block of a config that has none.
var defaultAudit = Audit{Timeout: 3 * time.Second, Probe: "kms", StaleAfter: 72 * time.Hour, StaleRuns: 3, MaxDeletes: 10, StateFile: "/var/lib/srvctl/state.json"}

func TestLoadDesignExample(t *testing.T) {
	path := writeConfig(t, designExample)
	dir := filepath.Dir(path)
	cfg, err := Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Path:        path,
		Service:     "_vlmcs._tcp",
		TTL:         3600,
		Prune:       zones.PruneNone,
		Timeout:     5 * time.Second,
		Concurrency: 16,
		LogLevel:    "info",
		LogFormat:   "",
		Hosts: []Host{
			{Name: "kms1.corp.example.com.", Port: 1688, Priority: 0, Weight: 100},
			{Name: "kms2.corp.example.com.", Port: 1688, Priority: 10, Weight: 0},
		},
		Keys: []Key{
			{Name: "srvctl-corp.", Algorithm: "hmac-sha256", SecretFile: filepath.Join(dir, "corp.key"), Secret: corpSecret, Keygen: true},
		},
		Audit: defaultAudit,
		Zones: []Zone{
			{Name: "corp.example.com.", Backend: "rfc2136", Server: "ns1.corp.example.com:53", Key: "srvctl-corp."},
			{
				Name: "branch.example.net.", Backend: "rfc2136", Server: "10.1.0.53:53", Key: "srvctl-corp.",
				Hosts:     []string{"kms2.corp.example.com."},
				Overrides: []Override{{Host: "kms2.corp.example.com.", Priority: u16(0), Weight: u16(50)}},
			},
			{Name: "lab.example.org.", Backend: "bindfile", File: "/etc/bind/fragments/lab.example.org.vlmcs"},
		},
		Schedule: "@every 1h",
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Load() mismatch (-want +got):\n%s", diff)
	}

	wantDesired := []zones.Zone{
		{
			Name: "corp.example.com.", Service: "_vlmcs._tcp", Backend: "rfc2136", Server: "ns1.corp.example.com:53",
			Desired: []zones.Record{
				{Target: "kms1.corp.example.com.", Port: 1688, Priority: 0, Weight: 100, TTL: 3600},
				{Target: "kms2.corp.example.com.", Port: 1688, Priority: 10, Weight: 0, TTL: 3600},
			},
		},
		{
			Name: "branch.example.net.", Service: "_vlmcs._tcp", Backend: "rfc2136", Server: "10.1.0.53:53",
			Desired: []zones.Record{
				{Target: "kms2.corp.example.com.", Port: 1688, Priority: 0, Weight: 50, TTL: 3600},
			},
		},
		{
			Name: "lab.example.org.", Service: "_vlmcs._tcp", Backend: "bindfile", Server: "/etc/bind/fragments/lab.example.org.vlmcs",
			Desired: []zones.Record{
				{Target: "kms1.corp.example.com.", Port: 1688, Priority: 0, Weight: 100, TTL: 3600},
				{Target: "kms2.corp.example.com.", Port: 1688, Priority: 10, Weight: 0, TTL: 3600},
			},
		},
	}
	if diff := cmp.Diff(wantDesired, cfg.Desired()); diff != "" {
		t.Errorf("Desired() mismatch (-want +got):\n%s", diff)
	}

	k, ok := cfg.Key("SRVCTL-Corp")
	if !ok || k.Name != "srvctl-corp." {
		t.Errorf(`Key("SRVCTL-Corp") = %v, %v; want the srvctl-corp. key`, k, ok)
	}
	if _, ok := cfg.Key("nokey"); ok {
		t.Error(`Key("nokey") found a key`)
	}
}

// TestLoadFull covers every setting, non-default values, name
// canonicalization, overrides in a zone of all hosts, and YAML anchors.
func TestLoadFull(t *testing.T) {
	path := writeConfig(t, `
service: _VLMCS._TCP.
ttl: 0
prune: all
timeout: 1m30s
concurrency: 1024
log_level: DEBUG
log_format: json
schedule: "*/15 * * * *"
jitter: 2m
listen: "[::1]:9553"
host-defaults: &defaults      # not a key of srvctl: reported below
  port: 1689
hosts:
  - name: KMS1.Corp.Example.COM.
    <<: &hd {port: 1689, weight: 7}
  - name: kms2.corp.example.com
    <<: *hd
    weight: 65535
    priority: 65535
  - name: kms3.corp.example.com
    port: 65535
    key: kms3-self
keys:
  - name: srvctl-corp
    secret_file: bare.key
  - name: SHA512-Key.
    secret_file: sha512.key
  - name: kms3-self
audit:
  resolver: 192.0.2.1
  timeout: 500ms
  probe: TCP
  stale_after: 1h
  stale_runs: 1
  max_deletes: 2
  state_file: state/audit.json
  severity: {lagging: CRITICAL, foreign: warning}
named_conf:
  self_publish: kerberos
  realm: corp.example.com
  limit_records: yes
zones:
  - name: Corp.Example.com
    server: "[2001:db8::53]"
    key: SRVCTL-corp.
    overrides:
      - host: kms3.corp.example.com.
        weight: 5
      - host: KMS1.corp.example.com
        priority: 3
  - name: _msdcs.example.net.
    server: '[2001:DB8::1]:5353'
    key: sha512-key
    hosts: [kms3.corp.example.com, KMS2.corp.example.com.]
  - name: lab.example.org
    server: NS1.Lab.Example.Org.
    key: srvctl-corp
    audit_servers: ["192.0.2.2", "ns2.lab.example.org:5353"]
  - name: static.example.org
    backend: bindfile
    file: frag/static.vlmcs
    zone_file: /var/lib/bind/db.static.example.org
    check_command: [named-checkzone, "{zone}", "{zone_file}"]
    reload_command: [rndc, reload, "{zone}"]
`)
	_, err := Load(LoadOptions{Path: path, Env: []string{}})
	if diff := cmp.Diff([]string{"host-defaults: unknown key (line 12)"}, problemList(t, err)); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
	data, _ := os.ReadFile(path)
	body := strings.Replace(string(data), "host-defaults: &defaults      # not a key of srvctl: reported below\n  port: 1689\n", "", 1)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := &Config{
		Path:        path,
		Service:     "_vlmcs._tcp",
		TTL:         0,
		Prune:       zones.PruneAll,
		Timeout:     90 * time.Second,
		Concurrency: 1024,
		LogLevel:    "debug",
		LogFormat:   "json",
		Hosts: []Host{
			{Name: "kms1.corp.example.com.", Port: 1689, Weight: 7},
			{Name: "kms2.corp.example.com.", Port: 1689, Priority: 65535, Weight: 65535},
			{Name: "kms3.corp.example.com.", Port: 65535, Key: "kms3-self."},
		},
		Keys: []Key{
			{Name: "srvctl-corp.", Algorithm: "hmac-sha256", SecretFile: filepath.Join(dir, "bare.key"), Credential: "bare.key", Secret: corpSecret},
			{Name: "sha512-key.", Algorithm: "hmac-sha512", SecretFile: filepath.Join(dir, "sha512.key"), Credential: "sha512.key", Secret: sha512Secret, Keygen: true},
			{Name: "kms3-self.", Algorithm: "hmac-sha256"},
		},
		Audit: Audit{Resolver: "192.0.2.1:53", Timeout: 500 * time.Millisecond, Probe: "tcp", StaleAfter: time.Hour, StaleRuns: 1,
			MaxDeletes: 2, StateFile: filepath.Join(dir, "state", "audit.json"), Severity: map[string]string{"lagging": "critical", "foreign": "warning"}},
		NamedConf: NamedConf{SelfPublish: "kerberos", Realm: "CORP.EXAMPLE.COM", LimitRecords: true},
		Schedule:  "*/15 * * * *", Jitter: 2 * time.Minute, Listen: "[::1]:9553",
		Zones: []Zone{
			{
				Name: "corp.example.com.", Backend: "rfc2136", Server: "[2001:db8::53]:53", Key: "srvctl-corp.",
				Overrides: []Override{
					{Host: "kms3.corp.example.com.", Weight: u16(5)},
					{Host: "kms1.corp.example.com.", Priority: u16(3)},
				},
			},
			{
				Name: "_msdcs.example.net.", Backend: "rfc2136", Server: "[2001:db8::1]:5353", Key: "sha512-key.",
				Hosts: []string{"kms3.corp.example.com.", "kms2.corp.example.com."},
			},
			{Name: "lab.example.org.", Backend: "rfc2136", Server: "ns1.lab.example.org:53", Key: "srvctl-corp.",
				AuditServers: []string{"192.0.2.2:53", "ns2.lab.example.org:5353"}},
			{Name: "static.example.org.", Backend: "bindfile", File: filepath.Join(dir, "frag", "static.vlmcs"),
				ZoneFile:      "/var/lib/bind/db.static.example.org",
				CheckCommand:  []string{"named-checkzone", "{zone}", "{zone_file}"},
				ReloadCommand: []string{"rndc", "reload", "{zone}"}},
		},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Load() mismatch (-want +got):\n%s", diff)
	}

	wantDesired := []zones.Zone{
		{
			Name: "corp.example.com.", Service: "_vlmcs._tcp", Backend: "rfc2136", Server: "[2001:db8::53]:53",
			Desired: []zones.Record{
				{Target: "kms3.corp.example.com.", Port: 65535, Priority: 0, Weight: 5, TTL: 0},
				{Target: "kms1.corp.example.com.", Port: 1689, Priority: 3, Weight: 7, TTL: 0},
				{Target: "kms2.corp.example.com.", Port: 1689, Priority: 65535, Weight: 65535, TTL: 0},
			},
		},
		{
			Name: "_msdcs.example.net.", Service: "_vlmcs._tcp", Backend: "rfc2136", Server: "[2001:db8::1]:5353",
			Desired: []zones.Record{
				{Target: "kms3.corp.example.com.", Port: 65535, TTL: 0},
				{Target: "kms2.corp.example.com.", Port: 1689, Priority: 65535, Weight: 65535, TTL: 0},
			},
		},
		{
			Name: "lab.example.org.", Service: "_vlmcs._tcp", Backend: "rfc2136", Server: "ns1.lab.example.org:53",
			Desired: []zones.Record{
				{Target: "kms1.corp.example.com.", Port: 1689, Weight: 7, TTL: 0},
				{Target: "kms3.corp.example.com.", Port: 65535, TTL: 0},
				{Target: "kms2.corp.example.com.", Port: 1689, Priority: 65535, Weight: 65535, TTL: 0},
			},
		},
		{
			Name: "static.example.org.", Service: "_vlmcs._tcp", Backend: "bindfile", Server: filepath.Join(dir, "frag", "static.vlmcs"),
			Desired: []zones.Record{
				{Target: "kms1.corp.example.com.", Port: 1689, Weight: 7, TTL: 0},
				{Target: "kms3.corp.example.com.", Port: 65535, TTL: 0},
				{Target: "kms2.corp.example.com.", Port: 1689, Priority: 65535, Weight: 65535, TTL: 0},
			},
		},
	}
	if diff := cmp.Diff(wantDesired, cfg.Desired()); diff != "" {
		t.Errorf("Desired() mismatch (-want +got):\n%s", diff)
	}
}

// TestLoadProblems loads configs with problems. want is the exact list of
// problems; a config is written with the key files of keyFiles.
func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		// The file as a whole.
		{"empty file", "", []string{"the file is empty"}},
		{"only comments", "# nothing here\n", []string{"the file is empty"}},
		{"null document", "---\n...\n", []string{"the file is empty"}},
		{"syntax error", "hosts:\n  - name: kms1.corp.example.com\n   port: 1688\n", []string{"line 1: did not find expected '-' indicator"}},
		{"tab indentation", "hosts:\n\t- name: x\n", []string{"line 2: found character that cannot start any token"}},
		{"not a mapping", "- hosts\n- zones\n", []string{
			"want a mapping with the keys service, ttl, prune, timeout, concurrency, log_level, log_format, schedule, jitter, listen, hosts, keys, zones, audit, named_conf, ad; got a list"}},
		{"two documents", allOK + "---\nttl: 5\n", []string{"line 12: a second YAML document (the config is one document)"}},
		{"nothing configured", "ttl: 60\n", []string{
			"hosts: no hosts: at least one KMS host is required",
			"zones: no zones: at least one zone to publish in is required"}},
		{"empty lists", "hosts: []\nkeys: []\nzones: []\n", []string{
			"hosts: no hosts: at least one KMS host is required",
			"zones: no zones: at least one zone to publish in is required"}},

		// Unknown and repeated keys, anywhere.
		{"unknown top-level key", "sevrice: _vlmcs._tcp\n" + allOK, []string{"sevrice: unknown key (line 1); did you mean service?"}},
		{"key in the wrong case", "TTL: 60\n" + allOK, []string{"TTL: unknown key (line 1); did you mean ttl?"}},
		{"unknown key in a zone", allOK + "    sever: 192.0.2.1\n", []string{"zones[0].sever: unknown key (line 11); did you mean server?"}},
		{"unknown key in a host", "hosts:\n  - name: kms1.corp.example.com\n    prio: 5\n" + keysOK + zonesOK,
			[]string{"hosts[0].prio: unknown key (line 3); did you mean priority?"}},
		{"unknown key in a key", "keys:\n  - name: srvctl-corp\n    secret: " + corpSecret + "\n    secret_file: corp.key\n" + hostsOK + zonesOK,
			[]string{"keys[0].secret: unknown key (line 3); did you mean secret_file?"}},
		{"unknown key in an override", allOK + "    overrides:\n      - host: kms1.corp.example.com\n        wieght: 5\n", []string{
			"zones[0].overrides[0].wieght: unknown key (line 13); did you mean weight?",
			"zones[0].overrides[0]: sets neither priority nor weight"}},
		{"repeated key", "ttl: 60\n" + allOK + "ttl: 70\n", []string{"ttl: repeated (line 12; first on line 1)"}},
		{"repeated key in a host", "hosts:\n  - name: kms1.corp.example.com\n    port: 1\n    port: 2\n" + keysOK + zonesOK,
			[]string{"hosts[0].port: repeated (line 4; first on line 3)"}},
		{"merge of a scalar", "hosts:\n  - name: kms1.corp.example.com\n    <<: 5\n" + keysOK + zonesOK,
			[]string{"hosts[0]: line 3: << merges mappings, not \"5\""}},

		// Values of the wrong type.
		{"hosts not a list", "hosts: foo\n" + keysOK + zonesOK, []string{`hosts: want a list of hosts; got "foo"`}},
		{"host not a mapping", "hosts: [kms1.corp.example.com]\n" + keysOK + zonesOK, []string{
			`hosts[0]: want a mapping with the keys name, port, priority, weight, key, account; got "kms1.corp.example.com"`}},
		{"port not a number", "hosts:\n  - name: kms1.corp.example.com\n    port: abc\n" + keysOK + zonesOK,
			[]string{`hosts[0].port: "abc" is not a number`}},
		{"port a float", "hosts:\n  - name: kms1.corp.example.com\n    port: 1688.5\n" + keysOK + zonesOK,
			[]string{`hosts[0].port: "1688.5" is not a number`}},
		{"port a list", "hosts:\n  - name: kms1.corp.example.com\n    port: [1688]\n" + keysOK + zonesOK,
			[]string{`hosts[0].port: want a single value; got a list`}},
		{"ttl a mapping", "ttl: {a: 1}\n" + allOK, []string{"ttl: want a single value; got a mapping"}},
		{"zone hosts not a list", allOK + "    hosts: kms1.corp.example.com\n", []string{
			`zones[0].hosts: want a list of host names; got "kms1.corp.example.com"`}},
		{"zone host not a name", allOK + "    hosts: [[kms1.corp.example.com]]\n", []string{"zones[0].hosts[0]: want a single value; got a list"}},
		{"name a mapping", "hosts:\n  - name: {a: b}\n" + keysOK + zonesOK, []string{"hosts[0].name: want a single value; got a mapping"}},

		// Settings.
		{"ttl not a number", "ttl: 1h\n" + allOK, []string{`ttl: "1h" is not a number`}},
		{"ttl negative", "ttl: -1\n" + allOK, []string{"ttl: -1 is out of range 0-2147483647"}},
		{"ttl too big", "ttl: 2147483648\n" + allOK, []string{"ttl: 2147483648 is out of range 0-2147483647"}},
		{"ttl overflows", "ttl: 99999999999999999999\n" + allOK, []string{"ttl: 99999999999999999999 is out of range 0-2147483647"}},
		{"prune unknown", "prune: some\n" + allOK, []string{`prune: "some" is not one of none, stale, all`}},
		{"timeout without unit", "timeout: 5\n" + allOK, []string{`timeout: "5" is not a duration (like 5s, 1500ms or 1m30s)`}},
		{"timeout zero", "timeout: 0s\n" + allOK, []string{"timeout: 0s is not positive"}},
		{"timeout negative", "timeout: -1s\n" + allOK, []string{"timeout: -1s is not positive"}},
		{"concurrency zero", "concurrency: 0\n" + allOK, []string{"concurrency: 0 is out of range 1-1024"}},
		{"concurrency too big", "concurrency: 1025\n" + allOK, []string{"concurrency: 1025 is out of range 1-1024"}},
		{"log level", "log_level: verbose\n" + allOK, []string{`log_level: "verbose" is not one of debug, info, warn, error`}},
		{"log format", "log_format: text\n" + allOK, []string{`log_format: "text" is not one of console, json`}},
		{"schedule six fields", "schedule: '0 */5 * * * *'\n" + allOK, []string{
			`schedule: "0 */5 * * * *" is not a schedule (5 cron fields like "*/15 * * * *", @hourly, @daily or @every 15m): expected exactly 5 fields, found 6: [0 */5 * * * *]`}},
		{"schedule every without unit", "schedule: '@every 15'\n" + allOK, []string{
			`schedule: "@every 15" is not a schedule (5 cron fields like "*/15 * * * *", @hourly, @daily or @every 15m): failed to parse duration @every 15: time: missing unit in duration "15"`}},
		{"jitter negative", "jitter: -1m\n" + allOK, []string{"jitter: -1m is negative"}},
		{"jitter not a duration", "jitter: 5\n" + allOK, []string{`jitter: "5" is not a duration (like 30s or 5m)`}},
		{"listen without port", "listen: 127.0.0.1\n" + allOK, []string{
			`listen: "127.0.0.1": want host:port, like 127.0.0.1:9553 (address 127.0.0.1: missing port in address)`}},
		{"listen port zero", "listen: 127.0.0.1:0\n" + allOK, []string{`listen: "127.0.0.1:0": port "0" is not a number from 1 to 65535`}},
		{"listen host name", "listen: metrics.example.com:9553\n" + allOK, []string{`listen: "metrics.example.com:9553": host "metrics.example.com" is not an IP address or localhost`}},
		{"service one label", "service: _vlmcs\n" + allOK, []string{`service: "_vlmcs" is not of the form _service._proto`}},
		{"service bad label", "service: _vl mcs._tcp\n" + allOK, []string{
			`service: "_vl mcs._tcp": label "vl mcs" contains ' ' (only letters, digits and hyphens)`}},

		// Hosts.
		{"host without name", "hosts:\n  - port: 1688\n" + keysOK + zonesOK, []string{"hosts[0].name: missing: every host needs a name (its FQDN)"}},
		{"host with empty name", "hosts:\n  - name: ''\n" + keysOK + zonesOK, []string{"hosts[0].name: empty name"}},
		{"host null", "hosts:\n  -\n" + keysOK + zonesOK, []string{"hosts[0].name: missing: every host needs a name (its FQDN)"}},
		{"host single label", "hosts:\n  - name: kms1\n" + keysOK + zonesOK, []string{`hosts[0].name: "kms1": not fully qualified (a single label)`}},
		{"host underscore", "hosts:\n  - name: kms_1.example.com\n" + keysOK + zonesOK, []string{
			`hosts[0].name: "kms_1.example.com": label "kms_1" contains '_' (only letters, digits and hyphens)`}},
		{"host empty label", "hosts:\n  - name: kms1..example.com\n" + keysOK + zonesOK, []string{`hosts[0].name: "kms1..example.com": empty label`}},
		{"host long label", "hosts:\n  - name: " + strings.Repeat("a", 64) + ".example.com\n" + keysOK + zonesOK, []string{
			`hosts[0].name: "` + strings.Repeat("a", 64) + `.example.com": label "` + strings.Repeat("a", 64) + `" longer than 63 characters`}},
		{"host injection", "hosts:\n  - name: \"kms1.example.com. IN A 1.2.3.4\"\n" + keysOK + zonesOK, []string{
			`hosts[0].name: "kms1.example.com. IN A 1.2.3.4": label " IN A 1" contains ' ' (only letters, digits and hyphens)`}},
		{"host an IP address", "hosts:\n  - name: 192.0.2.10\n" + keysOK + zonesOK, []string{
			`hosts[0].name: "192.0.2.10": the last label is numeric`}},
		{"port zero", "hosts:\n  - name: kms1.corp.example.com\n    port: 0\n" + keysOK + zonesOK, []string{"hosts[0].port: 0 is out of range 1-65535"}},
		{"port too big", "hosts:\n  - name: kms1.corp.example.com\n    port: 65536\n" + keysOK + zonesOK, []string{"hosts[0].port: 65536 is out of range 1-65535"}},
		{"priority negative", "hosts:\n  - name: kms1.corp.example.com\n    priority: -1\n" + keysOK + zonesOK, []string{"hosts[0].priority: -1 is out of range 0-65535"}},
		{"weight too big", "hosts:\n  - name: kms1.corp.example.com\n    weight: 70000\n" + keysOK + zonesOK, []string{"hosts[0].weight: 70000 is out of range 0-65535"}},
		{"duplicate host", hostsOK + "  - name: KMS1.corp.example.com.\n" + keysOK + zonesOK, []string{
			`hosts[2].name: "KMS1.corp.example.com." duplicates hosts[0]`}},

		// Keys.
		{"key without name", "keys:\n  - secret_file: corp.key\n" + hostsOK + zonesOK, []string{
			"keys[0].name: missing: every key needs the name the DNS server knows it by",
			`zones[0].key: "srvctl-corp" is not one of keys`}},
		{"key bad name", "keys:\n  - name: srvctl corp\n    secret_file: corp.key\n" + hostsOK + zonesOK, []string{
			`keys[0].name: "srvctl corp": only letters, digits, hyphens, underscores and dots are allowed`,
			`zones[0].key: "srvctl-corp" is not one of keys`}},
		{"key without secret_file", "keys:\n  - name: srvctl-corp\n" + hostsOK + zonesOK, []string{
			`zones[0].key: key "srvctl-corp" has no secret_file: srvctl signs this zone's updates with it`}},
		{"key empty secret_file", "keys:\n  - name: srvctl-corp\n    secret_file: ''\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: empty: every key needs the file that holds its secret"}},
		{"duplicate key", keysOK + "  - name: SRVCTL-CORP.\n    secret_file: corp.key\n" + hostsOK + zonesOK, []string{
			`keys[1].name: "SRVCTL-CORP." duplicates keys[0]`}},
		{"bad algorithm", "keys:\n  - name: srvctl-corp\n    algorithm: hmac-sha257\n    secret_file: bare.key\n" + hostsOK + zonesOK, []string{
			`keys[0].algorithm: "hmac-sha257" is not a TSIG algorithm (hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5)`}},
		{"algorithm mismatch", "keys:\n  - name: srvctl-corp\n    algorithm: hmac-sha512\n    secret_file: corp.key\n" + hostsOK + zonesOK, []string{
			"keys[0].algorithm: hmac-sha512, but the key in {dir}/corp.key is hmac-sha256"}},
		{"key name mismatch", "keys:\n  - name: srvctl-corp\n    secret_file: other.key\n" + hostsOK + zonesOK, []string{
			`keys[0].secret_file: the key in {dir}/other.key is named "other.", not "srvctl-corp."`}},
		{"missing secret file", "keys:\n  - name: srvctl-corp\n    secret_file: /nonexistent/srvctl.key\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: open /nonexistent/srvctl.key: no such file or directory"}},
		{"secret pasted as file", "keys:\n  - name: srvctl-corp\n    secret_file: " + corpSecret + "\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: looks like a secret, not a file name: put the secret in a file (mode 0600) and name the file here"}},
		{"secret file readable", "keys:\n  - name: srvctl-corp\n    secret_file: open.key\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: {dir}/open.key is readable by group or others (mode 0644): chmod 600 it"}},
		{"secret file group-writable", "keys:\n  - name: srvctl-corp\n    secret_file: groupw.key\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: {dir}/groupw.key is open to group or others (mode 0620): chmod 600 it"}},
		{"secret file a directory", "keys:\n  - name: srvctl-corp\n    secret_file: .\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: {dir} is a directory, not a key file"}},
		{"secret file garbage", "keys:\n  - name: srvctl-corp\n    secret_file: garbage.key\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: {dir}/garbage.key: not a tsig-keygen key or a base64 secret: line 1: expected a key statement, found a word"}},
		{"secret file without secret", "keys:\n  - name: srvctl-corp\n    secret_file: nosec.key\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: {dir}/nosec.key: not a tsig-keygen key or a base64 secret: line 1: the key statement has no secret"}},
		{"secret file is the config", "keys:\n  - name: srvctl-corp\n    secret_file: srvctl.yaml\n" + hostsOK + zonesOK, []string{
			"keys[0].secret_file: {dir}/srvctl.yaml: not a tsig-keygen key or a base64 secret: line 1: expected a key statement, found a word"}},

		// Zones.
		{"zone without name", hostsOK + keysOK + "zones:\n  - server: 192.0.2.53\n    key: srvctl-corp\n", []string{
			"zones[0].name: missing: every zone needs a name"}},
		{"zone bad name", hostsOK + keysOK + "zones:\n  - name: corp\n    server: 192.0.2.53\n    key: srvctl-corp\n", []string{
			`zones[0].name: "corp": not fully qualified (a single label)`}},
		{"duplicate zone", allOK + "  - name: CORP.example.com.\n    server: 192.0.2.53\n    key: srvctl-corp\n", []string{
			`zones[1].name: "CORP.example.com." duplicates zones[0]`}},
		{"zone without server and key", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n", []string{
			"zones[0].server: missing: backend rfc2136 needs the zone's primary server (host or address, port 53 by default)",
			"zones[0].key: missing: backend rfc2136 needs a TSIG key (one of keys), or auth: gss-tsig"}},
		{"zone with empty server", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: ''\n    key: srvctl-corp\n", []string{
			"zones[0].server: missing: backend rfc2136 needs the zone's primary server (host or address, port 53 by default)"}},
		{"zone key not in keys", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: 192.0.2.53\n    key: nokey\n", []string{
			`zones[0].key: "nokey" is not one of keys`}},
		{"server port zero", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: 192.0.2.53:0\n    key: srvctl-corp\n", []string{
			`zones[0].server: "192.0.2.53:0": port "0" is not a number in 1-65535`}},
		{"server port big", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: ns1.example.com:65536\n    key: srvctl-corp\n", []string{
			`zones[0].server: "ns1.example.com:65536": port "65536" is not a number in 1-65535`}},
		{"server port name", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: ns1.example.com:domain\n    key: srvctl-corp\n", []string{
			`zones[0].server: "ns1.example.com:domain": port "domain" is not a number in 1-65535`}},
		{"server empty port", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: 'ns1.example.com:'\n    key: srvctl-corp\n", []string{
			`zones[0].server: "ns1.example.com:": empty port`}},
		{"server no host", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: ':53'\n    key: srvctl-corp\n", []string{
			`zones[0].server: ":53": no host`}},
		{"server bad host", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: ns1_example.com\n    key: srvctl-corp\n", []string{
			`zones[0].server: "ns1_example.com" is neither an IP address nor a host name: "ns1_example.com": label "ns1_example" contains '_' (only letters, digits and hyphens)`}},
		{"server bad IPv4", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: 192.0.2.300\n    key: srvctl-corp\n", []string{
			`zones[0].server: "192.0.2.300" is neither an IP address nor a host name: "192.0.2.300": the last label is numeric`}},
		{"server bracketed name", hostsOK + keysOK + "zones:\n  - name: corp.example.com\n    server: '[ns1.example.com]:53'\n    key: srvctl-corp\n", []string{
			`zones[0].server: "[ns1.example.com]:53": brackets are for IPv6 addresses`}},
		{"backend unknown", allOK + "    backend: route53\n", []string{`zones[0].backend: "route53" is not a backend (rfc2136, bindfile)`}},
		{"file with rfc2136", allOK + "    file: /tmp/x\n", []string{"zones[0].file: only backend bindfile uses file"}},
		{"zone host not in hosts", allOK + "    hosts: [kms1.corp.example.com, kms9.example.com]\n", []string{
			`zones[0].hosts[1]: "kms9.example.com" is not one of hosts`}},
		{"zone host repeated", allOK + "    hosts: [kms1.corp.example.com, KMS1.corp.example.com.]\n", []string{
			`zones[0].hosts[1]: "KMS1.corp.example.com." duplicates zones[0].hosts[0]`}},
		{"zone hosts empty", allOK + "    hosts: []\n", []string{"zones[0].hosts: an empty list: leave hosts out to publish all hosts"}},
		{"zone host null", allOK + "    hosts: [~]\n", []string{"zones[0].hosts[0]: empty: want a host name"}},
		{"override host not in hosts", allOK + "    overrides:\n      - host: kms9.example.com\n        weight: 1\n", []string{
			`zones[0].overrides[0].host: "kms9.example.com" is not one of hosts`}},
		{"override host not in zone hosts", allOK + "    hosts: [kms2.corp.example.com]\n    overrides:\n      - host: kms1.corp.example.com\n        weight: 1\n", []string{
			`zones[0].overrides[0].host: "kms1.corp.example.com" is not in zones[0].hosts`}},
		{"override repeated", allOK + "    overrides:\n      - host: kms1.corp.example.com\n        weight: 1\n      - host: kms1.corp.example.com.\n        priority: 1\n", []string{
			`zones[0].overrides[1].host: "kms1.corp.example.com." duplicates zones[0].overrides[0]`}},
		{"override without host", allOK + "    overrides:\n      - weight: 1\n", []string{
			"zones[0].overrides[0].host: missing: an override names the host it changes"}},
		{"override out of range", allOK + "    overrides:\n      - host: kms1.corp.example.com\n        weight: 65536\n        priority: x\n", []string{
			`zones[0].overrides[0].priority: "x" is not a number`,
			"zones[0].overrides[0].weight: 65536 is out of range 0-65535"}},
		{"overrides not a list", allOK + "    overrides: {host: kms1.corp.example.com}\n", []string{
			"zones[0].overrides: want a list of overrides; got a mapping"}},
		// bindfile zones, audit, named_conf.
		{"bindfile without file", allOK + "  - name: lab.example.org\n    backend: bindfile\n", []string{
			"zones[1].file: missing: backend bindfile needs the fragment file to write (for $INCLUDE in the zone file)"}},
		{"bindfile fragment shared", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: /x\n  - name: lab2.example.org\n    backend: bindfile\n    file: /x\n", []string{
			"zones[2].file: /x is the fragment of zones[1].file too: each zone needs its own"}},
		{"bindfile with server", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: /x\n    server: 10.9.9.9\n", []string{
			"zones[1].server: backend bindfile writes a file, it has no server (the zone file's named is reloaded with reload_command)"}},
		{"bindfile with key", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: /x\n    key: srvctl-corp\n", []string{
			"zones[1].key: only backend rfc2136 signs updates with a key"}},
		{"bindfile path with a quote", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: '/etc/bind/a\"; include \"/etc/shadow'\n", []string{
			`zones[1].file: "/etc/bind/a\"; include \"/etc/shadow": a path here must not contain quotes, backslashes, semicolons, braces or control characters (it is written into named.conf and zone files)`}},
		{"bindfile path with a newline", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: \"/etc/bind/a\\n$INCLUDE /etc/passwd\"\n", []string{
			`zones[1].file: "/etc/bind/a\n$INCLUDE /etc/passwd": a path here must not contain quotes, backslashes, semicolons, braces or control characters (it is written into named.conf and zone files)`}},
		{"zone_file is the fragment", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: /x\n    zone_file: /x\n", []string{
			"zones[1].zone_file: the zone file is the fragment file itself: the fragment is $INCLUDEd by it"}},
		{"zone_file with rfc2136", allOK + "    zone_file: /x\n", []string{"zones[0].zone_file: only backend bindfile uses zone_file"}},
		{"command unknown placeholder", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: /x\n    reload_command: [rndc, reload, '{zonename}']\n", []string{
			"zones[1].reload_command[2]: unknown placeholder {zonename} (known: {zone}, {file}, {zone_file})"}},
		{"command zone_file unset", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: /x\n    check_command: [named-checkzone, '{zone}', '{zone_file}']\n", []string{
			"zones[1].check_command[2]: {zone_file} is used but zones[1].zone_file is not set"}},
		{"command a string", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: /x\n    check_command: named-checkzone lab /x\n", []string{
			`zones[1].check_command: want a list of command arguments (an argv list, run without a shell); got "named-checkzone lab /x"`}},
		{"command empty", allOK + "  - name: lab.example.org\n    backend: bindfile\n    file: /x\n    check_command: []\n", []string{
			"zones[1].check_command: an empty command: leave the key out to run nothing"}},
		{"audit servers bad", allOK + "    audit_servers: [192.0.2.1, 192.0.2.1:53, 'ns1:0']\n", []string{
			`zones[0].audit_servers[1]: "192.0.2.1:53" is listed twice`,
			`zones[0].audit_servers[2]: "ns1:0": port "0" is not a number in 1-65535`}},
		{"audit bad values", allOK + "audit:\n  resolver: 'a b'\n  timeout: 0s\n  probe: ping\n  stale_after: 3d\n  stale_runs: 0\n  max_deletes: 0\n  retries: 2\n", []string{
			"audit.retries: unknown key (line 18)",
			`audit.resolver: "a b" is neither an IP address nor a host name: "a b": label "a b" contains ' ' (only letters, digits and hyphens)`,
			"audit.timeout: 0s is not positive",
			`audit.stale_after: "3d" is not a duration (like 3s, 1500ms, 72h)`,
			`audit.probe: "ping" is not one of kms (a DCE/RPC bind to the KMS interface), tcp (connect only), none`,
			"audit.stale_runs: 0 is out of range 1-1000000",
			"audit.max_deletes: 0 is out of range 1-1000000 (prune: none never deletes)"}},
		{"host key unknown", "hosts:\n  - name: kms1.corp.example.com\n    key: nokey\n" + keysOK + zonesOK, []string{
			`hosts[0].key: "nokey" is not one of keys`}},
		{"self publish tsig without keys", allOK + "named_conf:\n  self_publish: tsig\n", []string{
			"named_conf.self_publish: tsig: no host has its own key (hosts[].key): nothing to grant"}},
		{"self publish kerberos without realm", allOK + "named_conf:\n  self_publish: kerberos\n", []string{
			"named_conf.realm: missing: self_publish kerberos needs the realm of the KMS hosts' machine accounts"}},
		{"realm injection", allOK + "named_conf:\n  self_publish: kerberos\n  realm: 'CORP; }; allow-update { any'\n", []string{
			`named_conf.realm: "CORP; }; allow-update { any" is not a Kerberos realm (like CORP.EXAMPLE.COM)`}},
		{"self publish unknown", allOK + "named_conf:\n  self_publish: dhcp\n  limit_records: maybe\n", []string{
			`named_conf.self_publish: "dhcp" is not one of none, tsig (each host's own key), kerberos`,
			`named_conf.limit_records: "maybe" is not true or false`}},
		{"secret file with a quote", "keys:\n  - name: srvctl-corp\n    secret_file: 'a\"b.key'\n" + hostsOK + zonesOK, []string{
			`keys[0].secret_file: "{dir}/a\"b.key": a path here must not contain quotes, backslashes, semicolons, braces or control characters (it is written into named.conf and zone files)`}},

		{"reference to a bad host", "hosts:\n  - name: kms1..example.com\n" + keysOK + zonesOK + "    hosts: [kms1..example.com]\n", []string{
			`hosts[0].name: "kms1..example.com": empty label`}},

		// Many problems at once, in file order.
		{"many problems", `ttl: -5
prune: stale
hosts:
  - name: kms1.corp.example.com
    port: 0
  - name: kms1.corp.example.com
    weight: 70000
keys:
  - name: srvctl-corp
    algorithm: hmac-sha257
    secret_file: open.key
zones:
  - name: corp.example.com
    sever: 192.0.2.53
    key: nokey
  - name: corp.example.com.
    server: 192.0.2.53:99999
    key: srvctl-corp
    overrides:
      - host: kms9.example.com
        weight: 1
`, []string{
			"ttl: -5 is out of range 0-2147483647",
			"hosts[0].port: 0 is out of range 1-65535",
			`hosts[1].name: "kms1.corp.example.com" duplicates hosts[0]`,
			"hosts[1].weight: 70000 is out of range 0-65535",
			`keys[0].algorithm: "hmac-sha257" is not a TSIG algorithm (hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5)`,
			"keys[0].secret_file: {dir}/open.key is readable by group or others (mode 0644): chmod 600 it",
			"zones[0].sever: unknown key (line 14); did you mean server?",
			"zones[0].server: missing: backend rfc2136 needs the zone's primary server (host or address, port 53 by default)",
			`zones[0].key: "nokey" is not one of keys`,
			`zones[1].name: "corp.example.com." duplicates zones[0]`,
			`zones[1].server: "192.0.2.53:99999": port "99999" is not a number in 1-65535`,
			`zones[1].overrides[0].host: "kms9.example.com" is not one of hosts`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			cfg, err := Load(LoadOptions{Path: path, Env: []string{}})
			if err == nil {
				t.Fatalf("Load() = %+v, want an error", cfg)
			}
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.ReplaceAll(w, "{dir}", filepath.Dir(path))
			}
			if diff := cmp.Diff(want, problemList(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, secret := range []string{corpSecret, otherSecret, sha512Secret} {
				if strings.Contains(err.Error(), secret[:16]) {
					t.Errorf("error contains a secret:\n%v", err)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	path := writeConfig(t, "ttl: x\nconcurrency: 0\n"+allOK)
	_, err := Load(LoadOptions{Path: path, Env: []string{}})
	want := "config " + path + `: 2 problems:
  ttl: "x" is not a number
  concurrency: 0 is out of range 1-1024`
	if err == nil || err.Error() != want {
		t.Errorf("Load() error:\n%v\nwant:\n%s", err, want)
	}
	one := &Error{Path: "/x.yaml", Problems: []Problem{{Msg: "the file is empty"}}}
	if got, want := one.Error(), "config /x.yaml: 1 problem:\n  the file is empty"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"path", LoadOptions{Path: filepath.Join(dir, "nope.yaml"), Env: []string{}},
			"config " + dir + "/nope.yaml: no such file: file does not exist"},
		{"env", LoadOptions{Env: []string{"SRVCTL_CONFIG=" + dir + "/env.yaml"}},
			"config " + dir + "/env.yaml (from SRVCTL_CONFIG): no such file: file does not exist"},
	}
	if _, err := os.Stat(DefaultPath); errors.Is(err, fs.ErrNotExist) {
		tests = append(tests, struct {
			name string
			opts LoadOptions
			want string
		}{"default", LoadOptions{Env: []string{}},
			"config /etc/srvctl/srvctl.yaml (the default; name another with SRVCTL_CONFIG or -c/--config): no such file: file does not exist"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Load() error = %v, want %s", err, tt.want)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Load() error %v does not wrap fs.ErrNotExist", err)
			}
		})
	}
	// A directory is not a config file.
	if _, err := Load(LoadOptions{Path: dir, Env: []string{}}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Load(directory) error = %v, want one saying it is a directory", err)
	}
}

// TestLoadOverrides checks the precedence file < environment < flags, and
// that values from the environment and flags are checked like the file's.
func TestLoadOverrides(t *testing.T) {
	path := writeConfig(t, "ttl: 600\nlog_level: warn\nlog_format: console\nprune: all\n"+allOK)
	type settings struct {
		Service     string
		TTL         uint32
		Prune       zones.Prune
		Timeout     time.Duration
		Concurrency int
		LogLevel    string
		LogFormat   string
	}
	file := settings{"_vlmcs._tcp", 600, zones.PruneAll, 5 * time.Second, 16, "warn", "console"}
	tests := []struct {
		name     string
		env      []string
		flags    []string // command line; nil: no flag set
		want     settings
		problems []string
	}{
		{name: "file only", want: file},
		{name: "file, flags not set", flags: []string{}, want: file},
		{name: "environment", env: []string{
			"SRVCTL_SERVICE=_kms._udp", "SRVCTL_TTL=60", "SRVCTL_PRUNE=none", "SRVCTL_TIMEOUT=250ms",
			"SRVCTL_CONCURRENCY=2", "SRVCTL_LOG_LEVEL=debug", "SRVCTL_LOG_FORMAT=json", "SRVCTL_HOSTS=ignored",
		}, want: settings{"_kms._udp", 60, zones.PruneNone, 250 * time.Millisecond, 2, "debug", "json"}},
		{name: "later environment entry wins", env: []string{"SRVCTL_TTL=60", "SRVCTL_TTL=61"},
			want: settings{"_vlmcs._tcp", 61, zones.PruneAll, 5 * time.Second, 16, "warn", "console"}},
		{name: "empty environment value ignored", env: []string{"SRVCTL_TTL=", "SRVCTL_LOG_LEVEL="}, want: file},
		{name: "flags over environment and file", env: []string{"SRVCTL_LOG_LEVEL=debug", "SRVCTL_LOG_FORMAT=json"},
			flags: []string{"--log-level=error", "--log-format", "console"},
			want:  settings{"_vlmcs._tcp", 600, zones.PruneAll, 5 * time.Second, 16, "error", "console"}},
		{name: "one flag", env: []string{"SRVCTL_LOG_LEVEL=debug", "SRVCTL_LOG_FORMAT=json"}, flags: []string{"--log-format=console"},
			want: settings{"_vlmcs._tcp", 600, zones.PruneAll, 5 * time.Second, 16, "debug", "console"}},
		{name: "bad environment values", env: []string{
			"SRVCTL_SERVICE=vlmcs", "SRVCTL_TTL=abc", "SRVCTL_PRUNE=some", "SRVCTL_TIMEOUT=soon",
			"SRVCTL_CONCURRENCY=0", "SRVCTL_LOG_LEVEL=loud", "SRVCTL_LOG_FORMAT=xml",
		}, problems: []string{
			`SRVCTL_SERVICE: "vlmcs" is not of the form _service._proto`,
			`SRVCTL_TTL: "abc" is not a number`,
			`SRVCTL_PRUNE: "some" is not one of none, stale, all`,
			`SRVCTL_TIMEOUT: "soon" is not a duration (like 5s, 1500ms or 1m30s)`,
			"SRVCTL_CONCURRENCY: 0 is out of range 1-1024",
			`SRVCTL_LOG_LEVEL: "loud" is not one of debug, info, warn, error`,
			`SRVCTL_LOG_FORMAT: "xml" is not one of console, json`,
		}},
		{name: "bad flags", env: []string{"SRVCTL_LOG_LEVEL=loud"}, flags: []string{"--log-level=trace", "--log-format=xml"}, problems: []string{
			`--log-level: "trace" is not one of debug, info, warn, error`,
			`--log-format: "xml" is not one of console, json`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := LoadOptions{Path: path, Env: append([]string{"PATH=/bin"}, tt.env...)}
			if tt.flags != nil {
				fs := pflag.NewFlagSet("srvctl", pflag.ContinueOnError)
				fs.StringP("config", "c", "", "")
				fs.String("log-level", "", "")
				fs.String("log-format", "", "")
				if err := fs.Parse(tt.flags); err != nil {
					t.Fatal(err)
				}
				opts.Flags = fs
			}
			cfg, err := Load(opts)
			if tt.problems != nil {
				if diff := cmp.Diff(tt.problems, problemList(t, err)); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := settings{cfg.Service, cfg.TTL, cfg.Prune, cfg.Timeout, cfg.Concurrency, cfg.LogLevel, cfg.LogFormat}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadEnvDefaults checks that a nil Env means the process's environment
// and that SRVCTL_CONFIG names the file when Path is empty.
func TestLoadEnvDefaults(t *testing.T) {
	path := writeConfig(t, allOK)
	t.Setenv("SRVCTL_CONFIG", path)
	t.Setenv("SRVCTL_TTL", "42")
	cfg, err := Load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != path || cfg.TTL != 42 {
		t.Errorf("Load() = path %s, TTL %d; want %s, 42", cfg.Path, cfg.TTL, path)
	}
	// An explicit Env replaces the process's environment.
	cfg, err = Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TTL != DefaultTTL {
		t.Errorf("Load(Env: empty) TTL = %d, want %d", cfg.TTL, DefaultTTL)
	}
}

// TestLoadRelativeSecretFile checks that a relative secret_file is relative
// to the config file's directory, not the working directory, also when the
// config path itself is relative.
func TestLoadRelativeSecretFile(t *testing.T) {
	path := writeConfig(t, hostsOK+zonesOK+"keys:\n  - name: srvctl-corp\n    secret_file: keys/corp.key\n")
	dir := filepath.Dir(path)
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "corp.key"), filepath.Join(dir, "keys", "corp.key")); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "keys", "corp.key"); cfg.Keys[0].SecretFile != want {
		t.Errorf("SecretFile = %s, want %s", cfg.Keys[0].SecretFile, want)
	}
	if cfg.Keys[0].Secret.Reveal() != corpSecret {
		t.Error("the secret was not read")
	}

	t.Chdir(filepath.Dir(dir))
	rel := filepath.Join(filepath.Base(dir), "srvctl.yaml")
	cfg, err = Load(LoadOptions{Path: rel, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "keys", "corp.key"); cfg.Keys[0].SecretFile != want || cfg.Path != rel {
		t.Errorf("Load(%s): Path %s, SecretFile %s; want %s, %s", rel, cfg.Path, cfg.Keys[0].SecretFile, rel, want)
	}
}

// TestLoadNoSecrets checks that NoSecrets validates everything but opens no
// secret file.
func TestLoadNoSecrets(t *testing.T) {
	path := writeConfig(t, hostsOK+zonesOK+`keys:
  - name: srvctl-corp
    secret_file: /nonexistent/corp.key
  - name: other
    algorithm: hmac-sha512
    secret_file: open.key
`)
	cfg, err := Load(LoadOptions{Path: path, Env: []string{}, NoSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{
		{Name: "srvctl-corp.", Algorithm: "hmac-sha256", SecretFile: "/nonexistent/corp.key"},
		{Name: "other.", Algorithm: "hmac-sha512", SecretFile: filepath.Join(filepath.Dir(path), "open.key"), Credential: "open.key"},
	}
	if diff := cmp.Diff(want, cfg.Keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if _, err := Load(LoadOptions{Path: path, Env: []string{}}); err == nil {
		t.Error("Load without NoSecrets accepted a missing and a readable secret file")
	}
}

// TestSecretNeverPrints checks that no way of printing or marshalling a
// loaded config shows a secret.
func TestSecretNeverPrints(t *testing.T) {
	path := writeConfig(t, designExample)
	cfg, err := Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Keys[0]
	if k.Secret.Reveal() != corpSecret {
		t.Fatalf("Reveal() does not return the secret")
	}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, *cfg), fmt.Sprintf(verb, cfg.Keys),
			fmt.Sprintf(verb, k), fmt.Sprintf(verb, &k), fmt.Sprintf(verb, k.Secret))
	}
	outputs = append(outputs, fmt.Sprint(k.Secret), fmt.Sprintln(cfg, k), k.Secret.String(), k.Secret.GoString())
	for _, v := range []any{cfg, k, k.Secret} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		outputs = append(outputs, string(b))
	}
	if b, err := k.Secret.MarshalText(); err != nil || string(b) != "[redacted]" {
		t.Errorf("MarshalText() = %q, %v", b, err)
	}
	if v, err := k.Secret.MarshalYAML(); err != nil || v != "[redacted]" {
		t.Errorf("MarshalYAML() = %q, %v", v, err)
	}
	for _, out := range outputs {
		if strings.Contains(out, corpSecret[:12]) {
			t.Errorf("output contains the secret: %s", out)
		}
	}
	if got := fmt.Sprintf("%v|%s|%#v|%q", k.Secret, k.Secret, k.Secret, k.Secret); got != "[redacted]|[redacted]|[redacted]|[redacted]" {
		t.Errorf("Secret formats as %s", got)
	}
}

// TestLoadEmptyValues checks that optional keys set to null or "" take
// their defaults, like keys left out.
func TestLoadEmptyValues(t *testing.T) {
	path := writeConfig(t, `
service: ""
ttl: ~
prune:
timeout: ''
concurrency: null
log_level: ""
log_format: ""
hosts:
  - name: kms1.corp.example.com
    port: ~
    priority:
    weight: null
keys:
  - name: srvctl-corp
    algorithm: ""
    secret_file: bare.key
zones:
  - name: corp.example.com
    backend: ""
    server: 192.0.2.53
    key: srvctl-corp
    hosts: ~
    overrides: ~
    file: ~
`)
	cfg, err := Load(LoadOptions{Path: path, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Path: path, Service: "_vlmcs._tcp", TTL: 3600, Prune: zones.PruneStale, Timeout: 5 * time.Second, Audit: defaultAudit,
		Concurrency: 16, LogLevel: "info",
		Hosts: []Host{{Name: "kms1.corp.example.com.", Port: 1688}},
		Keys: []Key{{Name: "srvctl-corp.", Algorithm: "hmac-sha256",
			SecretFile: filepath.Join(filepath.Dir(path), "bare.key"), Credential: "bare.key", Secret: corpSecret}},
		Zones:    []Zone{{Name: "corp.example.com.", Backend: "rfc2136", Server: "192.0.2.53:53", Key: "srvctl-corp."}},
		Schedule: "@every 1h",
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Load() mismatch (-want +got):\n%s", diff)
	}
}

// TestCredentialsDirectory checks that a secret_file written as a bare file
// name is read from $CREDENTIALS_DIRECTORY when systemd sets it, and that
// other paths are not.
func TestCredentialsDirectory(t *testing.T) {
	creds := t.TempDir()
	// Newer systemd grants the service's user read access by an ACL,
	// whose mask shows as group bits: 0440.
	if err := os.WriteFile(filepath.Join(creds, "corp.key"), []byte(corpSecret+"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(creds, "corp.key"), 0o440); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, hostsOK+zonesOK+`keys:
  - name: srvctl-corp
    secret_file: corp.key
`)
	// The config's directory has no corp.key: only the credential can
	// satisfy it.
	if err := os.Remove(filepath.Join(filepath.Dir(path), "corp.key")); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: path, Env: []string{"CREDENTIALS_DIRECTORY=" + creds}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{{Name: "srvctl-corp.", Algorithm: "hmac-sha256", SecretFile: filepath.Join(creds, "corp.key"), Credential: "corp.key", Secret: corpSecret}}
	if diff := cmp.Diff(want, cfg.Keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}

	// Without the variable, the same config looks beside itself, and
	// says so when the file is not there.
	_, err = Load(LoadOptions{Path: path, Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(filepath.Dir(path), "corp.key")) {
		t.Errorf("without CREDENTIALS_DIRECTORY: got %v, want an error naming the file beside the config", err)
	}

	// A path with a directory is never a credential.
	path = writeConfig(t, hostsOK+zonesOK+`keys:
  - name: srvctl-corp
    secret_file: ./bare.key
`)
	cfg, err = Load(LoadOptions{Path: path, Env: []string{"CREDENTIALS_DIRECTORY=" + creds}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Keys[0]; got.Credential != "" || got.SecretFile != filepath.Join(filepath.Dir(path), "bare.key") {
		t.Errorf("./bare.key: got credential %q, file %s; want none, beside the config", got.Credential, got.SecretFile)
	}
}
