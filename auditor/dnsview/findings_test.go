package dnsview

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/zones"
)

func TestSerialLess(t *testing.T) {
	for _, tc := range []struct {
		a, b uint32
		want bool
	}{
		{1, 2, true},
		{2, 1, false},
		{5, 5, false},
		{4294967295, 0, true}, // wrapped: 0 comes after 2^32-1
		{4294967295, 1, true},
		{1, 4294967295, false},
		{0, 1<<31 - 1, true},
		{0, 1 << 31, false}, // 2^31 apart: undefined, neither is less
		{1 << 31, 0, false},
		{2024010101, 2024010102, true},
	} {
		if got := SerialLess(tc.a, tc.b); got != tc.want {
			t.Errorf("SerialLess(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRecordsDiff(t *testing.T) {
	kms := func(n string, prio, weight uint16, ttl uint32) zones.Record {
		return zones.Record{Target: n + ".x.", Port: 1688, Priority: prio, Weight: weight, TTL: ttl}
	}
	for _, tc := range []struct {
		name      string
		got, want []zones.Record
		diff      string
	}{
		{"equal", []zones.Record{kms("kms1", 0, 0, 3600)}, []zones.Record{kms("kms1", 0, 0, 3600)}, ""},
		{"both empty", nil, nil, ""},
		{"lacks", []zones.Record{kms("kms1", 0, 0, 3600)}, []zones.Record{kms("kms1", 0, 0, 3600), kms("kms2", 0, 0, 3600)}, "lacks kms2.x.:1688"},
		{"empty", nil, []zones.Record{kms("kms1", 0, 0, 3600), kms("kms2", 0, 0, 3600)}, "lacks kms1.x.:1688, kms2.x.:1688"},
		{"extra", []zones.Record{kms("kms1", 0, 0, 3600), kms("kms9", 0, 0, 3600)}, []zones.Record{kms("kms1", 0, 0, 3600)}, "has kms9.x.:1688 extra"},
		{"ttl", []zones.Record{kms("kms1", 0, 0, 600)}, []zones.Record{kms("kms1", 0, 0, 3600)}, "kms1.x.:1688 TTL 600 vs 3600"},
		{"priority and weight", []zones.Record{kms("kms1", 10, 5, 60)}, []zones.Record{kms("kms1", 0, 100, 60)}, "kms1.x.:1688 priority 10 vs 0, weight 5 vs 100"},
		{"another port is another record", []zones.Record{{Target: "kms1.x.", Port: 1689, TTL: 60}}, []zones.Record{kms("kms1", 0, 0, 60)}, "lacks kms1.x.:1688; has kms1.x.:1689 extra"},
		{
			"all at once",
			[]zones.Record{kms("kms1", 0, 0, 3600), kms("kms2", 0, 0, 3600)},
			[]zones.Record{kms("kms1", 0, 0, 600), kms("kms3", 0, 0, 600)},
			"lacks kms3.x.:1688; has kms2.x.:1688 extra; kms1.x.:1688 TTL 3600 vs 600",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := recordsDiff(tc.got, tc.want); got != tc.diff {
				t.Errorf("recordsDiff:\n got %q\nwant %q", got, tc.diff)
			}
		})
	}
}

func TestFindings(t *testing.T) {
	rec := func(target string, ttl uint32) zones.Record {
		return zones.Record{Target: target, Port: 1688, TTL: ttl}
	}
	a := []zones.Record{rec("kms1.x.", 3600), rec("kms2.x.", 3600)}
	b := []zones.Record{rec("kms1.x.", 3600)}
	ok := func(name string, serial uint32, records []zones.Record) Server {
		return Server{Name: name, Addr: "127.0.0.1:53", Status: StatusOK, Serial: serial, Records: records}
	}
	for _, tc := range []struct {
		name    string
		servers []Server
		want    []Finding
	}{
		{"in sync", []Server{ok("ns1.x.", 5, a), ok("ns2.x.", 5, a)}, nil},
		{"no servers", nil, nil},
		{
			"lagging and differs",
			[]Server{ok("ns1.x.", 5, a), ok("ns2.x.", 3, b)},
			[]Finding{
				{Kind: KindLagging, Server: "ns2.x.", Addr: "127.0.0.1:53", Detail: "ns2.x. (127.0.0.1:53) serves serial 3, ns1.x. (127.0.0.1:53) serves 5"},
				{Kind: KindDiffers, Server: "ns2.x.", Addr: "127.0.0.1:53", Detail: "ns2.x. (127.0.0.1:53) differs from ns1.x. (127.0.0.1:53) at serial 5: lacks kms2.x.:1688"},
			},
		},
		{
			"lagging with the same records",
			[]Server{ok("ns1.x.", 3, a), ok("ns2.x.", 5, a), ok("ns3.x.", 5, a)},
			[]Finding{
				{Kind: KindLagging, Server: "ns1.x.", Addr: "127.0.0.1:53", Detail: "ns1.x. (127.0.0.1:53) serves serial 3, ns2.x. (127.0.0.1:53) and 1 more serve 5"},
			},
		},
		{
			"serial wrapped around",
			[]Server{ok("ns1.x.", 4294967295, a), ok("ns2.x.", 2, a)},
			[]Finding{
				{Kind: KindLagging, Server: "ns1.x.", Addr: "127.0.0.1:53", Detail: "ns1.x. (127.0.0.1:53) serves serial 4294967295, ns2.x. (127.0.0.1:53) serves 2"},
			},
		},
		{
			"same serial, the majority is the reference",
			[]Server{ok("ns1.x.", 5, b), ok("ns2.x.", 5, a), ok("ns3.x.", 5, a)},
			[]Finding{
				{Kind: KindDiffers, Server: "ns1.x.", Addr: "127.0.0.1:53", Detail: "ns1.x. (127.0.0.1:53) differs from ns2.x. (127.0.0.1:53) and 1 more at serial 5: lacks kms2.x.:1688"},
			},
		},
		{
			"statuses",
			[]Server{
				{Name: "ns1.x.", Addr: "192.0.2.1:53", Status: StatusNoAnswer, Detail: "no answer within 3s"},
				{Name: "192.0.2.2:53", Addr: "192.0.2.2:53", Status: StatusLame, Detail: "the SOA query was answered REFUSED"},
				{Name: "ns3.x.", Status: StatusError, Detail: "ns3.x. has no A or AAAA records"},
				ok("ns4.x.", 1, nil),
			},
			[]Finding{
				{Kind: KindNoAnswer, Server: "ns1.x.", Addr: "192.0.2.1:53", Detail: "ns1.x. (192.0.2.1:53) does not answer: no answer within 3s"},
				{Kind: KindLame, Server: "192.0.2.2:53", Addr: "192.0.2.2:53", Detail: "192.0.2.2:53 is lame: the SOA query was answered REFUSED"},
				{Kind: KindError, Server: "ns3.x.", Detail: "ns3.x.: ns3.x. has no A or AAAA records"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Findings(tc.servers)); diff != "" {
				t.Errorf("Findings, -want +got:\n%s", diff)
			}
		})
	}
}

func TestSplitHostPort(t *testing.T) {
	type result struct {
		Host string
		Port uint16
		Err  bool
	}
	for _, tc := range []struct {
		in   string
		want result
	}{
		{"192.0.2.1:5300", result{"192.0.2.1", 5300, false}},
		{"192.0.2.1", result{"192.0.2.1", 53, false}},
		{"ns1.example.com:53", result{"ns1.example.com", 53, false}},
		{"ns1.example.com", result{"ns1.example.com", 53, false}},
		{"[2001:db8::1]:5353", result{"2001:db8::1", 5353, false}},
		{"2001:db8::1", result{"2001:db8::1", 53, false}},
		{"[2001:db8::1]", result{"2001:db8::1", 53, false}},
		{" ns1.example.com:53 ", result{"ns1.example.com", 53, false}},
		{"", result{Err: true}},
		{"ns1.example.com:", result{Err: true}},
		{"ns1.example.com:0", result{Err: true}},
		{"ns1.example.com:65536", result{Err: true}},
		{"ns1.example.com:dns", result{Err: true}},
		{":53", result{Err: true}},
		{"a:b:c", result{Err: true}},
	} {
		host, port, err := splitHostPort(tc.in, 53)
		got := result{host, port, err != nil}
		if err != nil {
			got = result{Err: true}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("splitHostPort(%q), -want +got:\n%s", tc.in, diff)
		}
	}
}

func TestNewResolver(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		opt     string
		conf    string // resolv.conf content; "-" for no file
		want    string
		wantErr bool   // New fails
		lazyErr string // New succeeds, the resolver is unusable
	}{
		{name: "ip and port", opt: "127.0.0.1:5353", want: "127.0.0.1:5353"},
		{name: "bare ip", opt: "192.0.2.53", want: "192.0.2.53:53"},
		{name: "ipv6", opt: "[::1]:5353", want: "[::1]:5353"},
		{name: "a name", opt: "resolver.example:53", wantErr: true},
		{name: "bad port", opt: "127.0.0.1:x", wantErr: true},
		{name: "system", conf: "search example.com\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n", want: "192.0.2.53:53"},
		{name: "system without nameserver", conf: "search example.com\n", lazyErr: "names no nameserver"},
		{name: "no resolv.conf", conf: "-", lazyErr: "cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opt == "" {
				path := dir + "/" + tc.name
				if tc.conf != "-" {
					writeFile(t, path, tc.conf)
				}
				old := resolvConf
				resolvConf = path
				defer func() { resolvConf = old }()
			}
			v, err := New(Options{Resolver: tc.opt})
			if tc.wantErr {
				if err == nil {
					t.Fatalf("New(%q): no error", tc.opt)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.lazyErr != "" {
				if v.resolverErr == nil || !contains(v.resolverErr.Error(), tc.lazyErr) {
					t.Fatalf("resolver error %v, want one saying %q", v.resolverErr, tc.lazyErr)
				}
				// A zone that needs the resolver says why it has none.
				z := v.View(t.Context(), []Query{{Zone: "corp.example.com"}})
				if len(z) != 1 || !contains(z[0].Err, tc.lazyErr) {
					t.Errorf("View: %+v, want Err saying %q", z, tc.lazyErr)
				}
				return
			}
			if got := v.resolver.String(); got != tc.want || v.resolverErr != nil {
				t.Errorf("resolver %s (%v), want %s", got, v.resolverErr, tc.want)
			}
		})
	}
}
