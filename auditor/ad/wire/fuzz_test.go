package wire_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz")

// seeds are the inputs every fuzz target starts from; they are also
// committed as testdata/fuzz/<target>/<name> (TestSeedCorpus keeps the two
// in step).
func seeds() map[string]map[string]any {
	samba := func(name string) []byte { // a value captured from Samba (testdata/captured)
		text, err := os.ReadFile(filepath.Join("testdata", "captured", name))
		if err != nil {
			panic(err)
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
		if err != nil {
			panic(err)
		}
		return b
	}
	sd := sdRaw(nodeControl, "ogsd", kms1Raw(), daRaw(), nil, nodeDACLRaw())
	sdWin := sdRaw(nodeControl|0x10, "sdog", kms1Raw(), daRaw(), aclRaw(4, objACERaw(0x07, 0x42, 0x20, dnsRecordGUIDRaw, nil, sidRaw(1, 0))), nodeDACLRaw())
	return map[string]map[string]any{
		"FuzzParseSID": {
			"everyone": sidRaw(1, 0), "domain": kms1Raw(), "hexauth": sidRaw(1<<40, 1, 2), "nosub": sidRaw(5),
			"toomany": cat([]byte{1, 16, 0, 0, 0, 0, 0, 5}, make([]byte, 64)), "cut": kms1Raw()[:13],
			"samba": samba("group-objectSid.b64"),
		},
		"FuzzParseSIDString": {
			"everyone": "S-1-1-0", "domain": "S-1-5-21-1000-2000-3000-1104", "hex": "S-1-0x000100000000-7", "bad": "S-1-5-x",
		},
		"FuzzParseGUID": {
			"dnsrecord": "e0fa1e69-9b45-11d0-afdd-00c04fd930c9", "braces": "{D5EB2EB7-BE4E-463B-A214-634A44D7392E}", "bad": "e0fa1e69-9b45",
		},
		"FuzzParseACL": {
			"node": nodeDACLRaw(), "empty": aclRaw(2),
			"raw":      aclRaw(4, cat([]byte{0x11, 0x00}, le16(20), le32(1), sidRaw(16, 0x2000)), cat([]byte{0x09, 0x02}, le16(12), le32(0x20), []byte("artx"))),
			"trailing": cat([]byte{2, 0}, le16(8+24+4), le16(1), le16(0), cat([]byte{0x00, 0x00}, le16(24), le32(0x20), sidRaw(1, 0), []byte{9, 9, 9, 9}), make([]byte, 4)),
			"samba-dacl": func() []byte {
				b := samba("vlmcs-nTSecurityDescriptor.b64")
				return b[binary.LittleEndian.Uint32(b[16:]):]
			}(),
			"deny": aclRaw(4, objACERaw(0x06, 0x0A, 0x20, dnsTombstonedGUIDRaw, dnsNodeClassGUIDRaw, kms2Raw()), aceRaw(0x01, 0, 0x20, kms2Raw())),
		},
		"FuzzParseSecurityDescriptor": {
			"samba": sd, "windows": sdWin, "nulldacl": sdRaw(0x8004, "o", kms1Raw(), nil, nil, nil),
			"gap": cat(sd, []byte{0, 0, 0, 0}), "empty": sdRaw(0x8004, "od", kms1Raw(), nil, nil, aclRaw(2)),
			"samba-vlmcs": samba("vlmcs-nTSecurityDescriptor.b64"),
		},
		"FuzzParseDNSRecord": {
			"srv": kms1SRVRaw(), "static": recordRaw(33, 1, 3600, 0, srvDataRaw(10, 0, 1688, countNameRaw("kms2", "corp", "example", "com"))),
			"tombstone": recordRaw(0, 9, 0, 0, le64(jan2024FT)), "a": recordRaw(1, 3, 1200, jan2024Hours, []byte{192, 0, 2, 1}),
			"escaped":   recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, countNameRaw("a.b c\\\x00\xff", "example"))),
			"padded":    recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 1688, []byte{7, 1, 3, 'k', 'm', 's', 0, 0, 0})),
			"root":      recordRaw(33, 7, 3600, 0, srvDataRaw(0, 0, 0, []byte{1, 0, 0})),
			"samba-srv": samba("vlmcs-dnsRecord-srv.b64"), "samba-static": samba("static-dnsRecord.b64"), "samba-tombstone": samba("tombstone-dnsRecord.b64"),
		},
		"FuzzParseDNSProperty": {
			"allowupdate": propRaw(0x02, []byte{2}, []byte{0, 0, 0, 0}), "norefresh": propRaw(0x10, le32(168), []byte{0}),
			"aging": propRaw(0x40, le32(1), nil), "short": cat(le32(0), le32(0), le32(0), le32(1), le32(0x92), le32(0)),
			"samba-allowupdate": samba("zone-dNSProperty-1.b64"), "samba-securetime": samba("zone-dNSProperty-2.b64"),
		},
	}
}

func addSeeds(f *testing.F) {
	for _, v := range seeds()[f.Name()] {
		f.Add(v)
	}
}

