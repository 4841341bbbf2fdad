package bindfile

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/srvctl/srvctl/internal/golden"
	"github.com/srvctl/srvctl/zones"
)

const (
	testZone  = "lab.example.org."
	testOwner = "_vlmcs._tcp.lab.example.org."
)

func rec(target string, prio, weight uint16, ttl uint32) zones.Record {
	return zones.Record{Target: target, Port: 1688, Priority: prio, Weight: weight, TTL: ttl}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		golden  string
		records []zones.Record
		source  string
	}{
		{"empty", "empty.golden", nil, "/etc/srvctl/srvctl.yaml"},
		{"one", "one.golden", []zones.Record{rec("kms1.example.org.", 0, 100, 3600)}, "/etc/srvctl/srvctl.yaml"},
		{"sorted", "sorted.golden", []zones.Record{
			rec("kms3.example.org.", 10, 0, 600),
			{Target: "kms2.example.org.", Port: 11688, Priority: 0, Weight: 50, TTL: 600},
			rec("kms1.example.org.", 0, 100, 600),
		}, "/etc/srvctl/srvctl.yaml"},
		// A newline in the path would end the comment: the header leaves
		// the path out.
		{"newline in source", "bare.golden", []zones.Record{rec("kms1.example.org.", 0, 0, 60)}, "/etc/srvctl\n_vlmcs._tcp 60 IN A 192.0.2.1\n.yaml"},
		{"no source", "bare.golden", []zones.Record{rec("kms1.example.org.", 0, 0, 60)}, ""},
		// Characters that mean something in zone files are inert in the
		// comment.
		{"odd source", "odd-source.golden", []zones.Record{rec("kms1.example.org.", 0, 0, 60)}, `/srv/a "b" (c) ;d\e $INCLUDE x.yaml`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := render(testOwner, tt.records, tt.source)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tt.golden), got)
			back, err := parseFragment(got, testZone, testOwner)
			if err != nil {
				t.Fatalf("the rendered fragment does not parse: %v\n%s", err, got)
			}
			if diff := cmp.Diff(zones.Sort(tt.records), back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("parsed back (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderRefusesBadNames(t *testing.T) {
	tests := []struct {
		name    string
		owner   string
		records []zones.Record
		want    string
	}{
		{"relative owner", "_vlmcs._tcp.lab", nil, "not absolute"},
		{"owner with a space", "_vlmcs._tcp.lab example.org.", nil, `' '`},
		{"owner upper case", "_vlmcs._tcp.LAB.example.org.", nil, `'L'`},
		{"target with a newline", testOwner, []zones.Record{rec("kms1.example.org.\n@ 60 IN A 192.0.2.1", 0, 0, 60)}, "target"},
		{"target with a space", testOwner, []zones.Record{rec("kms1 x.example.org.", 0, 0, 60)}, "target"},
		{"target with a semicolon", testOwner, []zones.Record{rec("kms1;.example.org.", 0, 0, 60)}, "target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := render(tt.owner, tt.records, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("render = %q, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestParseFragment(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []zones.Record
	}{
		{"empty", "", nil},
		{"header only", headerBare, nil},
		{"absolute", "_vlmcs._tcp.lab.example.org. 3600 IN SRV 0 100 1688 kms1.example.org.\n",
			[]zones.Record{rec("kms1.example.org.", 0, 100, 3600)}},
		{"relative names and upper case", "_VLMCS._tcp 60 IN SRV 10 0 1688 KMS2\n",
			[]zones.Record{rec("kms2.lab.example.org.", 10, 0, 60)}},
		{"$TTL, class before TTL, comments, no final newline",
			"$TTL 1h ; default\n; a comment\n_vlmcs._tcp.lab.example.org. IN SRV 0 0 1688 kms1.example.org. ; first\n" +
				"_vlmcs._tcp IN 120 SRV 5 5 1688 kms2.example.org.",
			[]zones.Record{rec("kms1.example.org.", 0, 0, 3600), rec("kms2.example.org.", 5, 5, 120)}},
		{"$ORIGIN and a blank owner", "$ORIGIN _tcp.lab.example.org.\n_vlmcs 60 IN SRV 0 0 1688 kms1.example.org.\n 60 IN SRV 1 0 1688 kms2.example.org.\n",
			[]zones.Record{rec("kms1.example.org.", 0, 0, 60), rec("kms2.example.org.", 1, 0, 60)}},
		{"parentheses over lines", "_vlmcs._tcp.lab.example.org. 60 IN SRV (\n 0 ; priority\n 0 1688\n kms1.example.org. )\n",
			[]zones.Record{rec("kms1.example.org.", 0, 0, 60)}},
		{"later record takes an earlier TTL", "_vlmcs._tcp 60 IN SRV 0 0 1688 kms1.example.org.\n_vlmcs._tcp IN SRV 0 0 1688 kms2.example.org.\n",
			[]zones.Record{rec("kms1.example.org.", 0, 0, 60), rec("kms2.example.org.", 0, 0, 60)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFragment([]byte(tt.text), testZone, testOwner)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFragmentRefuses(t *testing.T) {
	const ok = "_vlmcs._tcp.lab.example.org. 60 IN SRV 0 0 1688 kms1.example.org.\n"
	tests := []struct {
		name    string
		text    string
		line    int
		want    string
		foreign bool
	}{
		{"an A record", ok + "; comment\nkms1 60 IN A 192.0.2.1\n", 3, "kms1.lab.example.org. A is not _vlmcs._tcp.lab.example.org. SRV", true},
		{"an A record at the owner", ok + "_vlmcs._tcp 60 IN A 192.0.2.1\n", 2, "A is not", true},
		{"SRV at another owner", ok + ok + "_ldap._tcp.lab.example.org. 60 IN SRV 0 0 389 dc1.example.org.\n", 3, "_ldap._tcp.lab.example.org. SRV is not", true},
		{"SRV in a subzone", "_vlmcs._tcp.sub.lab.example.org. 60 IN SRV 0 0 1688 kms1.example.org.\n", 1, "is not", true},
		{"class CH", ok + "_vlmcs._tcp 60 CH SRV 0 0 1688 kms1.example.org.\n", 2, "class CH", true},
		{"$INCLUDE", ok + "$INCLUDE /etc/passwd\n", 2, "$INCLUDE", true},
		{"$GENERATE", ok + "$GENERATE 1-3 _vlmcs._tcp 60 IN SRV 0 0 1688 kms$.example.org.\n", 2, "$GENERATE", true},
		{"lower-case $include", "$include /etc/passwd\n" + ok, 1, "$INCLUDE", true},
		{"multi-line record after others", ok + "\n; x\nwww 60 IN (\n A\n 192.0.2.1 )\n", 4, "A is not", true},
		{"no TTL", "_vlmcs._tcp IN SRV 0 0 1688 kms1.example.org.\n", 1, "no TTL", false},
		{"syntax error", ok + "_vlmcs._tcp 60 IN SRV 0 0 port kms1.example.org.\n", 2, "syntax error: bad SRV Port", false},
		{"unknown type", ok + ok + "_vlmcs._tcp 60 IN BOGUS 1\n", 3, "syntax error", false},
		{"unbalanced parenthesis", ok + "_vlmcs._tcp 60 IN SRV ( 0 0 1688 kms1.example.org.\n", 2, "syntax error", false},
		{"target is not a host name", "_vlmcs._tcp 60 IN SRV 0 0 1688 kms_1.example.org.\n", 1, "SRV target", false},
		{"target is the root", "_vlmcs._tcp 60 IN SRV 0 0 0 .\n", 1, "SRV target", false},
		{"an owner name alone at the end", ok + "www", 2, "not a record: www", false},
		{"unknown directive", ok + "$FOO bar\n", 2, "unknown directive $FOO", false},
		{"no data", "_vlmcs._tcp 60 IN SRV\n", 1, "without data", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFragment([]byte(tt.text), testZone, testOwner)
			le, ok := errors.AsType[*lineError](err)
			if !ok {
				t.Fatalf("parseFragment = %v, %v; want an error for line %d", got, err, tt.line)
			}
			if le.line != tt.line || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q on line %d, want line %d and %q", err, le.line, tt.line, tt.want)
			}
			if errors.Is(err, ErrForeign) != tt.foreign {
				t.Errorf("errors.Is(%v, ErrForeign) = %v, want %v", err, !tt.foreign, tt.foreign)
			}
		})
	}
}

// FuzzParseFragment: the fragment reader never panics, and whatever it
// accepts renders to a fragment that reads back as the same records.
func FuzzParseFragment(f *testing.F) {
	for _, s := range []string{
		"",
		headerBare,
		"_vlmcs._tcp.lab.example.org. 3600 IN SRV 0 100 1688 kms1.example.org.\n",
		"$TTL 60\n_vlmcs._tcp SRV 0 0 1688 kms1\n  IN SRV 1 1 1 kms2.example.org. ; c\n",
		"$ORIGIN _tcp.lab.example.org.\n_vlmcs 60 IN SRV ( 0 0\n 1688 kms1.example.org. )\n",
		"www 60 IN A 192.0.2.1\n",
		"$GENERATE 1-2 _vlmcs._tcp 60 IN SRV 0 0 1688 kms$.example.org.\n",
		"$INCLUDE /etc/passwd\n",
		"_vlmcs._tcp 60 IN SRV \\# 6 0000 0000 0000\n",
		"_vlmcs._tcp 60 IN SRV 0 0 1688 \"kms1\".example.org.\n",
		"_vlmcs._tcp 60 IN SRV 0 0 1688 kms\\.1.example.org.\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseFragment(data, testZone, testOwner)
		if err != nil {
			return
		}
		text, err := render(testOwner, got, "/etc/srvctl/srvctl.yaml")
		if err != nil {
			t.Fatalf("accepted records do not render: %v\ninput %q\nrecords %v", err, data, got)
		}
		back, err := parseFragment(text, testZone, testOwner)
		if err != nil {
			t.Fatalf("the rendered fragment does not parse: %v\ninput %q\nrendered %q", err, data, text)
		}
		if diff := cmp.Diff(got, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("read back differs (-first +second):\n%s\ninput %q\nrendered %q", diff, data, text)
		}
		again, err := render(testOwner, back, "/etc/srvctl/srvctl.yaml")
		if err != nil || string(again) != string(text) {
			t.Fatalf("rendering is not stable: %q, then %q (%v)", text, again, err)
		}
	})
}
