package dnsview_test

import (
	"fmt"

	"github.com/srvctl/srvctl/auditor/dnsview"
	"github.com/srvctl/srvctl/zones"
)

// A secondary that missed the last change: it lags, and serves the old
// RRset.
func ExampleFindings() {
	kms1 := zones.Record{Target: "kms1.corp.example.com.", Port: 1688, TTL: 3600}
	kms2 := zones.Record{Target: "kms2.corp.example.com.", Port: 1688, TTL: 3600}
	servers := []dnsview.Server{
		{Name: "ns1.corp.example.com.", Addr: "192.0.2.1:53", Status: dnsview.StatusOK, Serial: 5, Records: []zones.Record{kms1, kms2}},
		{Name: "ns2.corp.example.com.", Addr: "192.0.2.2:53", Status: dnsview.StatusOK, Serial: 3, Records: []zones.Record{kms1}},
		{Name: "ns3.corp.example.com.", Addr: "192.0.2.3:53", Status: dnsview.StatusLame, Detail: "the SOA query was answered REFUSED"},
	}
	for _, f := range dnsview.Findings(servers) {
		fmt.Printf("%s: %s\n", f.Kind, f.Detail)
	}
	// Output:
	// lagging: ns2.corp.example.com. (192.0.2.2:53) serves serial 3, ns1.corp.example.com. (192.0.2.1:53) serves 5
	// differs: ns2.corp.example.com. (192.0.2.2:53) differs from ns1.corp.example.com. (192.0.2.1:53) at serial 5: lacks kms2.corp.example.com.:1688
	// lame: ns3.corp.example.com. (192.0.2.3:53) is lame: the SOA query was answered REFUSED
}
