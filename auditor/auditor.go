// Package auditor answers the administrator's question "will KMS
// activation work in every zone, and if not, why and since when?".
//
// For each zone it asks every authoritative server what it serves
// (auditor/dnsview), probes each distinct target once however many zones
// name it (auditor/probe), records the probes in the history that tells a
// dead host from a blip (auditor/state), and judges the result: the RRset
// against the desired state, its sanity, and what a client in the zone
// experiences, in the words of the error codes it would see.
//
// The report renders as text, JSON, a Monitoring Plugins status (Nagios,
// Icinga) and a Prometheus text file.
package auditor

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor/dnsview"
	"github.com/srvctl/srvctl/auditor/probe"
	"github.com/srvctl/srvctl/auditor/state"
	"github.com/srvctl/srvctl/zones"
)

// Request is one zone to audit.
type Request struct {
	// Zone is the zone's desired state (name, service, desired records).
	Zone zones.Zone
	// Servers are the servers to ask ("host:port"); empty means the
	// zone's NS set.
	Servers []string
}

// History is the probe history: state.Locked. Audit records this run's
// probes in it and judges each target from what it then holds.
type History interface {
	Record(k state.Key, o state.Observation)
	State() *state.State
}

// Options configure an Auditor. Viewer and Prober are required.
type Options struct {
	Viewer *dnsview.Viewer
	Prober *probe.Prober
	// Policy says when a failing target is stale.
	Policy state.Policy
	// Prune is the config's prune policy, for the wording of stale
	// findings; "" says nothing of it.
	Prune zones.Prune
	// Severity overrides the level of findings by kind, e.g. KindLagging:
	// Critical. Client-view levels are not overridden.
	Severity map[Kind]Level
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives progress; nil logs nothing.
	Logger *zap.Logger
}

// Auditor audits zones.
type Auditor struct {
	viewer   *dnsview.Viewer
	prober   *probe.Prober
	policy   state.Policy
	prune    zones.Prune
	severity map[Kind]Level
	now      func() time.Time
	log      *zap.Logger
}

// New returns an Auditor.
func New(o Options) *Auditor {
	a := &Auditor{viewer: o.Viewer, prober: o.Prober, policy: o.Policy, prune: o.Prune, severity: o.Severity, now: o.Now, log: o.Logger}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = zap.NewNop()
	}
	return a
}

// Audit audits every zone of reqs and returns the report, zones in the
// order of reqs. It asks the servers of all zones, then probes every
// distinct target (of what the zones serve and of what they should serve)
// once, records the probes in hist (nil: no history, no stale verdicts),
// and judges each zone.
func (a *Auditor) Audit(ctx context.Context, reqs []Request, hist History) *Report {
	start := a.now()
	queries := make([]dnsview.Query, len(reqs))
	for i, r := range reqs {
		queries[i] = dnsview.Query{Zone: r.Zone.Name, Owner: r.Zone.Owner(), Servers: r.Servers}
	}
	views := a.viewer.View(ctx, queries)

	served := make([][]zones.Record, len(reqs))
	var targets []probe.Target
	for i := range reqs {
		served[i] = servedRecords(views[i])
		for _, r := range slices.Concat(served[i], reqs[i].Zone.Desired) {
			if r.Target != "." {
				targets = append(targets, probe.Target{Host: r.Target, Port: r.Port})
			}
		}
	}
	results := a.prober.Probe(ctx, targets)
	probedAt := a.now()
	a.log.Debug("targets probed", zap.Int("targets", len(results)))

	var st *state.State
	if hist != nil {
		for t, r := range results {
			// Only what the target did is evidence: not a CNAME (clients
			// may still reach a KMS host through it), and not a failure
			// of srvctl's own resolver (SERVFAIL, timeout, refused).
			if r.Probed && (r.Resolve == probe.ResolveOK || r.Resolve == probe.ResolveNXDomain || r.Resolve == probe.ResolveNoAddress) {
				hist.Record(state.Key{Host: t.Host, Port: t.Port}, state.Observation{
					Time: probedAt, Resolved: r.Resolve == probe.ResolveOK, Live: r.Live, Detail: observed(r),
				})
			}
		}
		st = hist.State()
	}

	rep := &Report{Time: start.UTC(), Probe: string(a.probeMode(results)), History: st != nil}
	targetZones := make(map[probe.Target][]string)
	for i, req := range reqs {
		z := a.judge(req, views[i], served[i], results, st, probedAt)
		for _, r := range z.Records {
			t := probe.Target{Host: r.Target, Port: r.Port}
			// Zones come one at a time: only the last entry can repeat.
			if l := targetZones[t]; len(l) == 0 || l[len(l)-1] != z.Zone {
				targetZones[t] = append(targetZones[t], z.Zone)
			}
		}
		rep.Zones = append(rep.Zones, z)
	}
	for t, r := range results {
		tr := TargetReport{Result: r, Zones: targetZones[t]}
		if st != nil {
			v := st.Verdict(state.Key{Host: t.Host, Port: t.Port}, probedAt, a.policy)
			tr.Verdict = &v
		}
		rep.Targets = append(rep.Targets, tr)
	}
	slices.SortFunc(rep.Targets, func(x, y TargetReport) int {
		return cmp.Or(cmp.Compare(x.Target.Host, y.Target.Host), cmp.Compare(x.Target.Port, y.Target.Port))
	})
	rep.Duration = a.now().Sub(start)
	rep.Level = OK
	for _, z := range rep.Zones {
		rep.Level = worse(rep.Level, z.Level)
	}
	return rep
}

