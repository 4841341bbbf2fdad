package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/srvctl/srvctl/internal/golden"
)

// t0 is the start of every scripted history: 2026-11-15T02:00Z.
var t0 = time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

var kms3 = Key{Host: "kms3.example.com.", Port: 1688}

func live(d time.Duration) Observation {
	return Observation{Time: at(d), Resolved: true, Live: true}
}

func timeout(d time.Duration) Observation {
	return Observation{Time: at(d), Resolved: true, Detail: "timeout on 192.0.2.3"}
}

func nxdomain(d time.Duration) Observation {
	return Observation{Time: at(d), Detail: "NXDOMAIN"}
}

// TestLifecycle follows one target through its life, recording one
// observation per step (or none) and asking for the verdict under the
// default policy after each step.
func TestLifecycle(t *testing.T) {
	const h = time.Hour
	steps := []struct {
		name string
		obs  *Observation // nil: no run, only time passes
		now  time.Duration
		want Verdict
	}{
		{
			name: "never probed",
			now:  0,
			want: Verdict{Reason: "kms3.example.com.: never probed on 1688"},
		},
		{
			name: "live",
			obs:  ptr(live(0)),
			now:  0,
			want: Verdict{Known: true, Reason: "kms3.example.com.: answered on 1688 at 2026-11-15T02:00Z"},
		},
		{
			name: "dies: first failed run",
			obs:  ptr(timeout(24 * h)),
			now:  24 * h,
			want: Verdict{Known: true, Failing: true, Since: at(24 * h), Runs: 1,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) for 0m in 1 run since 2026-11-16T02:00Z; stale after 72h and 3 runs"},
		},
		{
			name: "no probe for 80h: the evidence is outdated",
			now:  (24 + 80) * h,
			want: Verdict{Known: true, Failing: true, Outdated: true, Since: at(24 * h), Runs: 1,
				Reason: "kms3.example.com.: last probed on 1688 at 2026-11-16T02:00Z, more than 72h ago: run srvctl audit"},
		},
		{
			name: "second failed run, time reached, runs not",
			obs:  ptr(timeout((24 + 80) * h)),
			now:  (24 + 80) * h,
			want: Verdict{Known: true, Failing: true, Since: at(24 * h), Runs: 2,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) for 80h in 2 runs since 2026-11-16T02:00Z; stale after 72h and 3 runs"},
		},
		{
			name: "third failed run: stale",
			obs:  ptr(Observation{Time: at((24 + 81) * h), Resolved: true, Detail: "refused on 192.0.2.3"}),
			now:  (24+81)*h + 30*time.Minute,
			want: Verdict{Known: true, Failing: true, Stale: true, Since: at(24 * h), Runs: 3,
				Reason: "kms3.example.com.: no answer on 1688 (refused on 192.0.2.3) in 3 runs since 2026-11-16T02:00Z"},
		},
		{
			name: "comes back: not failing",
			obs:  ptr(live(106 * h)),
			now:  106 * h,
			want: Verdict{Known: true, Reason: "kms3.example.com.: answered on 1688 at 2026-11-19T12:00Z"},
		},
		{
			name: "dies again: a new streak",
			obs:  ptr(timeout(107 * h)),
			now:  107 * h,
			want: Verdict{Known: true, Failing: true, Since: at(107 * h), Runs: 1,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) for 0m in 1 run since 2026-11-19T13:00Z; stale after 72h and 3 runs"},
		},
		{
			name: "second run: the streak lasts from its first probe to its last",
			obs:  ptr(timeout(109 * h)),
			now:  (107+71)*h + 59*time.Minute,
			want: Verdict{Known: true, Failing: true, Since: at(107 * h), Runs: 2,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) for 2h in 2 runs since 2026-11-19T13:00Z; stale after 72h and 3 runs"},
		},
		{
			name: "runs reached, time one minute short",
			obs:  ptr(timeout((107+71)*h + 59*time.Minute)),
			now:  (107+71)*h + 59*time.Minute,
			want: Verdict{Known: true, Failing: true, Since: at(107 * h), Runs: 3,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) for 71h59m in 3 runs since 2026-11-19T13:00Z; stale after 72h and 3 runs"},
		},
		{
			name: "a run at 72h: stale",
			obs:  ptr(timeout((107 + 72) * h)),
			now:  (107 + 72) * h,
			want: Verdict{Known: true, Failing: true, Stale: true, Since: at(107 * h), Runs: 4,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) in 4 runs since 2026-11-19T13:00Z"},
		},
	}
	s := New()
	for _, st := range steps {
		if st.obs != nil {
			s.record(kms3, *st.obs)
		}
		if diff := cmp.Diff(st.want, s.Verdict(kms3, at(st.now), Policy{})); diff != "" {
			t.Fatalf("%s: verdict (-want +got):\n%s", st.name, diff)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestVerdict checks histories that the lifecycle does not reach: the
// evidence of unresolvable targets, policies, other ports and names.
func TestVerdict(t *testing.T) {
	const h = time.Hour
	tests := []struct {
		name   string
		key    Key
		other  *Key // where obs are recorded when not key
		obs    []Observation
		now    time.Duration
		policy Policy
		want   Verdict
	}{
		{
			name: "NXDOMAIN in every run: does not resolve",
			key:  kms3,
			obs:  []Observation{live(0), nxdomain(24 * h), nxdomain(48 * h), nxdomain(72 * h), nxdomain(96 * h)},
			now:  96 * h,
			want: Verdict{Known: true, Failing: true, Stale: true, Unresolved: true, Since: at(24 * h), Runs: 4,
				Reason: "kms3.example.com.: does not resolve (NXDOMAIN) in 4 runs since 2026-11-16T02:00Z"},
		},
		{
			name: "no address, no detail",
			key:  kms3,
			obs:  []Observation{{Time: at(0)}},
			now:  time.Hour,
			want: Verdict{Known: true, Failing: true, Unresolved: true, Since: at(0), Runs: 1,
				Reason: "kms3.example.com.: does not resolve for 0m in 1 run since 2026-11-15T02:00Z; stale after 72h and 3 runs"},
		},
		{
			name: "resolved once in the streak: no answer",
			key:  kms3,
			obs:  []Observation{nxdomain(0), timeout(24 * h), nxdomain(48 * h), nxdomain(72 * h), nxdomain(96 * h)},
			now:  96 * h,
			want: Verdict{Known: true, Failing: true, Stale: true, Since: at(0), Runs: 5,
				Reason: "kms3.example.com.: no answer on 1688 (NXDOMAIN) in 5 runs since 2026-11-15T02:00Z"},
		},
		{
			name:   "custom policy",
			key:    Key{Host: "KMS1.Example.COM", Port: 11688},
			obs:    []Observation{{Time: at(0), Resolved: true}, {Time: at(90 * time.Minute), Resolved: true}},
			now:    90 * time.Minute,
			policy: Policy{After: 90 * time.Minute, Runs: 2},
			want: Verdict{Known: true, Failing: true, Stale: true, Since: at(0), Runs: 2,
				Reason: "kms1.example.com.: no answer on 11688 in 2 runs since 2026-11-15T02:00Z"},
		},
		{
			name:   "custom policy not reached",
			key:    Key{Host: "kms1.example.com.", Port: 1688},
			obs:    []Observation{{Time: at(0), Resolved: true}, {Time: at(89 * time.Minute), Resolved: true}},
			now:    89 * time.Minute,
			policy: Policy{After: 90 * time.Minute, Runs: 1},
			want: Verdict{Known: true, Failing: true, Since: at(0), Runs: 2,
				Reason: "kms1.example.com.: no answer on 1688 for 1h29m in 2 runs since 2026-11-15T02:00Z; stale after 1h30m and 1 run"},
		},
		{
			name:   "negative policy means the default",
			key:    kms3,
			obs:    []Observation{timeout(0), timeout(h), timeout(2 * h)},
			now:    71 * h,
			policy: Policy{After: -time.Hour, Runs: -1},
			want: Verdict{Known: true, Failing: true, Since: at(0), Runs: 3,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) for 2h in 3 runs since 2026-11-15T02:00Z; stale after 72h and 3 runs"},
		},
		{
			name:  "another port of the same host is another target",
			key:   Key{Host: "kms3.example.com.", Port: 1689},
			other: &kms3,
			obs:   []Observation{timeout(0), timeout(h), timeout(2 * h)},
			now:   100 * h,
			want:  Verdict{Reason: "kms3.example.com.: never probed on 1689"},
		},
		{
			name: "verdict asked before the streak began: failing for 0m",
			key:  kms3,
			obs:  []Observation{timeout(10 * h), timeout(11 * h), timeout(12 * h)},
			now:  0,
			want: Verdict{Known: true, Failing: true, Since: at(10 * h), Runs: 3,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) for 2h in 3 runs since 2026-11-15T12:00Z; stale after 72h and 3 runs"},
		},
		{
			// A 30-minute outage caught by three audits, then no audit
			// probes the target: 73h later it is not stale, and not live.
			name: "a short outage is never stale, however long ago",
			key:  kms3,
			obs:  []Observation{timeout(0), timeout(15 * time.Minute), timeout(30 * time.Minute)},
			now:  70 * h,
			want: Verdict{Known: true, Failing: true, Since: at(0), Runs: 3,
				Reason: "kms3.example.com.: no answer on 1688 (timeout on 192.0.2.3) for 30m in 3 runs since 2026-11-15T02:00Z; stale after 72h and 3 runs"},
		},
		{
			name: "outdated evidence: neither stale nor live",
			key:  kms3,
			obs:  []Observation{timeout(0), timeout(24 * h), timeout(75 * h)},
			now:  (75 + 73) * h,
			want: Verdict{Known: true, Failing: true, Outdated: true, Since: at(0), Runs: 3,
				Reason: "kms3.example.com.: last probed on 1688 at 2026-11-18T05:00Z, more than 72h ago: run srvctl audit"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			recorded := tc.key
			if tc.other != nil {
				recorded = *tc.other
			}
			for _, o := range tc.obs {
				s.record(recorded, o)
			}
			if diff := cmp.Diff(tc.want, s.Verdict(tc.key, at(tc.now), tc.policy)); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecord checks the stored history, including a clock that goes
// backwards between runs.
func TestRecord(t *testing.T) {
	const h = time.Hour
	tests := []struct {
		name string
		obs  []Observation
		want Target
	}{
		{
			name: "first probe fails",
			obs:  []Observation{timeout(0)},
			want: Target{FirstSeen: at(0), LastProbe: at(0), FailingSince: at(0), FailedRuns: 1, LastDetail: "timeout on 192.0.2.3"},
		},
		{
			name: "times are stored in UTC to the second",
			obs: []Observation{{
				Time: time.Date(2026, 11, 15, 3, 0, 0, 999_999_999, time.FixedZone("CET", 3600)), Resolved: true, Live: true,
			}},
			want: Target{FirstSeen: at(0), LastProbe: at(0), LastLive: at(0)},
		},
		{
			name: "live without resolved is live",
			obs:  []Observation{nxdomain(0), {Time: at(h), Live: true}},
			want: Target{FirstSeen: at(0), LastProbe: at(h), LastLive: at(h)},
		},
		{
			name: "a detail on a live probe is not kept",
			obs:  []Observation{{Time: at(0), Resolved: true, Live: true, Detail: "timeout on 2001:db8::3"}},
			want: Target{FirstSeen: at(0), LastProbe: at(0), LastLive: at(0)},
		},
		{
			name: "clock backwards, failing: counted, times do not move back",
			obs:  []Observation{live(0), timeout(10 * h), timeout(5 * h), timeout(11 * h)},
			want: Target{FirstSeen: at(0), LastProbe: at(11 * h), LastLive: at(0), FailingSince: at(10 * h), FailedRuns: 3, LastDetail: "timeout on 192.0.2.3"},
		},
		{
			name: "clock backwards at the start of a streak: it starts no earlier than the last probe",
			obs:  []Observation{live(10 * h), timeout(5 * h)},
			want: Target{FirstSeen: at(10 * h), LastProbe: at(10 * h), LastLive: at(10 * h), FailingSince: at(10 * h), FailedRuns: 1, LastDetail: "timeout on 192.0.2.3"},
		},
		{
			name: "clock backwards, live: the streak is reset anyway",
			obs:  []Observation{live(0), timeout(10 * h), timeout(11 * h), timeout(12 * h), live(2 * h)},
			want: Target{FirstSeen: at(0), LastProbe: at(12 * h), LastLive: at(2 * h)},
		},
		{
			name: "clock backwards before the last live probe",
			obs:  []Observation{live(10 * h), live(2 * h)},
			want: Target{FirstSeen: at(10 * h), LastProbe: at(10 * h), LastLive: at(10 * h)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for _, o := range tc.obs {
				s.record(kms3, o)
			}
			got, ok := s.Target(kms3)
			if !ok {
				t.Fatal("no history recorded")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordZeroTimeIsNow(t *testing.T) {
	s := New()
	before := time.Now().Truncate(time.Second)
	s.record(kms3, Observation{Resolved: true, Live: true})
	after := time.Now()
	got, _ := s.Target(kms3)
	if got.LastProbe.Before(before) || got.LastProbe.After(after) || got.LastProbe.Location() != time.UTC {
		t.Errorf("LastProbe = %v, want the time of the call in UTC, between %v and %v", got.LastProbe, before, after)
	}
}

func TestForget(t *testing.T) {
	s := New()
	keys := []Key{{"a.example.com.", 1688}, {"b.example.com.", 1688}, {"c.example.com.", 1688}}
	for i, k := range keys {
		s.record(k, live(time.Duration(i)*time.Hour))
	}
	if n := s.forget(at(time.Hour)); n != 1 {
		t.Errorf("forget returned %d, want 1", n)
	}
	var got []string
	for k := range s.Targets {
		got = append(got, k)
	}
	want := []string{"b.example.com.:1688", "c.example.com.:1688"}
	if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func TestParseKey(t *testing.T) {
	tests := []struct {
		in      string
		want    Key
		wantErr string
	}{
		{in: "kms1.example.com.:1688", want: Key{"kms1.example.com.", 1688}},
		{in: "KMS1.example.com:65535", want: Key{"kms1.example.com.", 65535}},
		{in: "kms1.example.com.", wantErr: `target "kms1.example.com." is not host:port`},
		{in: ":1688", wantErr: `target ":1688" is not host:port`},
		{in: "kms1.example.com.:0", wantErr: `target "kms1.example.com.:0": port "0" is not a number from 1 to 65535`},
		{in: "kms1.example.com.:65536", wantErr: `target "kms1.example.com.:65536": port "65536" is not a number from 1 to 65535`},
	}
	for _, tc := range tests {
		got, err := ParseKey(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseKey(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseKey(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseKey(%q) (-want +got):\n%s", tc.in, diff)
		}
		if got.String() != strings.ToLower(strings.Replace(tc.in, "com:", "com.:", 1)) {
			t.Errorf("ParseKey(%q).String() = %q", tc.in, got.String())
		}
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	s, err := Load(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(New(), s); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // the error after "state file PATH: not a readable srvctl state file: "
	}{
		{"empty file", "", "unexpected end of JSON input"},
		{"not JSON", "kms1.example.com. 1688\n", "invalid character 'k' looking for beginning of value"},
		{"truncated", `{"version": 1, "targets": {"kms1.example.com.:1688": {"first_seen": "2026-11-15T02:00:00Z"`, "unexpected end of JSON input"},
		{"trailing data", `{"version": 1, "targets": {}} {}`, "invalid character '{' after top-level value"},
		{"no version", `{"targets": {}}`, "no version field"},
		{"newer version", `{"version": 2, "targets": {}, "probes": []}`, "format version 2 was written by a newer srvctl; this one reads up to version 1"},
		{"version zero", `{"version": 0, "targets": {}}`, "format version 0 is not valid"},
		{"bad key", `{"version": 1, "targets": {"kms1.example.com.": {}}}`, `target "kms1.example.com." is not host:port`},
		{"bad port", `{"version": 1, "targets": {"kms1.example.com.:http": {}}}`, `target "kms1.example.com.:http": port "http" is not a number from 1 to 65535`},
		{"not canonical", `{"version": 1, "targets": {"KMS1.example.com:1688": {}}}`, `target "KMS1.example.com:1688" is not in canonical form "kms1.example.com.:1688"`},
		{"negative runs", `{"version": 1, "targets": {"kms1.example.com.:1688": {"failed_runs": -1}}}`, `target "kms1.example.com.:1688": negative failed_runs -1`},
		{"bad time", `{"version": 1, "targets": {"kms1.example.com.:1688": {"last_probe": "yesterday"}}}`, `parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			want := "state file " + path + ": not a readable srvctl state file: " + tc.want
			if err == nil || err.Error() != want {
				t.Fatalf("Load error = %v\nwant %s", err, want)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error does not wrap ErrCorrupt: %v", err)
			}
			// Lock refuses it too, changes nothing and releases the lock.
			for range 2 {
				if l, err := Lock(path); err == nil || err.Error() != want {
					if l != nil {
						l.Close()
					}
					t.Fatalf("Lock error = %v\nwant %s", err, want)
				}
			}
			if b, err := os.ReadFile(path); err != nil || string(b) != tc.content {
				t.Errorf("file changed: %q, %v", b, err)
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	path := t.TempDir() // a directory
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), "reading state file "+path+": ") || errors.Is(err, ErrCorrupt) {
		t.Errorf("Load(directory) error = %v, want a read error naming %s", err, path)
	}
}

// TestGolden records a history covering every field, saves it and compares
// the file with testdata/state.json; loading the golden file and saving it
// again must give the same bytes.
func TestGolden(t *testing.T) {
	const h = time.Hour
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	history := []struct {
		key Key
		obs Observation
	}{
		{Key{"kms1.example.com.", 1688}, live(0)},
		{Key{"kms1.example.com.", 1688}, live(24 * h)},
		{Key{"kms3.example.com.", 1688}, live(0)},
		{Key{"kms3.example.com.", 1688}, timeout(24 * h)},
		{Key{"kms3.example.com.", 1688}, Observation{Time: at(48 * h), Resolved: true, Detail: "timeout on 192.0.2.3; refused on 2001:db8::3"}},
		{Key{"gone.example.net.", 1688}, nxdomain(24 * h)},
		{Key{"gone.example.net.", 1688}, nxdomain(48 * h)},
		{Key{"kms2.example.com.", 11688}, Observation{Time: at(48 * h), Resolved: true, Detail: "not DCE/RPC on 192.0.2.2"}},
	}
	for _, e := range history {
		l.Record(e.key, e.obs)
	}
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	goldenPath := filepath.Join("testdata", "state.json")
	golden.Check(t, goldenPath, got)

	// Round trip: the golden file loads and saves to the same bytes.
	s, err := Load(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.encode()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(again)); diff != "" {
		t.Errorf("golden file re-encoded (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(l.State(), s); diff != "" {
		t.Errorf("loaded state (-recorded +loaded):\n%s", diff)
	}
}
