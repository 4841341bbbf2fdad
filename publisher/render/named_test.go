package render

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/bindtest"
)

// Keys of the named test. bindtest generates and includes the first three;
// the other two are defined by rendered statements only.
const (
	srvctlKey  = "render-srvctl" // srvctl's key in every dynamic zone
	hostKey    = "kms1-key"      // a KMS host's own key (HostKeys)
	otherKey   = "render-other"  // known to named, granted nothing
	secretKey  = "render-secret" // a key statement rendered with its secret
	keygenKey  = "render-keygen" // tsig-keygen output, rendered as an include
	unsignedNS = ""              // no key: an unsigned update
)

// TestNamedEnforcesRenderedConf puts the rendered statements, whole, into
// a real named (each zone-level statement wrapped into its zone block as
// CheckNamedConf does, with real zone files) and sends real nsupdate
// updates: each grant allows exactly what its comment says.
func TestNamedEnforcesRenderedConf(t *testing.T) {
	bindtest.RequireNamed(t)
	dir := t.TempDir()

	// The two keys named learns only from the rendered output.
	secret := make([]byte, 32)
	rand.Read(secret) // never fails; it crashes the program if it would
	secretB64 := base64.StdEncoding.EncodeToString(secret)
	secretFile := filepath.Join(dir, secretKey+".key") // for nsupdate -k
	writeFile(t, secretFile, fmt.Sprintf("key %q {\n\talgorithm hmac-sha256;\n\tsecret %q;\n};\n", secretKey, secretB64))
	keygenFile := filepath.Join(dir, keygenKey+".key")
	writeFile(t, keygenFile, tsigKeygen(t, keygenKey))

	fragment := filepath.Join(dir, "static.test.vlmcs")
	writeFile(t, fragment, "_vlmcs._tcp.static.test. 300 IN SRV 0 0 1688 kms1.corp.example.com.\n")

	dynamic := NamedConf{
		Keys: []Key{
			{Name: secretKey, Secret: secretB64, SecretFile: "/unused/" + secretKey + ".key"},
			{Name: keygenKey, SecretFile: keygenFile, KeygenFile: true},
		},
		Zones: []Zone{
			{Name: "policy.test.", Key: srvctlKey},
			{Name: "capped.test.", Key: srvctlKey, MaxRecords: 2},
			{Name: "hosts.test.", Key: srvctlKey, HostKeys: []string{hostKey}, Kerberos: "CORP.EXAMPLE.COM"},
			{Name: "secret.test.", Key: secretKey},
			{Name: "keygen.test.", Key: keygenKey},
			{Name: "static.test.", Backend: "bindfile", File: fragment},
		},
		WithSecrets: true,
		Source:      "named_test.go",
	}
	legacy := NamedConf{
		Zones: []Zone{{Name: "legacy.test.", Key: srvctlKey}},
		Style: StyleAllowUpdate,
	}
	open := NamedConf{
		Zones:       []Zone{{Name: "open.test."}},
		Style:       StyleAllowUpdate,
		AllowUpdate: []string{"127.0.0.1"},
		Insecure:    true,
	}

	zoneFile := func(zone string) string { return filepath.Join(dir, "db."+zone) }
	var conf []string
	var zoneNames []string
	for _, c := range []NamedConf{dynamic, legacy, open} {
		var b bytes.Buffer
		if err := WriteNamedConf(&b, c); err != nil {
			t.Fatal(err)
		}
		assembled, _, err := assemble(b.Bytes(), c.Zones, zoneFile)
		if err != nil {
			t.Fatal(err)
		}
		conf = append(conf, string(assembled))
		for _, z := range c.Zones {
			name := strings.TrimSuffix(z.Name, ".")
			zoneNames = append(zoneNames, name)
			body := "$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n"
			if z.Backend == "bindfile" {
				body += includeLine(t, b.String()) + "\n"
			}
			writeFile(t, zoneFile(name), body)
		}
	}

	// named refuses A records at names with underscores (check-names) on
	// its own: turn that off, so that only the rendered policy refuses them.
	s := bindtest.Start(t, bindtest.Options{
		Keys:    []string{srvctlKey, hostKey, otherKey},
		Options: []string{"check-names primary ignore;"},
		Conf:    conf,
	})
	waitForZones(t, s, zoneNames)

	const srv = "IN SRV 0 100 1688 kms1.corp.example.com."
	tests := []struct {
		name   string
		key    string // key name, or unsignedNS
		script string
		denied bool              // the update must fail with REFUSED
		query  string            // then ask for this name...
		qtype  uint16            // ...and type
		want   []string          // and get these records (rdata)
		keys   map[string]string // key files for keys bindtest does not know
		check  func(*testing.T, *bindtest.Server)
	}{
		{name: "srvctl's key adds the SRV record", key: srvctlKey,
			script: "update add _vlmcs._tcp.policy.test. 60 " + srv,
			query:  "_vlmcs._tcp.policy.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},
		{name: "srvctl's key: an A record at the same name is refused", key: srvctlKey, denied: true,
			script: "check-names off\nupdate add _vlmcs._tcp.policy.test. 60 IN A 192.0.2.1",
			query:  "_vlmcs._tcp.policy.test.", qtype: dns.TypeA},
		{name: "srvctl's key: an SRV record at another name is refused", key: srvctlKey, denied: true,
			script: "update add _other._tcp.policy.test. 60 " + srv,
			query:  "_other._tcp.policy.test.", qtype: dns.TypeSRV},
		{name: "srvctl's key: an SRV record below the name is refused", key: srvctlKey, denied: true,
			script: "update add x._vlmcs._tcp.policy.test. 60 " + srv,
			query:  "x._vlmcs._tcp.policy.test.", qtype: dns.TypeSRV},
		{name: "srvctl's key: deleting the zone's NS is refused", key: srvctlKey, denied: true,
			script: "update delete policy.test. NS",
			query:  "policy.test.", qtype: dns.TypeNS, want: []string{"ns.policy.test."}},
		{name: "a host key not granted in the zone is refused", key: hostKey, denied: true,
			script: "update add _vlmcs._tcp.policy.test. 60 IN SRV 0 0 1688 kms2.corp.example.com.",
			query:  "_vlmcs._tcp.policy.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},
		{name: "an unsigned update is refused", key: unsignedNS, denied: true,
			script: "update add _vlmcs._tcp.policy.test. 60 IN SRV 0 0 1688 kms2.corp.example.com.",
			query:  "_vlmcs._tcp.policy.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},

		{name: "SRV(2) drops the third record silently", key: srvctlKey,
			script: "update add _vlmcs._tcp.capped.test. 60 IN SRV 0 0 1688 kms1.corp.example.com.\n" +
				"update add _vlmcs._tcp.capped.test. 60 IN SRV 0 0 1688 kms2.corp.example.com.\n" +
				"update add _vlmcs._tcp.capped.test. 60 IN SRV 0 0 1688 kms3.corp.example.com.",
			query: "_vlmcs._tcp.capped.test.", qtype: dns.TypeSRV, check: func(t *testing.T, s *bindtest.Server) {
				got, err := s.SRV("capped.test")
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 {
					t.Errorf("SRV(2): %d records kept, want 2: %v", len(got), got)
				}
			}},

		{name: "the host key adds its SRV record", key: hostKey,
			script: "update add _vlmcs._tcp.hosts.test. 60 " + srv,
			query:  "_vlmcs._tcp.hosts.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},
		{name: "the host key: an A record at the same name is refused", key: hostKey, denied: true,
			script: "check-names off\nupdate add _vlmcs._tcp.hosts.test. 60 IN A 192.0.2.1",
			query:  "_vlmcs._tcp.hosts.test.", qtype: dns.TypeA},
		{name: "the host key: an SRV record at another name is refused", key: hostKey, denied: true,
			script: "update add _other._tcp.hosts.test. 60 " + srv,
			query:  "_other._tcp.hosts.test.", qtype: dns.TypeSRV},
		{name: "a known key without a grant is refused (the Kerberos grant takes no TSIG key)", key: otherKey, denied: true,
			script: "update add _vlmcs._tcp.hosts.test. 60 IN SRV 0 0 1688 kms2.corp.example.com.",
			query:  "_vlmcs._tcp.hosts.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},

		{name: "a key statement rendered with its secret works", key: secretKey, keys: map[string]string{secretKey: secretFile},
			script: "update add _vlmcs._tcp.secret.test. 60 " + srv,
			query:  "_vlmcs._tcp.secret.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},
		{name: "an included tsig-keygen file works", key: keygenKey, keys: map[string]string{keygenKey: keygenFile},
			script: "update add _vlmcs._tcp.keygen.test. 60 " + srv,
			query:  "_vlmcs._tcp.keygen.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},

		{name: "the $INCLUDE line loads the bindfile fragment", query: "_vlmcs._tcp.static.test.", qtype: dns.TypeSRV,
			want: []string{"0 0 1688 kms1.corp.example.com."}},
		{name: "a bindfile zone takes no update", key: srvctlKey, denied: true,
			script: "update add _vlmcs._tcp.static.test. 60 IN SRV 0 0 1688 kms2.corp.example.com.",
			query:  "_vlmcs._tcp.static.test.", qtype: dns.TypeSRV, want: []string{"0 0 1688 kms1.corp.example.com."}},

		{name: "allow-update: the key adds the SRV record", key: srvctlKey,
			script: "update add _vlmcs._tcp.legacy.test. 60 " + srv,
			query:  "_vlmcs._tcp.legacy.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},
		{name: "allow-update: the key can change any other record too, as the comment warns", key: srvctlKey,
			script: "update add www.legacy.test. 60 IN A 192.0.2.66",
			query:  "www.legacy.test.", qtype: dns.TypeA, want: []string{"192.0.2.66"}},

		{name: "insecure allow-update: an unsigned update adds the SRV record", key: unsignedNS,
			script: "update add _vlmcs._tcp.open.test. 60 " + srv,
			query:  "_vlmcs._tcp.open.test.", qtype: dns.TypeSRV, want: []string{"0 100 1688 kms1.corp.example.com."}},
		{name: "insecure allow-update: anyone rewrites any record, as the warning says", key: unsignedNS,
			script: "update add www.open.test. 60 IN A 192.0.2.66",
			query:  "www.open.test.", qtype: dns.TypeA, want: []string{"192.0.2.66"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.script != "" {
				var err error
				switch file, own := tt.keys[tt.key]; {
				case own:
					err = nsupdate(s, file, tt.script)
				case tt.key == unsignedNS:
					err = nsupdate(s, "", tt.script)
				default:
					err = s.NSUpdate(tt.key, tt.script)
				}
				switch {
				case tt.denied && err == nil:
					t.Fatal("the update was accepted, want REFUSED")
				case tt.denied && !strings.Contains(err.Error(), "REFUSED"):
					t.Fatalf("the update failed, but not with REFUSED: %v", err)
				case !tt.denied && err != nil:
					t.Fatalf("the update was refused: %v", err)
				}
			}
			if tt.check != nil {
				tt.check(t, s)
				return
			}
			if diff := cmp.Diff(tt.want, answers(t, s, tt.query, tt.qtype)); diff != "" {
				t.Errorf("%s %s after the update (-want +got):\n%s", tt.query, dns.TypeToString[tt.qtype], diff)
			}
		})
	}
}

// includeLine returns the zone-file line of the rendered output's bindfile
// comment block, uncommented.
func includeLine(t *testing.T, out string) string {
	t.Helper()
	for l := range strings.SplitSeq(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "//\t$INCLUDE "); ok {
			return "$INCLUDE " + rest
		}
	}
	t.Fatalf("no $INCLUDE line in:\n%s", out)
	return ""
}

// answers returns the rdata of the answers to name/qtype, sorted; nil for
// none.
func answers(t *testing.T, s *bindtest.Server, name string, qtype uint16) []string {
	t.Helper()
	r, err := s.Query(name, qtype)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	slices.Sort(out)
	return out
}

// waitForZones polls until named answers every zone's SOA with authority:
// zones from Options.Conf are not waited for by Start.
func waitForZones(t *testing.T, s *bindtest.Server, names []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, z := range names {
		for {
			r, err := s.Query(z, dns.TypeSOA)
			if err == nil && r.Rcode == dns.RcodeSuccess && r.Authoritative {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("named does not serve %s (%v); named.log:\n%s", z, err, s.LogTail(30))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// nsupdate runs the real nsupdate against s with the key in keyFile ("" for
// an unsigned update), like bindtest's NSUpdate for keys bindtest does not
// know.
func nsupdate(s *bindtest.Server, keyFile, script string) error {
	path, err := findTool("nsupdate")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var args []string
	if keyFile != "" {
		args = []string{"-k", keyFile}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(fmt.Sprintf("server 127.0.0.1 %d\n%s\nsend\n", s.Port, script))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("nsupdate: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// tsigKeygen returns the real tsig-keygen's output for a new hmac-sha256
// key called name.
func tsigKeygen(t *testing.T, name string) string {
	t.Helper()
	path, err := findTool("tsig-keygen")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-a", "hmac-sha256", name).Output()
	if err != nil {
		t.Fatalf("tsig-keygen: %v", err)
	}
	return string(out)
}

// findTool finds a BIND program in PATH or the sbin/bin directories.
func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s (BIND 9) is not installed: apt-get install bind9 bind9-dnsutils", name)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
