package auditor_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/dnsview"
	"github.com/srvctl/srvctl/auditor/probe"
	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/kmstest"
	"github.com/srvctl/srvctl/zones"
)

// BenchmarkAudit audits 5,000 zones naming the same 3 KMS hosts, in
// process, and renders the report as JSON and for Nagios.
func BenchmarkAudit(b *testing.B) {
	const n = 5000
	var kms [3]*kmstest.Server
	records := map[string][]string{"hosts.bench": nil}
	var desired []zones.Record
	for i := range kms {
		kms[i] = kmstest.Start(b)
		records["hosts.bench"] = append(records["hosts.bench"], fmt.Sprintf("kms%d.hosts.bench. 300 IN A 127.0.0.1", i))
		desired = append(desired, zones.Record{Target: fmt.Sprintf("kms%d.hosts.bench.", i), Port: kms[i].Port, Priority: uint16(i), Weight: 100, TTL: 3600})
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("z%05d.bench.example.", i)
		for _, d := range desired {
			records[names[i]] = append(records[names[i]], fmt.Sprintf("_vlmcs._tcp.%s %d IN SRV %d %d %d %s", names[i], d.TTL, d.Priority, d.Weight, d.Port, d.Target))
		}
	}
	srv := bindtest.Start(b, bindtest.Options{Zones: names, Static: []string{"hosts.bench"}, Records: records})
	reqs := make([]auditor.Request, n)
	for i, z := range names {
		reqs[i] = auditor.Request{Zone: zones.Zone{Name: z, Service: zones.DefaultService, Desired: zones.Sort(desired)}, Servers: []string{srv.Addr}}
	}
	v, err := dnsview.New(dnsview.Options{Resolver: srv.Addr, Timeout: 3 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	p, err := probe.New(probe.Options{Resolver: srv.Addr})
	if err != nil {
		b.Fatal(err)
	}
	a := auditor.New(auditor.Options{Viewer: v, Prober: p})
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		rep := a.Audit(context.Background(), reqs, nil)
		audit := time.Since(start)
		if rep.Level != auditor.OK {
			b.Fatalf("level %s: %+v", rep.Level, rep.Zones[0])
		}
		start = time.Now()
		if err := auditor.WriteJSON(io.Discard, rep); err != nil {
			b.Fatal(err)
		}
		js := time.Since(start)
		start = time.Now()
		if err := auditor.WriteNagios(io.Discard, rep); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(audit.Seconds(), "audit-s")
		b.ReportMetric(js.Seconds(), "json-s")
		b.ReportMetric(time.Since(start).Seconds(), "nagios-s")
	}
}
