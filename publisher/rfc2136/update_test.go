package rfc2136

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/zones"
)

func TestUpdateMsg(t *testing.T) {
	kms1 := zones.Record{Target: "kms1.example.com.", Port: 1688, Priority: 0, Weight: 100, TTL: 3600}
	kms2 := zones.Record{Target: "kms2.example.com.", Port: 1688, Priority: 10, Weight: 0, TTL: 3600}
	kms2new := kms2
	kms2new.Weight = 50
	z := zones.Zone{Name: "example.com.", Service: "_vlmcs._tcp", Desired: []zones.Record{kms1, kms2new}}

	tests := []struct {
		name    string
		current []zones.Record
		prereq  []string
		update  []string
	}{
		{
			name:   "empty RRset: nxrrset prerequisite, adds only",
			prereq: []string{"_vlmcs._tcp.example.com.\t0\tNONE\tSRV\t"},
			update: []string{
				"_vlmcs._tcp.example.com.\t3600\tIN\tSRV\t0 100 1688 kms1.example.com.",
				"_vlmcs._tcp.example.com.\t3600\tIN\tSRV\t10 50 1688 kms2.example.com.",
			},
		},
		{
			name:    "existing RRset: value-dependent prerequisite with every record read, delete the old RR, add the new",
			current: []zones.Record{kms2, {Target: "foreign.example.com.", Port: 1688, TTL: 3600}},
			prereq: []string{
				"_vlmcs._tcp.example.com.\t0\tIN\tSRV\t0 0 1688 foreign.example.com.",
				"_vlmcs._tcp.example.com.\t0\tIN\tSRV\t10 0 1688 kms2.example.com.",
			},
			update: []string{
				"_vlmcs._tcp.example.com.\t0\tNONE\tSRV\t10 0 1688 kms2.example.com.",
				"_vlmcs._tcp.example.com.\t3600\tIN\tSRV\t0 100 1688 kms1.example.com.",
				"_vlmcs._tcp.example.com.\t3600\tIN\tSRV\t10 50 1688 kms2.example.com.",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := zones.Diff(z, tt.current, zones.Policy{Prune: zones.PruneNone})
			m := updateMsg(&p)
			if m.Opcode != dns.OpcodeUpdate || len(m.Question) != 1 || m.Question[0].Name != "example.com." || m.Question[0].Qtype != dns.TypeSOA {
				t.Fatalf("zone section: opcode %d, question %v", m.Opcode, m.Question)
			}
			if diff := cmp.Diff(tt.prereq, rrStrings(m.Answer)); diff != "" {
				t.Errorf("prerequisites (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.update, rrStrings(m.Ns)); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
			// Only the service RRset is ever touched.
			for _, rr := range append(append([]dns.RR{}, m.Answer...), m.Ns...) {
				if rr.Header().Name != "_vlmcs._tcp.example.com." || rr.Header().Rrtype != dns.TypeSRV {
					t.Errorf("message touches %s", rr)
				}
			}
			if _, err := m.Pack(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, rr.String())
	}
	return out
}

const testSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="

func TestKeyNeverShowsSecret(t *testing.T) {
	k, err := NewKey("srvctl-corp", "", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprintf("%+v", Zone{Server: "x", Key: k}),
		fmt.Sprintf("%#v", Options{Zones: map[string]Zone{"a.": {Key: k}}})} {
		if strings.Contains(s, testSecret) || strings.Contains(s, "secret-secret") {
			t.Errorf("secret in %q", s)
		}
	}
	if k.Name() != "srvctl-corp." || k.Algorithm() != "hmac-sha256" {
		t.Errorf("key %s %s", k.Name(), k.Algorithm())
	}
}

func TestNewKeyErrors(t *testing.T) {
	if _, err := NewKey("k", "hmac-sha257", testSecret); err == nil || !strings.Contains(err.Error(), "hmac-sha257") {
		t.Errorf("unknown algorithm: %v", err)
	}
	_, err := NewKey("k", "hmac-sha256", "not base64 "+testSecret)
	if err == nil {
		t.Fatal("bad secret accepted")
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("error shows the secret: %v", err)
	}
}

// TestSignVerify signs with every algorithm and checks the MAC the way a
// server does, with miekg/dns's own verifier where it has the algorithm.
func TestSignVerify(t *testing.T) {
	for alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			k, err := NewKey("srvctl-corp", alg, testSecret)
			if err != nil {
				t.Fatal(err)
			}
			m := query("_vlmcs._tcp.example.com.", dns.TypeSRV)
			wire, mac, err := k.sign(m, time.Now().Unix())
			if err != nil {
				t.Fatal(err)
			}
			if mac == "" {
				t.Fatal("no MAC")
			}
			var got dns.Msg
			if err := got.Unpack(wire); err != nil {
				t.Fatal(err)
			}
			tsig := got.IsTsig()
			if tsig == nil || tsig.Hdr.Name != "srvctl-corp." || !strings.EqualFold(tsig.Algorithm, algorithms[alg].wire) {
				t.Fatalf("TSIG record %v", tsig)
			}
			// The signature verifies with the key and fails with another secret.
			// (Verifying strips the TSIG from the buffer: use a copy each time.)
			if err := dns.TsigVerifyWithProvider(bytes.Clone(wire), k, "", false); err != nil {
				t.Errorf("verify: %v", err)
			}
			other, _ := NewKey("srvctl-corp", alg, "b3RoZXItc2VjcmV0")
			if err := dns.TsigVerifyWithProvider(bytes.Clone(wire), other, "", false); err == nil {
				t.Error("verified with the wrong secret")
			}
			if alg != "hmac-md5" {
				if err := dns.TsigVerify(bytes.Clone(wire), testSecret, "", false); err != nil {
					t.Errorf("miekg/dns verify: %v", err)
				}
			}
		})
	}
}
