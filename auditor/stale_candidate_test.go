package auditor_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/zones"
)

// TestAddStaleCandidates: a candidate for a record a zone serves becomes a
// stopped-refreshing finding at the configured level and raises the zone
// and the report; one for a record no zone serves is ignored.
func TestAddStaleCandidates(t *testing.T) {
	rec := zones.Record{Target: "kms3.example.com.", Port: 1688, TTL: 3600}
	for _, tc := range []struct {
		name     string
		severity map[auditor.Kind]auditor.Level
		want     auditor.Level
	}{
		{"default", nil, auditor.Warning},
		{"overridden", map[auditor.Kind]auditor.Level{auditor.KindStoppedRefreshing: auditor.Critical}, auditor.Critical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := auditor.New(auditor.Options{Severity: tc.severity})
			rep := &auditor.Report{Level: auditor.OK, Zones: []auditor.Zone{
				{Zone: "a.example.", Level: auditor.OK, Records: []auditor.RecordReport{{Record: rec}}},
				{Zone: "b.example.", Level: auditor.OK},
			}}
			a.AddStaleCandidates(rep, []auditor.StaleCandidate{
				{Zone: "a.example.", Target: rec.Target, Port: 1688, Detail: "stopped refreshing"},
				{Zone: "b.example.", Target: rec.Target, Port: 1688, Detail: "not served here"},
				{Zone: "a.example.", Target: rec.Target, Port: 1700, Detail: "another port"},
			})
			want := []auditor.Finding{{Kind: auditor.KindStoppedRefreshing, Level: tc.want, Target: "kms3.example.com.:1688", Detail: "stopped refreshing"}}
			if diff := cmp.Diff(want, rep.Zones[0].Findings); diff != "" {
				t.Errorf("a.example findings (-want +got):\n%s", diff)
			}
			if len(rep.Zones[1].Findings) != 0 || rep.Zones[1].Level != auditor.OK {
				t.Errorf("b.example got %v", rep.Zones[1].Findings)
			}
			if rep.Zones[0].Level != tc.want || rep.Level != tc.want {
				t.Errorf("levels: zone %s, report %s, want %s", rep.Zones[0].Level, rep.Level, tc.want)
			}
		})
	}
}
