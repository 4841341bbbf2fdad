package dnsview

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/zones"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// newViewer is New that fails the test on error.
func newViewer(t testing.TB, o Options) *Viewer {
	t.Helper()
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// withoutRTT returns zs with every RTT zeroed, for cmp.Diff, after
// checking that every server that answered has one.
func withoutRTT(t *testing.T, zs []Zone) []Zone {
	t.Helper()
	for i := range zs {
		for j := range zs[i].Servers {
			s := &zs[i].Servers[j]
			if s.Status == StatusOK && s.RTT <= 0 {
				t.Errorf("zone %s, server %s: status ok without an RTT", zs[i].Zone, s.label())
			}
			s.RTT = 0
		}
	}
	return zs
}

func srv(target string, prio, weight uint16, ttl uint32) zones.Record {
	return zones.Record{Target: target, Port: 1688, Priority: prio, Weight: weight, TTL: ttl}
}

// TestDiscover finds servers through NS records, with one named as both
// the resolver and the zones' server.
func TestDiscover(t *testing.T) {
	t.Parallel()
	s := bindtest.Start(t, bindtest.Options{
		Zones: []string{"a.test", "c.test", "s1.test", "s2.test", "s3.test", "shared.test"},
		Records: map[string][]string{
			"a.test": {
				"_vlmcs._tcp.a.test. 3600 IN SRV 0 100 1688 KMS1.a.test.",
				"_vlmcs._tcp.a.test. 3600 IN SRV 10 0 1688 kms2.a.test.",
				"host.a.test. 300 IN A 192.0.2.1",
			},
			"c.test": {
				// Three NS names: ns2 has two addresses, of which only
				// 127.0.0.1 has a named; the third name does not exist.
				"c.test. 300 IN NS ns2.c.test.",
				"c.test. 300 IN NS ns3.missing.a.test.",
				"ns2.c.test. 300 IN A 127.0.0.1",
				"ns2.c.test. 300 IN A 127.0.0.2",
			},
			"s1.test": {"s1.test. 300 IN NS ns.shared.test."},
			"s2.test": {"s2.test. 300 IN NS ns.shared.test."},
			"s3.test": {"s3.test. 300 IN NS ns.shared.test."},
		},
		Options: []string{"querylog yes;"},
	})
	v := newViewer(t, Options{Resolver: s.Addr, Port: uint16(s.Port), Timeout: 2 * time.Second})
	at := func(ip string) string { return fmt.Sprintf("%s:%d", ip, s.Port) }
	ok := func(name string, records ...zones.Record) Server {
		return Server{Name: name, Addr: at("127.0.0.1"), Status: StatusOK, Serial: 1, Records: records}
	}
	aRecords := []zones.Record{srv("kms1.a.test.", 0, 100, 3600), srv("kms2.a.test.", 10, 0, 3600)}
	nxZone := fmt.Sprintf("zone missing.a.test. does not exist (NXDOMAIN from resolver %s for its NS RRset)", s.Addr)
	notZone := fmt.Sprintf("host.a.test. is not a zone: resolver %s knows the name but it has no NS records", s.Addr)
	refused := fmt.Sprintf("NS lookup of zone nope.test.: resolver %s answered REFUSED", s.Addr)
	noAddr := fmt.Sprintf("ns3.missing.a.test. has no A or AAAA records (A NXDOMAIN, AAAA NXDOMAIN from resolver %s)", s.Addr)
	sharedZone := func(z string) Zone {
		return Zone{Zone: z + ".", Owner: "_vlmcs._tcp." + z + ".", Servers: []Server{ok("ns." + z + "."), ok("ns.shared.test.")}}
	}
	for _, tc := range []struct {
		name string
		q    Query
		want Zone
	}{
		{"records", Query{Zone: "a.test"}, Zone{Zone: "a.test.", Owner: "_vlmcs._tcp.a.test.", Servers: []Server{ok("ns.a.test.", aRecords...)}}},
		{"names canonical", Query{Zone: "A.Test.", Owner: "_VLMCS._TCP.a.test"}, Zone{Zone: "a.test.", Owner: "_vlmcs._tcp.a.test.", Servers: []Server{ok("ns.a.test.", aRecords...)}}},
		{"another owner", Query{Zone: "a.test", Owner: "_kms._udp.a.test."}, Zone{Zone: "a.test.", Owner: "_kms._udp.a.test.", Servers: []Server{ok("ns.a.test.")}}},
		{
			"name with two addresses and a name with none",
			Query{Zone: "c.test"},
			Zone{
				Zone: "c.test.", Owner: "_vlmcs._tcp.c.test.",
				Servers: []Server{
					ok("ns.c.test."),
					ok("ns2.c.test."),
					{Name: "ns2.c.test.", Addr: at("127.0.0.2"), Status: StatusNoAnswer, Detail: "connection refused (nothing listens on the port)"},
					{Name: "ns3.missing.a.test.", Status: StatusError, Detail: noAddr},
				},
				Findings: []Finding{
					{Kind: KindNoAnswer, Server: "ns2.c.test.", Addr: at("127.0.0.2"), Detail: fmt.Sprintf("ns2.c.test. (%s) does not answer: connection refused (nothing listens on the port)", at("127.0.0.2"))},
					{Kind: KindError, Server: "ns3.missing.a.test.", Detail: "ns3.missing.a.test.: " + noAddr},
				},
			},
		},
		{"shared NS name 1", Query{Zone: "s1.test"}, sharedZone("s1.test")},
		{"shared NS name 2", Query{Zone: "s2.test"}, sharedZone("s2.test")},
		{"shared NS name 3", Query{Zone: "s3.test"}, sharedZone("s3.test")},
		{"zone does not exist", Query{Zone: "missing.a.test"}, Zone{Zone: "missing.a.test.", Owner: "_vlmcs._tcp.missing.a.test.", Err: nxZone, Findings: []Finding{{Kind: KindNoServers, Detail: nxZone}}}},
		{"not a zone", Query{Zone: "host.a.test"}, Zone{Zone: "host.a.test.", Owner: "_vlmcs._tcp.host.a.test.", Err: notZone, Findings: []Finding{{Kind: KindNoServers, Detail: notZone}}}},
		{"resolver refuses", Query{Zone: "nope.test"}, Zone{Zone: "nope.test.", Owner: "_vlmcs._tcp.nope.test.", Err: refused, Findings: []Finding{{Kind: KindNoServers, Detail: refused}}}},
		{"bad zone name", Query{Zone: "bad..test"}, Zone{Zone: "bad..test.", Owner: "_vlmcs._tcp.bad..test.", Err: `zone name: "bad..test": empty label`}},
		{"owner outside the zone", Query{Zone: "a.test", Owner: "_vlmcs._tcp.b.test"}, Zone{Zone: "a.test.", Owner: "_vlmcs._tcp.b.test.", Err: `owner "_vlmcs._tcp.b.test" is not a name in zone a.test.`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withoutRTT(t, v.View(t.Context(), []Query{tc.q}))
			if diff := cmp.Diff([]Zone{tc.want}, got); diff != "" {
				t.Errorf("View, -want +got:\n%s", diff)
			}
		})
	}

	// One View of the three zones that share ns.shared.test. looks its
	// addresses up once, as named's query log shows.
	before := countQueries(t, s, "ns.shared.test")
	got := withoutRTT(t, v.View(t.Context(), []Query{{Zone: "s1.test"}, {Zone: "s2.test"}, {Zone: "s3.test"}}))
	if diff := cmp.Diff([]Zone{sharedZone("s1.test"), sharedZone("s2.test"), sharedZone("s3.test")}, got); diff != "" {
		t.Errorf("View of three zones, -want +got:\n%s", diff)
	}
	after := countQueries(t, s, "ns.shared.test")
	if diff := cmp.Diff(map[string]int{"A": before["A"] + 1, "AAAA": before["AAAA"] + 1}, after); diff != "" {
		t.Errorf("queries for ns.shared.test in one View of three zones (before: %v), -want +got:\n%s", before, diff)
	}
}

// countQueries counts the queries for name by type in named's query log,
// once the log shows a query for the sentinel name this adds (the log is
// written asynchronously).
func countQueries(t *testing.T, s *bindtest.Server, name string) map[string]int {
	t.Helper()
	marker := fmt.Sprintf("marker-%d.a.test", time.Now().UnixNano())
	if _, err := s.Query(marker, 1); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`query: ` + regexp.QuoteMeta(name) + ` IN (\S+) `)
	for deadline := time.Now().Add(10 * time.Second); ; {
		data, err := os.ReadFile(s.Dir + "/named.log")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "query: "+marker+" IN A ") {
			counts := map[string]int{"A": 0, "AAAA": 0}
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				counts[m[1]]++
			}
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("named's query log has no line for %s after 10s:\n%s", marker, s.LogTail(10))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSerial polls s until it serves zone with serial want.
func waitSerial(t *testing.T, s *bindtest.Server, zone string, want uint32) {
	t.Helper()
	var got uint32
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, err = s.Serial(zone); err == nil && got == want {
			return
		}
	}
	t.Fatalf("%s does not serve %s with serial %d after 30s (serial %d, %v):\n%s", s.Addr, zone, want, got, err, s.LogTail(20))
}

