package probe

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/golden"
)

func addrResult(a string, s Status, detail string) AddrResult {
	return AddrResult{Addr: addr(a), Status: s, Detail: detail}
}

func TestReason(t *testing.T) {
	tg := Target{"kms1.example.com.", 1688}
	ok := func(mode Mode, addrs ...AddrResult) Result {
		r := Result{Target: tg, Mode: mode, Resolve: ResolveOK, Addrs: addrs, Probed: mode != ModeNone}
		for _, a := range addrs {
			r.Live = r.Live || a.live()
			r.Probed = r.Probed && a.Status != StatusCanceled
		}
		return r
	}
	ssh := `not DCE/RPC, starts with "SSH-2.0"`
	tests := []struct {
		name       string
		r          Result
		want       string
		wantFailed bool
	}{
		{"live", ok(ModeKMS, addrResult("192.0.2.1", StatusKMS, "")),
			"KMS host answers on 1688 at 192.0.2.1", false},
		{"live on one address of two", ok(ModeKMS, addrResult("192.0.2.1", StatusTimeout, "no reply to the bind within 3s"), addrResult("2001:db8::1", StatusKMS, "")),
			"KMS host answers on 1688 at 2001:db8::1; not at 192.0.2.1 timeout", false},
		{"open", ok(ModeTCP, addrResult("192.0.2.1", StatusOpen, ""), addrResult("192.0.2.2", StatusOpen, "")),
			"open on 1688 at 192.0.2.1, 192.0.2.2", false},
		{"dead", ok(ModeKMS, addrResult("192.0.2.1", StatusTimeout, "no connection within 3s"), addrResult("2001:db8::1", StatusRefused, "connection refused")),
			"no answer on 1688 (2 addresses: 192.0.2.1 timeout, 2001:db8::1 refused)", true},
		{"unreachable", ok(ModeKMS, addrResult("2001:db8::1", StatusUnreachable, "no route to host")),
			"no answer on 1688 (1 address: 2001:db8::1 unreachable (no route to host))", true},
		{"not a KMS host", ok(ModeKMS, addrResult("192.0.2.1", StatusNotKMS, ssh)),
			`port 1688 open but not a KMS host: not DCE/RPC, starts with "SSH-2.0"`, true},
		{"not a KMS host on any address", ok(ModeKMS, addrResult("192.0.2.1", StatusNotKMS, ssh), addrResult("192.0.2.2", StatusNotKMS, ssh)),
			`port 1688 open but not a KMS host: not DCE/RPC, starts with "SSH-2.0" (all 2 addresses)`, true},
		{"different servers", ok(ModeKMS, addrResult("192.0.2.1", StatusNotKMS, ssh), addrResult("192.0.2.2", StatusNotKMS, "bind_nak reason 2 (local limit exceeded)")),
			`port 1688 open but not a KMS host: 192.0.2.1 not a KMS host (not DCE/RPC, starts with "SSH-2.0"), 192.0.2.2 not a KMS host (bind_nak reason 2 (local limit exceeded))`, true},
		{"not a KMS host and dead", ok(ModeKMS, addrResult("192.0.2.1", StatusNotKMS, "closed without reply"), addrResult("192.0.2.2", StatusRefused, "connection refused")),
			"no KMS host on 1688 (2 addresses: 192.0.2.1 not a KMS host (closed without reply), 192.0.2.2 refused)", true},
		{"canceled", ok(ModeKMS, addrResult("192.0.2.1", StatusCanceled, "canceled: context canceled"), addrResult("192.0.2.2", StatusRefused, "connection refused")),
			"probe canceled", false},
		{"not probed", ok(ModeNone, addrResult("192.0.2.1", StatusUnprobed, ""), addrResult("2001:db8::1", StatusUnprobed, "")),
			"resolves to 192.0.2.1, 2001:db8::1 (not probed)", false},
		{"NXDOMAIN", Result{Target: tg, Mode: ModeKMS, Resolve: ResolveNXDomain, Probed: true},
			"does not resolve (NXDOMAIN)", true},
		{"NXDOMAIN, not probed", Result{Target: tg, Mode: ModeNone, Resolve: ResolveNXDomain},
			"does not resolve (NXDOMAIN)", false},
		{"no address", Result{Target: tg, Mode: ModeKMS, Resolve: ResolveNoAddress, Probed: true},
			"has no address (the name exists but has no A or AAAA record)", true},
		{"alias", Result{Target: tg, Mode: ModeKMS, Resolve: ResolveCNAME, Alias: "x.example.com.", Probed: true},
			"is a CNAME to x.example.com. (RFC 2782 forbids aliases as targets)", true},
		{"resolver failure", Result{Target: tg, Mode: ModeKMS, Resolve: ResolveError, ResolveDetail: "A query to 192.0.2.53:53: SERVFAIL", Probed: true},
			"cannot be resolved: A query to 192.0.2.53:53: SERVFAIL", true},
		{"canceled before resolving", Result{Target: tg, Mode: ModeKMS, Resolve: ResolveCanceled},
			"not checked: canceled", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Reason(); got != tt.want {
				t.Errorf("Reason() = %q\nwant       %q", got, tt.want)
			}
			if got := tt.r.Failed(); got != tt.wantFailed {
				t.Errorf("Failed() = %v, want %v", got, tt.wantFailed)
			}
		})
	}
}

// TestResultJSON pins the JSON field names, which reports and the state
// file depend on.
func TestResultJSON(t *testing.T) {
	results := []Result{
		{
			Target: Target{"kms1.example.com.", 1688}, Mode: ModeKMS, Resolve: ResolveOK, Live: true, Probed: true,
			Addrs: []AddrResult{
				{Addr: addr("192.0.2.1"), Status: StatusKMS, Latency: 1500 * time.Microsecond},
				{Addr: addr("2001:db8::1"), Status: StatusRefused, Detail: "connection refused", Latency: 200 * time.Microsecond},
			},
		},
		{
			Target: Target{"kms2.example.com.", 1688}, Mode: ModeKMS, Resolve: ResolveCNAME, Alias: "kms1.example.com.",
			Addrs: []AddrResult{}, Probed: true,
		},
		{
			Target: Target{"kms3.example.com.", 1688}, Mode: ModeKMS, Resolve: ResolveOK,
			ResolveDetail: "the other query succeeded, but AAAA query to 192.0.2.53:53: SERVFAIL", Probed: true,
			Addrs: []AddrResult{{Addr: addr("192.0.2.3"), Status: StatusNotKMS, Detail: "bind_nak reason 2 (local limit exceeded)", Latency: time.Millisecond}},
		},
		{
			Target: Target{"kms4.example.com.", 1688}, Mode: ModeNone, Resolve: ResolveOK,
			Addrs: []AddrResult{{Addr: addr("192.0.2.4"), Status: StatusUnprobed}},
		},
	}
	got, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "results.json")
	golden.Check(t, path, got)
	// And back: nothing lost.
	var back []Result
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(results, back, compare); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	for i := range results {
		for j := range results[i].Addrs {
			if back[i].Addrs[j].Latency != results[i].Addrs[j].Latency {
				t.Errorf("latency %v came back as %v", results[i].Addrs[j].Latency, back[i].Addrs[j].Latency)
			}
		}
	}
}

func TestTargetString(t *testing.T) {
	if got, want := (Target{"kms1.example.com.", 1688}).String(), "kms1.example.com.:1688"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
