package state

import (
	"fmt"
	"strconv"
	"time"

	"github.com/srvctl/srvctl/zones"
)

// Default thresholds of a Policy. A Windows KMS host re-registers its record
// every 24 hours, so three such periods without an answer mean it is gone,
// not rebooting.
const (
	DefaultAfter = 72 * time.Hour
	DefaultRuns  = 3
)

// Policy says when a failing target is stale. Both thresholds must hold. The
// zero value is the default policy.
type Policy struct {
	// After is how long the target must have failed every probe; zero or
	// negative means DefaultAfter (72h).
	After time.Duration
	// Runs is how many consecutive runs must have failed; zero or negative
	// means DefaultRuns (3).
	Runs int
}

func (p Policy) withDefaults() Policy {
	if p.After <= 0 {
		p.After = DefaultAfter
	}
	if p.Runs <= 0 {
		p.Runs = DefaultRuns
	}
	return p
}

// Verdict is what the history says about one target at a given time.
type Verdict struct {
	// Known reports that the target was ever probed. An unknown target is
	// never failing nor stale.
	Known bool `json:"known"`
	// Failing reports that the latest probe failed.
	Failing bool `json:"failing"`
	// Stale reports that the target failed for at least Policy.After and in
	// at least Policy.Runs consecutive runs: its records may be deleted.
	Stale bool `json:"stale"`
	// Unresolved reports that every failure of the streak was a resolution
	// failure (NXDOMAIN, no address).
	Unresolved bool `json:"unresolved"`
	// Since is the first failed probe of the streak; zero when not failing.
	Since time.Time `json:"since"`
	// Runs is the number of consecutive failed runs.
	Runs int `json:"runs"`
	// Outdated reports that the last probe is older than Policy.After:
	// the history no longer says anything about the target (audits
	// stopped, or no longer cover it), so it is neither stale nor known
	// to answer.
	Outdated bool `json:"outdated"`
	// Reason is the evidence in one line for plans and reports, e.g.
	// "kms3.example.com.: no answer on 1688 in 5 runs since
	// 2026-11-18T02:00Z". Times are UTC to the minute.
	Reason string `json:"reason"`
}

// Verdict judges target k at time now under policy p.
func (s *State) Verdict(k Key, now time.Time, p Policy) Verdict {
	p = p.withDefaults()
	host := zones.Canonical(k.Host)
	t, ok := s.Target(k)
	if !ok {
		return Verdict{Reason: fmt.Sprintf("%s: never probed on %d", host, k.Port)}
	}
	if age := now.Sub(t.LastProbe); age > p.After {
		return Verdict{Known: true, Outdated: true, Failing: t.FailedRuns > 0, Runs: t.FailedRuns, Since: t.FailingSince, Unresolved: t.Unresolved,
			Reason: fmt.Sprintf("%s: last probed on %d at %s, more than %s ago: run srvctl audit", host, k.Port, stamp(t.LastProbe), duration(p.After))}
	}
	if t.FailedRuns == 0 {
		live := t.LastLive
		if live.IsZero() {
			live = t.LastProbe
		}
		return Verdict{Known: true, Reason: fmt.Sprintf("%s: answered on %d at %s", host, k.Port, stamp(live))}
	}
	v := Verdict{
		Known:      true,
		Failing:    true,
		Unresolved: t.Unresolved,
		Since:      t.FailingSince,
		Runs:       t.FailedRuns,
	}
	// The streak lasted from its first failed probe to its last one: a
	// host that failed three probes in an hour and was not probed again
	// has not been seen failing for 72 hours, however long ago that was.
	failed := t.LastProbe.Sub(t.FailingSince)
	if failed < 0 {
		failed = 0 // the clock went backwards since the streak started
	}
	v.Stale = t.FailedRuns >= p.Runs && failed >= p.After

	what := fmt.Sprintf("no answer on %d", k.Port)
	if t.Unresolved {
		what = "does not resolve"
	}
	if t.LastDetail != "" {
		what += " (" + t.LastDetail + ")"
	}
	runs := plural(t.FailedRuns, "run")
	if v.Stale {
		v.Reason = fmt.Sprintf("%s: %s in %s since %s", host, what, runs, stamp(t.FailingSince))
	} else {
		v.Reason = fmt.Sprintf("%s: %s for %s in %s since %s; stale after %s and %s",
			host, what, duration(failed), runs, stamp(t.FailingSince), duration(p.After), plural(p.Runs, "run"))
	}
	return v
}

// stamp formats t in UTC to the minute, e.g. "2026-11-18T02:00Z".
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04Z")
}

// duration formats d in whole hours and minutes, rounded down: "72h",
// "26h30m", "45m", "0m".
func duration(d time.Duration) string {
	d = d.Truncate(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return strconv.Itoa(m) + "m"
	case m == 0:
		return strconv.Itoa(h) + "h"
	default:
		return fmt.Sprintf("%dh%dm", h, m)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
