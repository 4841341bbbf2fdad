package zones

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/golden"
)

func rec(target string, port, prio, weight uint16, ttl uint32) Record {
	return Record{Target: target, Port: port, Priority: prio, Weight: weight, TTL: ttl}
}

var (
	kms1 = rec("kms1.corp.example.com.", 1688, 0, 100, 3600)
	kms2 = rec("kms2.corp.example.com.", 1688, 10, 0, 3600)
	old  = rec("old.corp.example.com.", 1688, 0, 0, 3600)
)

func zone(desired ...Record) Zone {
	return Zone{Name: "corp.example.com.", Service: DefaultService, Backend: "rfc2136", Server: "ns1:53", Desired: desired}
}

func ptr(r Record) *Record { return &r }

func TestDiff(t *testing.T) {
	tests := []struct {
		name    string
		desired []Record
		current []Record
		prune   Prune
		want    []Change
		foreign []Foreign
	}{
		{
			name:    "empty zone: add every desired record",
			desired: []Record{kms2, kms1},
			want: []Change{
				{Action: Add, Record: kms1, Reason: "desired, not published"},
				{Action: Add, Record: kms2, Reason: "desired, not published"},
			},
		},
		{
			name:    "in the desired state: nothing",
			desired: []Record{kms1, kms2},
			current: []Record{kms2, kms1},
		},
		{
			name:    "weight changed: one update",
			desired: []Record{kms1, kms2},
			current: []Record{rec("kms1.corp.example.com.", 1688, 0, 50, 3600), kms2},
			want: []Change{{Action: Update, Record: kms1, Old: ptr(rec("kms1.corp.example.com.", 1688, 0, 50, 3600)),
				Reason: "weight 50 → 100"}},
		},
		{
			name:    "port, priority and TTL changed: one update naming each",
			desired: []Record{kms1},
			current: []Record{rec("kms1.corp.example.com.", 1700, 5, 100, 600)},
			want: []Change{{Action: Update, Record: kms1, Old: ptr(rec("kms1.corp.example.com.", 1700, 5, 100, 600)),
				Reason: "port 1700 → 1688, priority 5 → 0, TTL 600 → 3600"}},
		},
		{
			name:    "foreign record kept under prune none",
			desired: []Record{kms1},
			current: []Record{kms1, old},
			prune:   PruneNone,
			foreign: []Foreign{{Record: old, Reason: "not in the desired state; kept (prune: none)"}},
		},
		{
			name:    "foreign record kept when prune is unset",
			desired: []Record{kms1},
			current: []Record{kms1, old},
			foreign: []Foreign{{Record: old, Reason: "not in the desired state; kept (prune: none)"}},
		},
		{
			name:    "foreign record deleted under prune all",
			desired: []Record{kms1},
			current: []Record{kms1, old},
			prune:   PruneAll,
			want:    []Change{{Action: Delete, Record: old, Reason: "not in the desired state (prune: all)"}},
		},
		{
			name:    "duplicates of a desired host: keep the exact one, delete the others whatever the prune policy",
			desired: []Record{kms1},
			current: []Record{rec("kms1.corp.example.com.", 1700, 0, 100, 3600), kms1},
			prune:   PruneNone,
			want: []Change{{Action: Delete, Record: rec("kms1.corp.example.com.", 1700, 0, 100, 3600),
				Reason: "duplicate record for kms1.corp.example.com. (desired: 3600 SRV 0 100 1688 kms1.corp.example.com.)"}},
		},
		{
			name:    "duplicates without an exact one: update the one on the desired port",
			desired: []Record{kms1},
			current: []Record{rec("kms1.corp.example.com.", 1688, 3, 3, 3600), rec("kms1.corp.example.com.", 1700, 0, 100, 3600)},
			want: []Change{
				{Action: Update, Record: kms1, Old: ptr(rec("kms1.corp.example.com.", 1688, 3, 3, 3600)), Reason: "priority 3 → 0, weight 3 → 100"},
				{Action: Delete, Record: rec("kms1.corp.example.com.", 1700, 0, 100, 3600),
					Reason: "duplicate record for kms1.corp.example.com. (desired: 3600 SRV 0 100 1688 kms1.corp.example.com.)"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := append([]Record(nil), tt.current...)
			p := Diff(zone(tt.desired...), tt.current, Policy{Prune: tt.prune})
			if diff := cmp.Diff(tt.want, p.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.foreign, p.Foreign); diff != "" {
				t.Errorf("foreign (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(current, tt.current); diff != "" {
				t.Errorf("Diff modified its argument (-before +after):\n%s", diff)
			}
			// Applying the plan gives the desired records plus the foreign ones,
			// and planning again from there changes nothing.
			want := append([]Record(nil), tt.desired...)
			for _, f := range p.Foreign {
				want = append(want, f.Record)
			}
			if diff := cmp.Diff(Sort(want), p.Result()); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			again := Diff(zone(tt.desired...), p.Result(), Policy{Prune: tt.prune})
			if !again.Empty() {
				t.Errorf("second plan is not empty: %+v", again.Changes)
			}
		})
	}
}

func TestDiffDeterministic(t *testing.T) {
	desired := []Record{kms2, kms1, rec("kms3.corp.example.com.", 1688, 20, 0, 3600)}
	current := []Record{old, rec("kms2.corp.example.com.", 1688, 10, 5, 3600), rec("a.example.com.", 1, 0, 0, 3600)}
	first := Diff(zone(desired...), current, Policy{Prune: PruneAll})
	for range 50 {
		// Reverse the inputs: the plan must not depend on their order.
		d := append([]Record(nil), desired...)
		c := append([]Record(nil), current...)
		for i, j := 0, len(d)-1; i < j; i, j = i+1, j-1 {
			d[i], d[j] = d[j], d[i]
		}
		for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
			c[i], c[j] = c[j], c[i]
		}
		if diff := cmp.Diff(first, Diff(zone(d...), c, Policy{Prune: PruneAll})); diff != "" {
			t.Fatalf("plan depends on input order (-first +now):\n%s", diff)
		}
	}
}

func TestResultTTL(t *testing.T) {
	// A new TTL given to added records is the TTL of the whole RRset
	// afterwards, foreign records included (RFC 2181 5.2).
	p := Diff(zone(kms1), []Record{rec("kms1.corp.example.com.", 1688, 0, 100, 600), rec("old.corp.example.com.", 1688, 0, 0, 600)}, Policy{Prune: PruneNone})
	want := []Record{kms1, old}
	if diff := cmp.Diff(Sort(want), p.Result()); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
}

// goldenPlans covers every kind of line the renderings have.
func goldenPlans() []Plan {
	z2 := Zone{Name: "branch.example.net.", Service: DefaultService, Backend: "rfc2136", Server: "10.1.0.53:53",
		Desired: []Record{rec("kms2.corp.example.com.", 1688, 0, 50, 3600)}}
	z3 := Zone{Name: "lab.example.org.", Service: DefaultService, Backend: "rfc2136", Server: "ns.lab.example.org:53",
		Desired: []Record{kms1}}
	failed := Diff(z3, nil, Policy{Prune: PruneAll})
	failed.Changes, failed.Err = nil, errors.New("reading zone lab.example.org. at ns.lab.example.org:53: timeout: no answer within 5s")
	return []Plan{
		Diff(zone(kms1, kms2), []Record{rec("kms2.corp.example.com.", 1688, 10, 50, 3600), old}, Policy{Prune: PruneNone}),
		Diff(z2, []Record{rec("kms2.corp.example.com.", 1688, 0, 50, 3600), rec("kms9.example.net.", 1688, 0, 0, 3600)}, Policy{Prune: PruneAll}),
		Diff(zone(kms1), []Record{kms1}, Policy{Prune: PruneNone}),
		failed,
		Diff(Zone{Name: "site.example.org.", Service: DefaultService, Backend: "bindfile", Server: "/etc/bind/site.vlmcs", Desired: []Record{kms1, kms2}},
			[]Record{kms1, kms2, old}, Policy{Prune: PruneStale, Stale: func(r Record) (string, bool) {
				switch r.Target {
				case old.Target:
					return "no answer on 1688 in 5 runs since 2026-11-18T02:00Z", true
				case kms2.Target:
					return "does not resolve (NXDOMAIN) in 3 runs since 2026-11-18T02:00Z", true
				}
				return "answers", false
			}}),
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tt := range []struct {
		file  string
		write func(*bytes.Buffer, []Plan, Mode) error
		mode  Mode
	}{
		{"plan.txt", func(b *bytes.Buffer, p []Plan, m Mode) error { return WriteText(b, p, m) }, Planned},
		{"apply.txt", func(b *bytes.Buffer, p []Plan, m Mode) error { return WriteText(b, p, m) }, Applied},
		{"plan.json", func(b *bytes.Buffer, p []Plan, m Mode) error { return WriteJSON(b, p, m) }, Planned},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var got, again bytes.Buffer
			if err := tt.write(&got, goldenPlans(), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := tt.write(&again, goldenPlans(), tt.mode); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), again.Bytes()) {
				t.Fatal("rendering the same plans twice gave different output")
			}
			path := filepath.Join("testdata", tt.file)
			golden.Check(t, path, got.Bytes())
		})
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize(goldenPlans())
	want := Summary{Zones: 5, Changed: 3, Failed: 1, Add: 1, Update: 1, Delete: 2, Foreign: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
}

func BenchmarkDiff(b *testing.B) {
	desired := []Record{kms1, kms2, rec("kms3.corp.example.com.", 1688, 20, 0, 3600),
		rec("kms4.corp.example.com.", 1688, 20, 10, 3600), rec("kms5.corp.example.com.", 1688, 30, 0, 3600)}
	current := []Record{rec("kms1.corp.example.com.", 1688, 0, 50, 3600), kms2, old}
	z := zone(desired...)
	b.ReportAllocs()
	for b.Loop() {
		Diff(z, current, Policy{Prune: PruneAll})
	}
}