// TestPrimarySecondary runs a real primary and a real secondary: in sync,
// then the primary changes and NOTIFY is off (notify no), then the
// secondary is told to transfer the zone again.
func TestPrimarySecondary(t *testing.T) {
	t.Parallel()
	primary := bindtest.Start(t, bindtest.Options{
		Zones: []string{"rep.test"},
		Records: map[string][]string{"rep.test": {
			"_vlmcs._tcp.rep.test. 3600 IN SRV 0 0 1688 kms1.rep.test.",
			"_vlmcs._tcp.rep.test. 3600 IN SRV 0 0 1688 kms2.rep.test.",
		}},
		Options: []string{"allow-transfer { 127.0.0.1; };"},
	})
	secondary := bindtest.Start(t, bindtest.Options{
		Rndc: true,
		Conf: []string{fmt.Sprintf("zone \"rep.test\" {\n\ttype secondary;\n\tprimaries { 127.0.0.1 port %d; };\n\tfile \"rep.test.secondary\";\n};", primary.Port)},
	})
	waitSerial(t, secondary, "rep.test", 1)

	v := newViewer(t, Options{Timeout: 2 * time.Second})
	q := []Query{{Zone: "rep.test", Servers: []string{primary.Addr, secondary.Addr}}}
	server := func(addr string, serial uint32, records ...zones.Record) Server {
		return Server{Name: addr, Addr: addr, Status: StatusOK, Serial: serial, Records: records}
	}
	v1 := []zones.Record{srv("kms1.rep.test.", 0, 0, 3600), srv("kms2.rep.test.", 0, 0, 3600)}
	inSync := []Zone{{Zone: "rep.test.", Owner: "_vlmcs._tcp.rep.test.", Servers: []Server{server(primary.Addr, 1, v1...), server(secondary.Addr, 1, v1...)}}}
	if diff := cmp.Diff(inSync, withoutRTT(t, v.View(t.Context(), q))); diff != "" {
		t.Fatalf("in sync, -want +got:\n%s", diff)
	}

	// The primary changes; named sets the TTL of the whole RRset to the
	// TTL of the record added.
	err := primary.NSUpdate(bindtest.DefaultKey, strings.Join([]string{
		"update delete _vlmcs._tcp.rep.test. SRV 0 0 1688 kms2.rep.test.",
		"update add _vlmcs._tcp.rep.test. 600 IN SRV 0 0 1688 kms3.rep.test.",
	}, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	v2 := []zones.Record{srv("kms1.rep.test.", 0, 0, 600), srv("kms3.rep.test.", 0, 0, 600)}
	want := []Zone{{
		Zone: "rep.test.", Owner: "_vlmcs._tcp.rep.test.",
		Servers: []Server{server(primary.Addr, 2, v2...), server(secondary.Addr, 1, v1...)},
		Findings: []Finding{
			{Kind: KindLagging, Server: secondary.Addr, Addr: secondary.Addr, Detail: fmt.Sprintf("%s serves serial 1, %s serves 2", secondary.Addr, primary.Addr)},
			{Kind: KindDiffers, Server: secondary.Addr, Addr: secondary.Addr, Detail: fmt.Sprintf(
				"%s differs from %s at serial 2: lacks kms3.rep.test.:1688; has kms2.rep.test.:1688 extra; kms1.rep.test.:1688 TTL 3600 vs 600",
				secondary.Addr, primary.Addr)},
		},
	}}
	if diff := cmp.Diff(want, withoutRTT(t, v.View(t.Context(), q))); diff != "" {
		t.Fatalf("after a change on the primary only, -want +got:\n%s", diff)
	}

	if _, err := secondary.Rndc("retransfer", "rep.test"); err != nil {
		t.Fatal(err)
	}
	waitSerial(t, secondary, "rep.test", 2)
	inSync[0].Servers = []Server{server(primary.Addr, 2, v2...), server(secondary.Addr, 2, v2...)}
	if diff := cmp.Diff(inSync, withoutRTT(t, v.View(t.Context(), q))); diff != "" {
		t.Fatalf("after rndc retransfer, -want +got:\n%s", diff)
	}
}

// silentUDP is a UDP socket that reads every query and never answers.
func silentUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, maxMsg)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	})
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