// TestSeedCorpus writes (with -update) or checks the committed seed corpus.
func TestSeedCorpus(t *testing.T) {
	for target, inputs := range seeds() {
		dir := filepath.Join("testdata", "fuzz", target)
		names := make([]string, 0, len(inputs))
		for n := range inputs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			var lit string
			switch v := inputs[name].(type) {
			case []byte:
				lit = "[]byte(" + strconv.Quote(string(v)) + ")"
			case string:
				lit = "string(" + strconv.Quote(v) + ")"
			}
			want := []byte("go test fuzz v1\n" + lit + "\n")
			path := filepath.Join(dir, "seed-"+name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestSeedCorpus -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale (run go test -run TestSeedCorpus -update)", path)
			}
		}
	}
}

func FuzzParseSID(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		sid, n, err := wire.ParseSID(b)
		if err != nil {
			return
		}
		if n > len(b) || n != sid.Size() {
			t.Fatalf("n = %d, input %d bytes, SID size %d", n, len(b), sid.Size())
		}
		if !bytes.Equal(sid.Bytes(), b[:n]) {
			t.Fatalf("Bytes() = %x, parsed from %x", sid.Bytes(), b[:n])
		}
		back, err := wire.ParseSIDString(sid.String())
		if err != nil || !back.Equal(sid) {
			t.Fatalf("ParseSIDString(%s) = %s, %v", sid, back, err)
		}
	})
}

func FuzzParseSIDString(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		sid, err := wire.ParseSIDString(s)
		if err != nil {
			return
		}
		back, err := wire.ParseSIDString(sid.String())
		if err != nil || !back.Equal(sid) {
			t.Fatalf("%q: String %s parses to %s, %v", s, sid, back, err)
		}
		raw := sid.Bytes()
		bin, n, err := wire.ParseSID(raw)
		if err != nil || n != len(raw) || !bin.Equal(sid) {
			t.Fatalf("%q: Bytes %x parse to %s, %d, %v", s, raw, bin, n, err)
		}
	})
}

func FuzzParseGUID(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) == 16 {
			g, err := wire.GUIDFromBytes([]byte(s))
			if err != nil || string(g.Bytes()) != s {
				t.Fatalf("GUIDFromBytes(%x) = %s, %v", s, g, err)
			}
		}
		g, err := wire.ParseGUID(s)
		if err != nil {
			return
		}
		back, err := wire.ParseGUID(g.String())
		if err != nil || back != g {
			t.Fatalf("%q: String %s parses to %s, %v", s, g, back, err)
		}
	})
}

func FuzzParseACL(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		acl, n, err := wire.ParseACL(in)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("n = %d beyond the %d input bytes", n, len(b))
		}
		clear(in) // the ACL must not alias its input
		out, err := acl.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed ACL: %v", err)
		}
		if !bytes.Equal(out, b[:n]) {
			t.Fatalf("Marshal = %x\nparsed from %x", out, b[:n])
		}
		_ = acl.SDDL()
	})
}

func FuzzParseSecurityDescriptor(f *testing.F) {
	addSeeds(f)
	tokens := []wire.Token{wire.NewToken(kms1SID, groupSID), wire.NewToken(kms2SID), wire.NewToken(wire.Everyone),
		wire.NetworkToken(kms2SID, wire.Logon{Kerberos: true, DomainController: true}, groupSID)}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		sd, err := wire.ParseSecurityDescriptor(in)
		if err != nil {
			return
		}
		clear(in)
		out, err := sd.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed descriptor: %v", err)
		}
		if sd.Layout != nil && !bytes.Equal(out, b) {
			t.Fatalf("canonical layout %v not reproduced:\n got %x\nwant %x", sd.Layout, out, b)
		}
		back, err := wire.ParseSecurityDescriptor(out)
		if err != nil {
			t.Fatalf("parse(Marshal()) = %v\n%x", err, out)
		}
		if diff := cmp.Diff(sd, back, cmpopts.IgnoreFields(wire.SecurityDescriptor{}, "Layout")); diff != "" {
			t.Fatalf("parse(Marshal()) differs:\n%s", diff)
		}
		again, err := back.Marshal()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Marshal not stable: %v\n%x\n%x", err, out, again)
		}
		_ = sd.SDDL()
		for _, tok := range tokens {
			a := wire.CheckAccess(sd, tok)
			if a.NullDACL != sd.HasNullDACL() {
				t.Fatalf("NullDACL %v, HasNullDACL %v", a.NullDACL, sd.HasNullDACL())
			}
			_ = a.String()
		}
	})
}

func FuzzParseDNSRecord(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		r, err := wire.ParseDNSRecord(in)
		if err != nil {
			return
		}
		clear(in)
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed record %v: %v", r, err)
		}
		back, err := wire.ParseDNSRecord(out)
		if err != nil {
			t.Fatalf("parse(Marshal()) = %v\n%x", err, out)
		}
		if diff := cmp.Diff(r, back); diff != "" {
			t.Fatalf("parse(Marshal()) differs:\n%s", diff)
		}
		if again, err := back.Marshal(); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Marshal not stable: %v", err)
		}
		_ = r.String()
	})
}

func FuzzParseDNSProperty(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		p, err := wire.ParseDNSProperty(in)
		if err != nil {
			return
		}
		clear(in)
		if out := p.Marshal(); !bytes.Equal(out, b) {
			t.Fatalf("Marshal = %x\nparsed from %x", out, b)
		}
		_, _ = p.AllowUpdate()
		_, _ = p.Interval()
		_, _ = p.AgingEnabled()
		_ = p.ID.String()
	})
}
