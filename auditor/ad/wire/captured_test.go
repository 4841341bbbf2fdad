package wire_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

// Values captured from a real Samba 4.17 AD DC by internal/sambatest (see
// testdata/captured/captured.md, which also holds Samba's own decoding of
// every value). testdata/captured is a frozen copy, so the exact serials and
// timestamps below stay true; liveCaptured is the harness's current output,
// checked against the decoding Samba wrote next to it whenever it exists.
const liveCaptured = "../../../internal/sambatest/testdata/captured"

func TestCapturedFrozen(t *testing.T) {
	c := loadCaptured(t, "testdata/captured")
	checkCaptured(t, c)

	// The frozen copy's exact content, as captured.md documents it.
	if got := c.sid(t, "kms1-objectSid.b64").String(); got != "S-1-5-21-3464239111-2825661660-2272115092-1104" {
		t.Errorf("KMS1 SID = %s", got)
	}
	srv := c.record(t, "vlmcs-dnsRecord-srv.b64")
	if want := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC); srv.Serial != 110 || !srv.TimeStamp.Equal(want) {
		t.Errorf("_vlmcs._tcp record serial %d, refreshed %v; want 110, %v", srv.Serial, srv.TimeStamp, want)
	}
	tomb := c.record(t, "tombstone-dnsRecord.b64")
	// FILETIME 134397033395610490.
	if want := time.Date(2026, 11, 21, 2, 55, 39, 561049000, time.UTC); !tomb.EntombedAt.Equal(want) {
		t.Errorf("entombed at %v, want %v", tomb.EntombedAt, want)
	}
	sd := c.descriptor(t)
	if len(sd.DACL.ACEs) != 28 || sd.Control != 0x8404 {
		t.Errorf("descriptor: %d ACEs, control %#x; want 28, 0x8404", len(sd.DACL.ACEs), sd.Control)
	}
	a := wire.CheckAccess(sd, wire.NewToken(c.sid(t, "kms1-objectSid.b64"), c.sid(t, "group-objectSid.b64")))
	if a.DNSRecord.Index != 3 || a.DNSRecord.ACE != "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-3464239111-2825661660-2272115092-1104)" {
		t.Errorf("KMS1's write access decided by %v, want its explicit full control at index 3", a.DNSRecord)
	}
}

func TestCapturedLive(t *testing.T) {
	if _, err := os.Stat(filepath.Join(liveCaptured, "captured.md")); err != nil {
		// The capture is committed with the harness: its absence is a
		// broken tree, not a reason to test less.
		t.Fatalf("no capture in internal/sambatest/testdata/captured (%v): re-capture with SRVCTL_CAPTURE=1 go test -run '^TestCapture$' ./internal/sambatest/", err)
	}
	checkCaptured(t, loadCaptured(t, liveCaptured))
}

type captured struct {
	dir string
	// doc maps a file name to the lines of Samba's decoding in captured.md.
	doc map[string][]string
}