// closedPort is a UDP port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestServerProblems asks configured servers that fail in each way.
func TestServerProblems(t *testing.T) {
	t.Parallel()
	var big []string
	var bigRecords []zones.Record
	for i := range 100 {
		target := fmt.Sprintf("kms%03d.big.test.", i)
		big = append(big, fmt.Sprintf("_vlmcs._tcp.big.test. 60 IN SRV 0 %d 1688 %s", i, target))
		bigRecords = append(bigRecords, srv(target, 0, uint16(i), 60))
	}
	s := bindtest.Start(t, bindtest.Options{
		Zones: []string{"p.test", "deleg.test", "big.test"},
		Records: map[string][]string{
			"p.test":     {"_vlmcs._tcp.p.test. 60 IN SRV 0 0 1688 kms.p.test.", "host.p.test. 60 IN A 192.0.2.1"},
			"deleg.test": {"child.deleg.test. 60 IN NS ns.elsewhere.test."},
			"big.test":   big,
		},
	})
	other := bindtest.Start(t, bindtest.Options{Zones: []string{"other.test"}})
	silent, closed := silentUDP(t), closedPort(t)
	const timeout = 500 * time.Millisecond
	v := newViewer(t, Options{Resolver: s.Addr, Port: uint16(s.Port), Timeout: timeout})

	pRecords := []zones.Record{srv("kms.p.test.", 0, 0, 60)}
	ok := func(name string, records []zones.Record) Server {
		return Server{Name: name, Addr: s.Addr, Status: StatusOK, Serial: 1, Records: records}
	}
	sortedBig := zones.Sort(bigRecords)
	nameEntry := fmt.Sprintf("ns.p.test:%d", s.Port)
	for _, tc := range []struct {
		name string
		q    Query
		want Zone
	}{
		{
			"lame, refused, silent",
			Query{Zone: "p.test", Servers: []string{s.Addr, other.Addr, closed, silent}},
			Zone{
				Zone: "p.test.", Owner: "_vlmcs._tcp.p.test.",
				Servers: []Server{
					ok(s.Addr, pRecords),
					{Name: other.Addr, Addr: other.Addr, Status: StatusLame, Detail: "the SOA query was answered REFUSED"},
					{Name: closed, Addr: closed, Status: StatusNoAnswer, Detail: "connection refused (nothing listens on the port)"},
					{Name: silent, Addr: silent, Status: StatusNoAnswer, Detail: "no answer within 500ms"},
				},
				Findings: []Finding{
					{Kind: KindLame, Server: other.Addr, Addr: other.Addr, Detail: other.Addr + " is lame: the SOA query was answered REFUSED"},
					{Kind: KindNoAnswer, Server: closed, Addr: closed, Detail: closed + " does not answer: connection refused (nothing listens on the port)"},
					{Kind: KindNoAnswer, Server: silent, Addr: silent, Detail: silent + " does not answer: no answer within 500ms"},
				},
			},
		},
		{
			"configured names and bad entries",
			Query{Zone: "p.test", Servers: []string{nameEntry, "nothing.p.test", "bad entry:x"}},
			Zone{
				Zone: "p.test.", Owner: "_vlmcs._tcp.p.test.",
				Servers: []Server{
					ok(nameEntry, pRecords),
					{Name: "nothing.p.test", Status: StatusError, Detail: fmt.Sprintf("nothing.p.test. has no A or AAAA records (A NXDOMAIN, AAAA NXDOMAIN from resolver %s)", s.Addr)},
					{Name: "bad entry:x", Status: StatusError, Detail: `server "bad entry:x": port "x" is not a number from 1 to 65535`},
				},
				Findings: []Finding{
					{Kind: KindError, Server: "nothing.p.test", Detail: fmt.Sprintf("nothing.p.test: nothing.p.test. has no A or AAAA records (A NXDOMAIN, AAAA NXDOMAIN from resolver %s)", s.Addr)},
					{Kind: KindError, Server: "bad entry:x", Detail: `bad entry:x: server "bad entry:x": port "x" is not a number from 1 to 65535`},
				},
			},
		},
		{
			"referral",
			Query{Zone: "child.deleg.test", Servers: []string{s.Addr}},
			Zone{
				Zone: "child.deleg.test.", Owner: "_vlmcs._tcp.child.deleg.test.",
				Servers: []Server{{Name: s.Addr, Addr: s.Addr, Status: StatusLame, Detail: "not authoritative: the SOA query got a referral to ns.elsewhere.test."}},
				Findings: []Finding{
					{Kind: KindNoServers, Detail: "no server of child.deleg.test. answered with authority (1 asked)"},
					{Kind: KindLame, Server: s.Addr, Addr: s.Addr, Detail: s.Addr + " is lame: not authoritative: the SOA query got a referral to ns.elsewhere.test."},
				},
			},
		},
		{
			"a name inside a zone",
			Query{Zone: "host.p.test", Servers: []string{s.Addr}},
			Zone{
				Zone: "host.p.test.", Owner: "_vlmcs._tcp.host.p.test.",
				Servers: []Server{{Name: s.Addr, Addr: s.Addr, Status: StatusLame, Detail: "host.p.test. is not a zone there: it is a name inside zone p.test."}},
				Findings: []Finding{
					{Kind: KindNoServers, Detail: "no server of host.p.test. answered with authority (1 asked)"},
					{Kind: KindLame, Server: s.Addr, Addr: s.Addr, Detail: s.Addr + " is lame: host.p.test. is not a zone there: it is a name inside zone p.test."},
				},
			},
		},
		{
			"a name that does not exist in a zone",
			Query{Zone: "none.p.test", Servers: []string{s.Addr}},
			Zone{
				Zone: "none.p.test.", Owner: "_vlmcs._tcp.none.p.test.",
				Servers: []Server{{Name: s.Addr, Addr: s.Addr, Status: StatusLame, Detail: "none.p.test. is not a zone there: the name does not exist in zone p.test. (NXDOMAIN)"}},
				Findings: []Finding{
					{Kind: KindNoServers, Detail: "no server of none.p.test. answered with authority (1 asked)"},
					{Kind: KindLame, Server: s.Addr, Addr: s.Addr, Detail: s.Addr + " is lame: none.p.test. is not a zone there: the name does not exist in zone p.test. (NXDOMAIN)"},
				},
			},
		},
		{
			"truncated over UDP, complete over TCP",
			Query{Zone: "big.test", Servers: []string{s.Addr}},
			Zone{Zone: "big.test.", Owner: "_vlmcs._tcp.big.test.", Servers: []Server{ok(s.Addr, sortedBig)}},
		},
		{
			"silent only",
			Query{Zone: "p.test", Servers: []string{silent}},
			Zone{
				Zone: "p.test.", Owner: "_vlmcs._tcp.p.test.",
				Servers: []Server{{Name: silent, Addr: silent, Status: StatusNoAnswer, Detail: "no answer within 500ms"}},
				Findings: []Finding{
					{Kind: KindNoServers, Detail: "no server of p.test. answered with authority (1 asked)"},
					{Kind: KindNoAnswer, Server: silent, Addr: silent, Detail: silent + " does not answer: no answer within 500ms"},
				},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withoutRTT(t, v.View(t.Context(), []Query{tc.q}))
			if diff := cmp.Diff([]Zone{tc.want}, got); diff != "" {
				t.Errorf("View, -want +got:\n%s", diff)
			}
		})
	}
}

