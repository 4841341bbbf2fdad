package zones

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// staleSet is a Policy.Stale that knows the stale targets and their evidence.
func staleSet(evidence map[string]string) func(Record) (string, bool) {
	return func(r Record) (string, bool) {
		if e, ok := evidence[r.Target]; ok {
			return e, true
		}
		return "answers", false
	}
}

func liveSet(targets ...string) func(Record) bool {
	return func(r Record) bool {
		for _, t := range targets {
			if r.Target == t {
				return true
			}
		}
		return false
	}
}

func TestDiffPolicy(t *testing.T) {
	kms3 := rec("kms3.corp.example.com.", 1688, 0, 0, 3600)
	evidence := map[string]string{
		old.Target:  "no answer on 1688 in 5 runs since 2026-11-18T02:00Z",
		kms3.Target: "does not resolve (NXDOMAIN) in 4 runs since 2026-11-18T02:00Z",
	}
	tests := []struct {
		name     string
		desired  []Record
		current  []Record
		pol      Policy
		want     []Change
		foreign  []Foreign
		warnings []string
	}{
		{
			name:    "stale record deleted with its evidence",
			desired: []Record{kms1},
			current: []Record{kms1, old, kms2},
			pol:     Policy{Prune: PruneStale, Stale: staleSet(evidence), Live: liveSet(kms1.Target, kms2.Target)},
			want:    []Change{{Action: Delete, Record: old, Reason: "stale: no answer on 1688 in 5 runs since 2026-11-18T02:00Z"}},
			foreign: []Foreign{{Record: kms2, Reason: "not in the desired state; kept (prune: stale; not stale: answers)"}},
		},
		{
			name:    "prune stale without history keeps everything",
			desired: []Record{kms1},
			current: []Record{kms1, old},
			pol:     Policy{Prune: PruneStale},
			foreign: []Foreign{{Record: old, Reason: "not in the desired state; kept (prune: stale; not stale: no probe history: run srvctl audit)"}},
		},
		{
			name:     "a desired stale host is kept and warned about",
			desired:  []Record{kms1, old},
			current:  []Record{kms1, old},
			pol:      Policy{Prune: PruneStale, Stale: staleSet(evidence)},
			warnings: []string{"old.corp.example.com. is desired but stale (no answer on 1688 in 5 runs since 2026-11-18T02:00Z): kept; fix the host or remove it from the config"},
		},
		{
			name:    "never the last live record",
			desired: []Record{kms2},
			current: []Record{kms1},
			pol:     Policy{Prune: PruneAll, Live: liveSet(kms1.Target)},
			want:    []Change{{Action: Add, Record: kms2, Reason: "desired, not published"}},
			foreign: []Foreign{{Record: kms1, Reason: "would be deleted (not in the desired state (prune: all)); kept: no record left would point at a host that answers as a KMS host (use --force)"}},
		},
		{
			name:    "the last live record goes with --force",
			desired: []Record{kms2},
			current: []Record{kms1},
			pol:     Policy{Prune: PruneAll, Live: liveSet(kms1.Target), Force: true},
			want: []Change{
				{Action: Delete, Record: kms1, Reason: "not in the desired state (prune: all)"},
				{Action: Add, Record: kms2, Reason: "desired, not published"},
			},
		},
		{
			name:    "a live record may go when another live one stays",
			desired: []Record{kms2},
			current: []Record{kms1, kms2},
			pol:     Policy{Prune: PruneAll, Live: liveSet(kms1.Target, kms2.Target)},
			want:    []Change{{Action: Delete, Record: kms1, Reason: "not in the desired state (prune: all)"}},
		},
		{
			name:    "never an empty zone",
			current: []Record{old, kms3},
			pol:     Policy{Prune: PruneStale, Stale: staleSet(evidence)},
			foreign: []Foreign{
				{Record: kms3, Reason: "would be deleted (stale: does not resolve (NXDOMAIN) in 4 runs since 2026-11-18T02:00Z); kept: deleting it would leave the zone without records (use --force)"},
				{Record: old, Reason: "would be deleted (stale: no answer on 1688 in 5 runs since 2026-11-18T02:00Z); kept: deleting it would leave the zone without records (use --force)"},
			},
		},
		{
			name:    "a held run keeps every prune deletion",
			desired: []Record{kms1},
			current: []Record{kms1, old, rec("kms1.corp.example.com.", 1689, 0, 0, 3600)},
			pol:     Policy{Prune: PruneStale, Stale: staleSet(evidence), Hold: "12 deletions exceed max_deletes 10 (use --force)"},
			want: []Change{{Action: Delete, Record: rec("kms1.corp.example.com.", 1689, 0, 0, 3600),
				Reason: "duplicate record for kms1.corp.example.com. (desired: 3600 SRV 0 100 1688 kms1.corp.example.com.)"}},
			foreign: []Foreign{{Record: old, Reason: "would be deleted (stale: no answer on 1688 in 5 runs since 2026-11-18T02:00Z); kept: 12 deletions exceed max_deletes 10 (use --force)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Diff(zone(tt.desired...), tt.current, tt.pol)
			if diff := cmp.Diff(tt.want, p.Changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.foreign, p.Foreign); diff != "" {
				t.Errorf("foreign (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.warnings, p.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