// probeMode is the mode the results were probed in.
func (a *Auditor) probeMode(results map[probe.Target]probe.Result) probe.Mode {
	for _, r := range results {
		return r.Mode
	}
	return ""
}

// servedRecords is the RRset clients get: the one the servers with the
// highest serial serve (dnsview reports the others as lagging or
// differing).
func servedRecords(v dnsview.Zone) []zones.Record { return v.Newest() }

// observed is the short detail of a failed probe for the history, which
// wraps it in its own sentence ("no answer on 1688 (DETAIL) in 3 runs
// since ..."): what each address did, or why the host has none.
func observed(r probe.Result) string {
	switch r.Resolve {
	case probe.ResolveOK:
	case probe.ResolveNXDomain:
		return "NXDOMAIN"
	case probe.ResolveNoAddress:
		return "no A or AAAA record"
	default:
		return string(r.Resolve) + " " + r.ResolveDetail
	}
	var parts []string
	for _, a := range r.Addrs {
		if a.Status == probe.StatusKMS || a.Status == probe.StatusOpen {
			continue
		}
		p := string(a.Status) + " on " + a.Addr.String()
		if a.Status == probe.StatusNotKMS && a.Detail != "" {
			p += ": " + a.Detail
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// StaleCandidate is a record that other evidence than the probes (the AD
// audit: the host stopped refreshing it) marks as possibly stale.
type StaleCandidate struct {
	Zone   string // canonical zone name
	Target string // canonical target
	Port   uint16
	Detail string // the evidence, in words
}

// AddStaleCandidates adds the candidates that rep's zones serve as
// stopped-refreshing findings, at the level Options.Severity gives that
// kind (WARNING by default), and raises the zones' and the report's
// levels. They inform; only the probe history makes a record stale for
// prune: stale, so a host that stopped refreshing but still answers is
// not deleted.
func (a *Auditor) AddStaleCandidates(rep *Report, cands []StaleCandidate) {
	lvl, ok := a.severity[KindStoppedRefreshing]
	if !ok {
		lvl = defaultLevel[KindStoppedRefreshing]
	}
	for _, c := range cands {
		for i := range rep.Zones {
			z := &rep.Zones[i]
			if z.Zone != c.Zone || !slices.ContainsFunc(z.Records, func(r RecordReport) bool { return r.Target == c.Target && r.Port == c.Port }) {
				continue
			}
			z.Findings = append(z.Findings, Finding{Kind: KindStoppedRefreshing, Level: lvl,
				Target: probe.Target{Host: c.Target, Port: c.Port}.String(), Detail: c.Detail})
			z.Level = worse(z.Level, lvl)
			rep.Level = worse(rep.Level, lvl)
		}
	}
}