// TestContextEnds stops a View whose server never answers, long before
// the query timeout, and a View whose context has ended before it starts.
func TestContextEnds(t *testing.T) {
	t.Parallel()
	silent := silentUDP(t)
	v := newViewer(t, Options{Resolver: silent, Timeout: time.Hour})
	qs := []Query{
		{Zone: "a.example", Servers: []string{silent}},
		{Zone: "b.example", Servers: []string{silent, silent}},
		{Zone: "c.example"}, // NS lookup at the silent resolver
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	got := v.View(ctx, qs)
	stoppedErr := stopped(context.DeadlineExceeded)
	deadline := Server{Name: silent, Addr: silent, Status: StatusError, Detail: context.DeadlineExceeded.Error()}
	want := []Zone{
		{Zone: "a.example.", Owner: "_vlmcs._tcp.a.example.", Servers: []Server{deadline}, Err: stoppedErr},
		{Zone: "b.example.", Owner: "_vlmcs._tcp.b.example.", Servers: []Server{deadline, deadline}, Err: stoppedErr},
		{Zone: "c.example.", Owner: "_vlmcs._tcp.c.example.", Err: stoppedErr},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("View with a context that ends, -want +got:\n%s", diff)
	}

	ended, cancel := context.WithCancel(t.Context())
	cancel()
	got = v.View(ended, qs)
	stoppedErr = stopped(context.Canceled)
	want = []Zone{
		{Zone: "a.example.", Owner: "_vlmcs._tcp.a.example.", Err: stoppedErr},
		{Zone: "b.example.", Owner: "_vlmcs._tcp.b.example.", Err: stoppedErr},
		{Zone: "c.example.", Owner: "_vlmcs._tcp.c.example.", Err: stoppedErr},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("View with an ended context, -want +got:\n%s", diff)
	}
}

// TestSilentServerNotAskedAgain: once a server that never answered has
// let silentLimit exchanges time out, the rest of the View does not wait
// for it; a server that answered once is always asked.
func TestSilentServerNotAskedAgain(t *testing.T) {
	t.Parallel()
	silent := silentUDP(t)
	v := newViewer(t, Options{Timeout: 200 * time.Millisecond, Concurrency: 1})
	var qs []Query
	var want []string
	for i := range 6 {
		qs = append(qs, Query{Zone: fmt.Sprintf("z%d.example", i), Servers: []string{silent}})
		if i < silentLimit {
			want = append(want, "no answer within 200ms")
		} else {
			want = append(want, "not asked: no answer within 200ms to 3 queries before")
		}
	}
	var got []string
	for _, z := range v.View(t.Context(), qs) {
		if len(z.Servers) != 1 || z.Servers[0].Status != StatusNoAnswer {
			t.Fatalf("zone %s: %+v, want one server with status no-answer", z.Zone, z)
		}
		got = append(got, z.Servers[0].Detail)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("details, -want +got:\n%s", diff)
	}
}

// choosyServer is a DNS server on UDP that answers with authority for
// live.example (SOA serial 7, one SRV record) and drops every other query,
// as some servers do for zones they do not serve.
func choosyServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		if !dns.IsSubDomain("live.example.", q.Name) {
			return // dropped
		}
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: 300}
		switch q.Qtype {
		case dns.TypeSOA:
			m.Answer = []dns.RR{&dns.SOA{Hdr: hdr, Ns: "ns.live.example.", Mbox: "hostmaster.live.example.", Serial: 7, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 300}}
		case dns.TypeSRV:
			m.Answer = []dns.RR{&dns.SRV{Hdr: hdr, Port: 1688, Target: "kms.live.example."}}
		}
		w.WriteMsg(m)
	})
	started := make(chan struct{})
	server := &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: func() { close(started) }}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := server.ActivateAndServe(); err != nil {
			t.Errorf("test DNS server: %v", err)
		}
	})
	<-started
	t.Cleanup(func() {
		if err := server.Shutdown(); err != nil {
			t.Errorf("test DNS server: %v", err)
		}
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

// TestChoosyServerAlwaysAsked: a server that answered once in a View is
// asked for every zone, however many of them time out.
func TestChoosyServerAlwaysAsked(t *testing.T) {
	t.Parallel()
	addr := choosyServer(t)
	v := newViewer(t, Options{Timeout: 200 * time.Millisecond, Concurrency: 1})
	qs := []Query{{Zone: "live.example", Servers: []string{addr}}}
	want := []string{"ok"}
	for i := range silentLimit + 1 {
		qs = append(qs, Query{Zone: fmt.Sprintf("d%d.example", i), Servers: []string{addr}})
		want = append(want, "no-answer: no answer within 200ms")
	}
	var got []string
	zs := v.View(t.Context(), qs)
	for _, z := range zs {
		if len(z.Servers) != 1 {
			t.Fatalf("zone %s: %+v, want one server", z.Zone, z)
		}
		s := z.Servers[0]
		if s.Status == StatusOK {
			got = append(got, "ok")
		} else {
			got = append(got, string(s.Status)+": "+s.Detail)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses, -want +got:\n%s", diff)
	}
	wantLive := []Server{{Name: addr, Addr: addr, Status: StatusOK, Serial: 7, Records: []zones.Record{srv("kms.live.example.", 0, 0, 300)}}}
	if diff := cmp.Diff(wantLive, withoutRTT(t, zs[:1])[0].Servers); diff != "" {
		t.Errorf("live.example, -want +got:\n%s", diff)
	}
}