func loadCaptured(t *testing.T, dir string) captured {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "captured.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := captured{dir: dir, doc: map[string][]string{}}
	var section string
	var inBlock bool
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "### "):
			section = strings.Fields(line)[1]
		case line == "```" && section != "":
			inBlock = !inBlock
			if !inBlock {
				section = ""
			}
		case inBlock:
			c.doc[section] = append(c.doc[section], strings.TrimSpace(line))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c captured) raw(t *testing.T, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// field returns the value of "key : value" in Samba's decoding of name.
func (c captured) field(t *testing.T, name, key string) string {
	t.Helper()
	for _, l := range c.doc[name] {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("captured.md: no %q in the decoding of %s", key, name)
	return ""
}

// num returns the number Samba prints in parentheses ("0x001a (26)",
// "DNS_TYPE_SRV (33)").
func (c captured) num(t *testing.T, name, key string) uint64 {
	t.Helper()
	v := c.field(t, name, key)
	i := strings.LastIndex(v, "(")
	n, err := strconv.ParseUint(strings.TrimSuffix(v[i+1:], ")"), 10, 64)
	if i < 0 || err != nil {
		t.Fatalf("captured.md: %s %s = %q is not a number", name, key, v)
	}
	return n
}

func (c captured) sid(t *testing.T, name string) wire.SID {
	t.Helper()
	b := c.raw(t, name)
	s, n, err := wire.ParseSID(b)
	if err != nil || n != len(b) {
		t.Fatalf("%s: %v (%d of %d bytes)", name, err, n, len(b))
	}
	return s
}

func (c captured) record(t *testing.T, name string) wire.DNSRecord {
	t.Helper()
	b := c.raw(t, name)
	r, err := wire.ParseDNSRecord(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if out, err := r.Marshal(); err != nil || !bytes.Equal(out, b) {
		t.Errorf("%s: Marshal does not reproduce the value (%v)", name, err)
	}
	return r
}

func (c captured) descriptor(t *testing.T) *wire.SecurityDescriptor {
	t.Helper()
	b := c.raw(t, "vlmcs-nTSecurityDescriptor.b64")
	sd, err := wire.ParseSecurityDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sd.Marshal(); err != nil || !bytes.Equal(out, b) {
		t.Errorf("nTSecurityDescriptor: Marshal does not reproduce the value (%v)", err)
	}
	return sd
}

// checkCaptured asserts what captured.md says each value means.
func checkCaptured(t *testing.T, c captured) {
	kms1 := c.sid(t, "kms1-objectSid.b64")
	group := c.sid(t, "group-objectSid.b64")
	domain := kms1.Domain()
	t.Run("SIDs and GUID", func(t *testing.T) {
		if want := c.doc["kms1-objectSid.b64"][0]; kms1.String() != want {
			t.Errorf("KMS1 objectSid = %s, Samba says %s", kms1, want)
		}
		if want := c.doc["group-objectSid.b64"][0]; group.String() != want {
			t.Errorf("group objectSid = %s, Samba says %s", group, want)
		}
		if !group.Domain().Equal(domain) || !kms1.IsDomainSID() {
			t.Errorf("KMS1 %s and the group %s are not of one domain", kms1, group)
		}
		b := c.raw(t, "group-objectGUID.b64")
		g, err := wire.GUIDFromBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		if want := c.doc["group-objectGUID.b64"][0]; g.String() != want {
			t.Errorf("group objectGUID = %s, Samba says %s", g, want)
		}
	})

	t.Run("dnsRecord", func(t *testing.T) {
		for _, tt := range []struct {
			file   string
			srv    *wire.SRV
			static bool
		}{
			{"vlmcs-dnsRecord-srv.b64", &wire.SRV{Priority: 0, Weight: 100, Port: 1688, Target: "kms1.srvctl.test."}, false},
			{"static-dnsRecord.b64", &wire.SRV{Priority: 10, Weight: 5, Port: 1688, Target: "kms3.srvctl.test."}, true},
			{"tombstone-dnsRecord.b64", nil, true},
		} {
			r := c.record(t, tt.file)
			n := func(key string) uint64 { return c.num(t, tt.file, key) }
			if uint64(r.Type) != n("wType") || uint64(r.Version) != n("version") || uint64(r.Rank) != n("rank") ||
				uint64(r.Flags) != n("flags") || uint64(r.Serial) != n("dwSerial") || uint64(r.TTL) != n("dwTtlSeconds") ||
				uint64(r.Reserved) != n("dwReserved") || uint64(wire.HoursFromTime(r.TimeStamp)) != n("dwTimeStamp") {
				t.Errorf("%s: decoded %+v, differs from Samba's decoding %q", tt.file, r, c.doc[tt.file])
			}
			if r.Static() != tt.static {
				t.Errorf("%s: Static() = %v, want %v", tt.file, r.Static(), tt.static)
			}
			if diff := cmp.Diff(tt.srv, r.SRV); diff != "" {
				t.Errorf("%s: SRV (-want +got):\n%s", tt.file, diff)
			}
			if tt.srv != nil {
				if uint64(r.SRV.Priority) != n("wPriority") || uint64(r.SRV.Weight) != n("wWeight") || uint64(r.SRV.Port) != n("wPort") ||
					r.SRV.Target != c.field(t, tt.file, "nameTarget")+"." {
					t.Errorf("%s: SRV %+v differs from Samba's decoding", tt.file, r.SRV)
				}
			}
		}
		srv := c.record(t, "vlmcs-dnsRecord-srv.b64")
		tomb := c.record(t, "tombstone-dnsRecord.b64")
		// Samba prints NTTIME rounded to the second.
		want, err := time.Parse("Mon Jan 2 15:04:05 2006 MST", c.field(t, "tombstone-dnsRecord.b64", "EntombedTime"))
		if err != nil {
			t.Fatal(err)
		}
		if got := tomb.EntombedAt.Round(time.Second); !got.Equal(want) {
			t.Errorf("tombstone entombed at %v, Samba says %v", tomb.EntombedAt, want)
		}
		if tomb.EntombedAt.Before(srv.TimeStamp) {
			t.Errorf("the name was deleted (%v) before the record was registered (%v)", tomb.EntombedAt, srv.TimeStamp)
		}
	})

	t.Run("dNSProperty", func(t *testing.T) {
		byID := map[wire.PropertyID]wire.DNSProperty{}
		for i := 0; i <= 6; i++ {
			file := "zone-dNSProperty-" + strconv.Itoa(i) + ".b64"
			b := c.raw(t, file)
			p, err := wire.ParseDNSProperty(b)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if !bytes.Equal(p.Marshal(), b) {
				t.Errorf("%s: Marshal does not reproduce the value", file)
			}
			if uint64(p.ID) != c.num(t, file, "id") || uint64(len(p.Data)) != c.num(t, file, "wDataLength") ||
				uint64(p.Version) != c.num(t, file, "version") || uint64(p.NameLength) != c.num(t, file, "namelength") {
				t.Errorf("%s: decoded %+v, differs from Samba's decoding %q", file, p, c.doc[file])
			}
			if !bytes.Equal(p.Name, []byte{0, 0, 0, 0}) {
				t.Errorf("%s: name field %x, want Samba's 4 zero bytes", file, p.Name)
			}
			byID[p.ID] = p
		}
		if u, err := byID[wire.PropertyAllowUpdate].AllowUpdate(); err != nil || u != wire.UpdateSecureOnly {
			t.Errorf("ALLOW_UPDATE = %v, %v; want secure only", u, err)
		}
		for _, id := range []wire.PropertyID{wire.PropertyNoRefreshInterval, wire.PropertyRefreshInterval} {
			if d, err := byID[id].Interval(); err != nil || d != 168*time.Hour {
				t.Errorf("%s = %v, %v; want 168h", id, d, err)
			}
		}
		if on, err := byID[wire.PropertyAgingState].AgingEnabled(); err != nil || on {
			t.Errorf("AGING_STATE = %v, %v; want off", on, err)
		}
	})

	t.Run("nTSecurityDescriptor", func(t *testing.T) {
		sd := c.descriptor(t)
		if sd.Owner == nil || !sd.Owner.Equal(kms1) {
			t.Errorf("owner %v, want KMS1 %s", sd.Owner, kms1)
		}
		if sd.Group == nil || !sd.Group.Equal(domain.WithRID(wire.RIDDomainComputers)) {
			t.Errorf("group %v, want Domain Computers", sd.Group)
		}
		if sd.SACL != nil || sd.HasNullDACL() {
			t.Errorf("SACL %v, null DACL %v; SD flags 7 reads owner, group and DACL", sd.SACL, sd.HasNullDACL())
		}
		if uint64(sd.Control) != c.num(t, "vlmcs-nTSecurityDescriptor.b64", "type") {
			t.Errorf("control %#x differs from Samba's decoding", sd.Control)
		}
		samba := c.field(t, "vlmcs-nTSecurityDescriptor.b64", "SDDL, SIDs in full")
		if diff := cmp.Diff(splitSDDL(t, samba), splitSDDL(t, sd.SDDL())); diff != "" {
			t.Errorf("SDDL differs from Samba's (-samba +ours):\n%s", diff)
		}
	})

	t.Run("access", func(t *testing.T) {
		sd := c.descriptor(t)
		computers := domain.WithRID(wire.RIDDomainComputers)
		owner := wire.CheckAccess(sd, wire.NewToken(kms1, group, computers))
		if owner.Verdict != wire.CanUpdate || !owner.Owner || owner.DNSRecord.Source != wire.SourceACE ||
			!strings.HasSuffix(owner.DNSRecord.ACE, ";;;"+kms1.String()+")") {
			t.Errorf("KMS1, the node's owner: %s", owner)
		}
		// KMS2: in the group, not the owner, nothing granted yet.
		kms2 := wire.NewToken(domain.WithRID(99999), group, computers)
		before := wire.CheckAccess(sd, kms2)
		if before.Verdict != wire.Cannot || before.DNSRecord.Decision != wire.NotGranted || before.WriteDAC.Decision != wire.NotGranted || before.Owner {
			t.Errorf("KMS2 before the grant: %s", before)
		}
		admin := wire.CheckAccess(sd, wire.NewToken(domain.WithRID(500), domain.WithRID(wire.RIDDomainAdmins)))
		if admin.Verdict != wire.CanUpdate {
			t.Errorf("a Domain Admin: %s", admin)
		}

		// srvctl ad grant: one ACE for the group, after the explicit ACEs.
		explicit := 0
		for explicit < len(sd.DACL.ACEs) && sd.DACL.ACEs[explicit].Flags&wire.ACEInherited == 0 {
			explicit++
		}
		old := append([]wire.ACE(nil), sd.DACL.ACEs...)
		ace := wire.ACE{Type: wire.ACEAccessAllowed, Mask: wire.RightReadProperty | wire.RightWriteProperty, SID: group}
		idx, added, err := wire.AddAllowACE(sd.DACL, ace)
		if err != nil || !added || idx != explicit {
			t.Fatalf("AddAllowACE = %d, %v, %v; want %d, true", idx, added, err, explicit)
		}
		out, err := sd.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := wire.ParseSecurityDescriptor(out)
		if err != nil {
			t.Fatal(err)
		}
		want := append(append(append([]wire.ACE(nil), old[:idx]...), ace), old[idx:]...)
		if diff := cmp.Diff(want, back.DACL.ACEs); diff != "" {
			t.Errorf("DACL after the grant (-want +got):\n%s", diff)
		}
		after := wire.CheckAccess(back, kms2)
		if after.Verdict != wire.CanUpdate || after.DNSRecord.Index != idx || after.DNSRecord.ACE != "(A;;RPWP;;;"+group.String()+")" {
			t.Errorf("KMS2 after the grant: %s", after)
		}
		if outsider := wire.CheckAccess(back, wire.NewToken(domain.WithRID(99998), computers)); outsider.Verdict != wire.Cannot {
			t.Errorf("a host outside the group after the grant: %s", outsider)
		}
	})
}

// sddlParts is an SDDL string cut into comparable pieces: rights as sorted
// sets, since Samba writes them in another order than Windows.
type sddlParts struct {
	Owner, Group, DACLFlags string
	ACEs                    [][]string
}

var aceRE = regexp.MustCompile(`\(([^)]*)\)`)

func splitSDDL(t *testing.T, s string) sddlParts {
	t.Helper()
	o, rest, ok1 := strings.Cut(strings.TrimPrefix(s, "O:"), "G:")
	g, d, ok2 := strings.Cut(rest, "D:")
	if !strings.HasPrefix(s, "O:") || !ok1 || !ok2 {
		t.Fatalf("SDDL %q: want O:…G:…D:…", s)
	}
	p := sddlParts{Owner: o, Group: g}
	p.DACLFlags, _, _ = strings.Cut(d, "(")
	for _, m := range aceRE.FindAllStringSubmatch(d, -1) {
		f := strings.Split(m[1], ";")
		if len(f) != 6 {
			t.Fatalf("ACE %q: want 6 fields", m[0])
		}
		var rights []string
		for i := 0; i+2 <= len(f[2]); i += 2 {
			rights = append(rights, f[2][i:i+2])
		}
		sort.Strings(rights)
		f[2] = strings.Join(rights, "")
		p.ACEs = append(p.ACEs, f)
	}
	return p
}
