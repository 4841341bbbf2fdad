package auditor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srvctl/srvctl/auditor/dnsview"
	"github.com/srvctl/srvctl/auditor/probe"
	"github.com/srvctl/srvctl/auditor/state"
	"github.com/srvctl/srvctl/zones"
)

// Level is a Monitoring Plugins status; its value is the plugin's exit
// code.
type Level int

// The levels, in rising order of trouble but for Unknown, which ranks
// above Critical only when nothing is critical.
const (
	OK       Level = 0
	Warning  Level = 1
	Critical Level = 2
	Unknown  Level = 3
)

var levelNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "LEVEL(" + strconv.Itoa(int(l)) + ")"
}

// MarshalText writes the level's name, so JSON shows "WARNING".
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// ParseLevel parses ok, warning, critical or unknown (any case).
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a level (ok, warning, critical, unknown)", s)
}

// Worse returns the level that matters more: Critical over Unknown over
// Warning over OK (for combining reports, such as the DNS and AD audits).
func Worse(a, b Level) Level { return worse(a, b) }

// worse returns the level that matters more: Critical over Unknown over
// Warning over OK.
func worse(a, b Level) Level {
	rank := func(l Level) int { return [...]int{0, 1, 3, 2}[l] }
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Kind names a kind of finding. Kinds are a public interface (JSON,
// Severity overrides): add, never rename.
type Kind string

// The kinds of findings.
const (
	// Servers (from dnsview).
	KindZoneError   Kind = "zone-error"   // the zone could not be audited: no NS set, resolver failure
	KindNoServers   Kind = "no-servers"   // no authoritative server answered
	KindNoAnswer    Kind = "no-answer"    // a server did not answer
	KindLame        Kind = "lame"         // a server is not authoritative
	KindServerError Kind = "server-error" // a server answered wrongly
	KindLagging     Kind = "lagging"      // a server's serial is behind
	KindDiffers     Kind = "differs"      // a server serves another RRset

	// The RRset against the desired state.
	KindMissing   Kind = "missing"   // a desired record is not published
	KindMismatch  Kind = "mismatch"  // a desired host's record has another port, priority, weight or TTL
	KindDuplicate Kind = "duplicate" // a host has several records
	KindForeign   Kind = "foreign"   // a record that is not in the config

	// RRset sanity.
	KindTTLs      Kind = "ttl-mismatch" // unequal TTLs in the RRset (RFC 2181 5.2)
	KindDotTarget Kind = "dot-target"   // target ".": service decidedly not available (RFC 2782)
	KindStarved   Kind = "starved"      // weight 0 beside non-zero weights at the same priority
	KindDeadFirst Kind = "dead-first"   // the first-choice priority holds only dead hosts

	// Targets.
	KindCNAME       Kind = "cname"        // the target is an alias (RFC 2782 forbids it)
	KindUnresolved  Kind = "unresolved"   // NXDOMAIN, no address, resolution failure
	KindDead        Kind = "dead"         // no address answers
	KindNotKMS      Kind = "not-kms"      // the port is open but no KMS host answers
	KindDeadAddress Kind = "dead-address" // some addresses of a live target do not answer
	KindStale       Kind = "stale"        // failing long enough to be deleted (prune: stale)

	// From the AD audit (srvctl audit with ad: set).
	KindStoppedRefreshing Kind = "stopped-refreshing" // the directory says the host stopped refreshing its record: a stale candidate
)

// defaultLevel is the level of a finding of kind k unless Options.Severity
// says otherwise.
var defaultLevel = map[Kind]Level{
	KindZoneError: Unknown, KindNoServers: Critical, KindNoAnswer: Warning, KindLame: Warning,
	KindServerError: Warning, KindLagging: Warning, KindDiffers: Warning,
	KindMissing: Warning, KindMismatch: Warning, KindDuplicate: Warning, KindForeign: OK,
	KindTTLs: Warning, KindDotTarget: Warning, KindStarved: Warning, KindDeadFirst: Warning,
	KindCNAME: Warning, KindUnresolved: Warning, KindDead: Warning, KindNotKMS: Warning,
	KindDeadAddress: Warning, KindStale: Warning, KindStoppedRefreshing: Warning,
}

// Kinds returns every kind of finding, sorted.
func Kinds() []Kind {
	var out []Kind
	for k := range defaultLevel {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Finding is one fact about a zone that needs attention (or, at OK, is
// worth knowing).
type Finding struct {
	Kind   Kind   `json:"kind"`
	Level  Level  `json:"level"`
	Server string `json:"server,omitempty"` // the server it is about
	Target string `json:"target,omitempty"` // the target (host:port) it is about
	Detail string `json:"detail"`
}

// Zone is the audit of one zone.
type Zone struct {
	Zone  string `json:"zone"`
	Owner string `json:"owner"`
	// Level is the worst of the client view and the findings.
	Level Level `json:"level"`
	// Client is what a KMS client in the zone experiences, in words.
	Client string `json:"client"`
	// ClientLevel is the level of Client alone.
	ClientLevel Level `json:"client_level"`
	// Servers are the authoritative servers asked and their answers.
	Servers []dnsview.Server `json:"servers"`
	// Records are what clients get: the RRset of the servers with the
	// highest serial.
	Records []RecordReport `json:"records"`
	// Desired is the RRset the config wants.
	Desired  []zones.Record `json:"desired"`
	Findings []Finding      `json:"findings"`
	// Counts for monitoring.
	LiveTargets   int `json:"live_targets"`
	ServersInSync int `json:"servers_in_sync"`
	StaleRecords  int `json:"stale_records"`
}

// RecordReport is one served record with what is known of its target.
type RecordReport struct {
	zones.Record
	// Status of the target: "live", "dead", "not-kms", "unresolved",
	// "cname", "unprobed", "none" (target ".").
	Status string `json:"status"`
	// Reason is the probe's sentence ("KMS host answers on 1688 at ...").
	Reason string `json:"reason"`
	// Stale is set when the history says the target is stale.
	Stale bool `json:"stale"`
	// Desired reports that the config wants this host in the zone.
	Desired bool `json:"desired"`
}

// TargetReport is one probed target.
type TargetReport struct {
	probe.Result
	// Verdict is the history's judgement; nil without history.
	Verdict *state.Verdict `json:"verdict,omitempty"`
	// Zones serving a record for the target.
	Zones []string `json:"zones"`
}

// Report is the audit of all zones.
type Report struct {
	Time     time.Time      `json:"time"`
	Duration time.Duration  `json:"duration_ns"`
	Level    Level          `json:"level"`
	Probe    string         `json:"probe"`
	History  bool           `json:"history"`
	Zones    []Zone         `json:"zones"`
	Targets  []TargetReport `json:"targets"`
}

// judge builds the audit of one zone.
func (a *Auditor) judge(req Request, v dnsview.Zone, served []zones.Record, results map[probe.Target]probe.Result, st *state.State, now time.Time) Zone {
	z := Zone{Zone: v.Zone, Owner: v.Owner, Servers: v.Servers, Desired: req.Zone.Desired, Records: []RecordReport{}, Findings: []Finding{}}
	if z.Zone == "" {
		z.Zone, z.Owner = req.Zone.Name, req.Zone.Owner()
	}
	add := func(k Kind, server, target, format string, args ...any) {
		lvl, ok := a.severity[k]
		if !ok {
			lvl = defaultLevel[k]
		}
		z.Findings = append(z.Findings, Finding{Kind: k, Level: lvl, Server: server, Target: target, Detail: fmt.Sprintf(format, args...)})
	}

	// The servers.
	if v.Err != "" {
		add(KindZoneError, "", "", "%s", v.Err)
	}
	flagged := map[string]bool{}
	for _, f := range v.Findings {
		if v.Err != "" && f.Kind == dnsview.KindNoServers {
			continue // the zone error says why: srvctl could not look, clients may well get answers
		}
		k := map[dnsview.Kind]Kind{
			dnsview.KindNoServers: KindNoServers, dnsview.KindNoAnswer: KindNoAnswer, dnsview.KindLame: KindLame,
			dnsview.KindError: KindServerError, dnsview.KindLagging: KindLagging, dnsview.KindDiffers: KindDiffers,
		}[f.Kind]
		if k == "" {
			k = KindServerError
		}
		server := f.Server
		if f.Addr != "" && f.Addr != f.Server {
			server = strings.TrimSpace(f.Server + " " + f.Addr)
		}
		flagged[f.Server+"|"+f.Addr] = true
		add(k, server, "", "%s", f.Detail)
	}
	for _, s := range v.Servers {
		if s.Status == dnsview.StatusOK && !flagged[s.Name+"|"+s.Addr] {
			z.ServersInSync++
		}
	}

	if v.Err != "" && len(served) == 0 {
		// Nothing was read: no diff, no sanity, no client view to give.
		z.Client, z.ClientLevel = "unknown: the zone could not be audited ("+v.Err+")", Unknown
		z.Level = z.ClientLevel
		for _, f := range z.Findings {
			z.Level = worse(z.Level, f.Level)
		}
		return z
	}

	// The records and their targets.
	desired := map[string]bool{}
	for _, d := range req.Zone.Desired {
		desired[d.Target] = true
	}
	liveSeen := map[probe.Target]bool{}
	for _, r := range served {
		rr := RecordReport{Record: r, Desired: desired[r.Target]}
		target := probe.Target{Host: r.Target, Port: r.Port}
		tname := target.String()
		if r.Target == "." {
			rr.Status, rr.Reason = "none", `target "." : the service is decidedly not available here (RFC 2782)`
			z.Records = append(z.Records, rr)
			continue
		}
		res := results[target]
		rr.Status, rr.Reason = targetStatus(res), res.Reason()
		if rr.Status == "live" && !liveSeen[target] {
			liveSeen[target] = true
			z.LiveTargets++
		}
		var verdict state.Verdict
		if st != nil {
			verdict = st.Verdict(state.Key{Host: r.Target, Port: r.Port}, now, a.policy)
			rr.Stale = verdict.Stale
		}
		since := ""
		if verdict.Failing && !verdict.Stale {
			since = fmt.Sprintf("; failing in %s since %s (stale after %s and %s)", Plural(verdict.Runs, "run"),
				verdict.Since.UTC().Format("2006-01-02T15:04Z"), a.policyAfter(), Plural(a.policyRuns(), "run"))
		}
		switch rr.Status {
		case "cname":
			add(KindCNAME, "", tname, "%s %s", r.Target, res.Reason())
		case "unresolved":
			add(KindUnresolved, "", tname, "%s %s%s", r.Target, res.Reason(), since)
		case "not-kms":
			add(KindNotKMS, "", tname, "%s: %s%s", r.Target, res.Reason(), since)
		case "dead":
			add(KindDead, "", tname, "%s: %s%s", r.Target, res.Reason(), since)
		case "live":
			if dead := deadAddrs(res); len(dead) > 0 {
				add(KindDeadAddress, "", tname, "%s: %s: clients that pick %s wait for a timeout first", r.Target, res.Reason(), strings.Join(dead, ", "))
			}
		}
		if rr.Stale {
			z.StaleRecords++
			if rr.Desired {
				add(KindStale, "", tname, "%s (desired: srvctl keeps it; fix the host or remove it from the config)", verdict.Reason)
			} else {
				add(KindStale, "", tname, "%s: %s", verdict.Reason, a.pruneNote())
			}
		}
		z.Records = append(z.Records, rr)
	}

	// The RRset against the desired state, read-only.
	plan := zones.Diff(req.Zone, served, zones.Policy{Prune: zones.PruneNone})
	for _, c := range plan.Changes {
		t := probe.Target{Host: c.Record.Target, Port: c.Record.Port}.String()
		switch c.Action {
		case zones.Add:
			add(KindMissing, "", t, "%s: desired, not published (srvctl apply adds it)", c.Record)
		case zones.Update:
			add(KindMismatch, "", t, "%s: %s (srvctl apply fixes it)", c.Record.Target, c.Reason)
		case zones.Delete:
			add(KindDuplicate, "", t, "%s: %s", c.Record, c.Reason)
		}
	}
	for _, f := range plan.Foreign {
		t := probe.Target{Host: f.Record.Target, Port: f.Record.Port}.String()
		add(KindForeign, "", t, "%s: not in the config (published by someone else, or left by a host that is gone)", f.Record)
	}

	a.sanity(&z, add)
	z.Client, z.ClientLevel = clientView(&z, served)
	z.Level = z.ClientLevel
	for _, f := range z.Findings {
		z.Level = worse(z.Level, f.Level)
	}
	return z
}

// targetStatus sums a probe result up in one word.
func targetStatus(r probe.Result) string {
	switch {
	case r.Resolve == probe.ResolveCNAME:
		return "cname"
	case r.Resolve != probe.ResolveOK && r.Resolve != "":
		if r.Resolve == probe.ResolveCanceled {
			return "unprobed"
		}
		return "unresolved"
	case r.Live:
		return "live"
	case !r.Probed:
		return "unprobed"
	}
	for _, a := range r.Addrs {
		if a.Status == probe.StatusNotKMS {
			return "not-kms"
		}
	}
	return "dead"
}

// deadAddrs lists the addresses of a live target that did not answer.
func deadAddrs(r probe.Result) []string {
	var out []string
	for _, a := range r.Addrs {
		if a.Status != probe.StatusKMS && a.Status != probe.StatusOpen && a.Status != probe.StatusUnprobed {
			out = append(out, a.String())
		}
	}
	return out
}

// sanity checks the RRset for what RFC 2181 and RFC 2782 warn about.
func (a *Auditor) sanity(z *Zone, add func(k Kind, server, target, format string, args ...any)) {
	recs := z.Records
	ttls := map[uint32]bool{}
	for _, r := range recs {
		ttls[r.TTL] = true
	}
	if len(ttls) > 1 {
		var list []string
		for t := range ttls {
			list = append(list, strconv.FormatUint(uint64(t), 10))
		}
		slices.Sort(list)
		add(KindTTLs, "", "", "the RRset has records with TTLs %s: an RRset has one TTL (RFC 2181 5.2), caches may use the lowest", strings.Join(list, ", "))
	}
	for _, r := range recs {
		if r.Target == "." {
			if len(recs) > 1 {
				add(KindDotTarget, "", "", `a record with target "." beside others: "." says the service is not available at all (RFC 2782)`)
			} else {
				add(KindDotTarget, "", "", `the only record has target ".": the service is decidedly not available in this zone (RFC 2782)`)
			}
			break
		}
	}

	// Weight 0 beside non-zero weights at the same priority.
	byPrio := map[uint16][]RecordReport{}
	var prios []uint16
	for _, r := range recs {
		if r.Target == "." {
			continue
		}
		if _, ok := byPrio[r.Priority]; !ok {
			prios = append(prios, r.Priority)
		}
		byPrio[r.Priority] = append(byPrio[r.Priority], r)
	}
	slices.Sort(prios)
	for _, p := range prios {
		group := byPrio[p]
		if !slices.ContainsFunc(group, func(r RecordReport) bool { return r.Weight > 0 }) {
			continue
		}
		for _, r := range group {
			if r.Weight == 0 {
				add(KindStarved, "", probe.Target{Host: r.Target, Port: r.Port}.String(),
					"%s has weight 0 beside weights > 0 at priority %d: clients almost never pick it (RFC 2782)", r.Target, p)
			}
		}
	}

	// A first choice made only of dead hosts while live ones wait behind.
	if len(prios) > 1 && z.LiveTargets > 0 {
		first := byPrio[prios[0]]
		if !slices.ContainsFunc(first, func(r RecordReport) bool { return r.Status == "live" || r.Status == "unprobed" || r.Status == "cname" }) {
			var dead []string
			for _, r := range first {
				dead = append(dead, r.Target)
			}
			add(KindDeadFirst, "", "", "priority %d, which clients try first, holds only hosts that do not answer (%s): every activation waits for them before trying the live hosts", prios[0], strings.Join(dead, ", "))
		}
	}
}

// clientView says what a KMS client in the zone experiences.
func clientView(z *Zone, served []zones.Record) (string, Level) {
	if slices.ContainsFunc(z.Findings, func(f Finding) bool { return f.Kind == KindZoneError || f.Kind == KindNoServers }) && len(served) == 0 {
		if slices.ContainsFunc(z.Findings, func(f Finding) bool { return f.Kind == KindNoServers }) {
			return "no authoritative server answers: clients get no records and fail with 0x8007232B (DNS name does not exist)", Critical
		}
		return "unknown: the zone could not be audited", Unknown
	}
	var real []RecordReport
	for _, r := range z.Records {
		if r.Target != "." {
			real = append(real, r)
		}
	}
	if len(real) == 0 {
		return "no SRV records: clients fail with 0x8007232B (DNS name does not exist) or 0x8007251D (No records found for DNS query)", Critical
	}
	// Hosts, not records: a host with two records is one host.
	var dead, unknown []string
	hosts := map[string]bool{}
	for _, r := range real {
		host := probe.Target{Host: r.Target, Port: r.Port}.String()
		if hosts[host] {
			continue
		}
		hosts[host] = true
		switch r.Status {
		case "live":
		case "unprobed", "cname": // an alias is not probed: clients may still follow it
			unknown = append(unknown, r.Target)
		default:
			dead = append(dead, r.Target)
		}
	}
	n := len(hosts)
	switch {
	case len(unknown) == n:
		return fmt.Sprintf("%s published; targets not probed", Plural(n, "host")), OK
	case z.LiveTargets == 0 && len(unknown) > 0:
		return fmt.Sprintf("no probed target answers as a KMS host (dead: %s); only the unprobed %s may work", strings.Join(dead, ", "), strings.Join(unknown, ", ")), Warning
	case z.LiveTargets == 0:
		return fmt.Sprintf("no target answers as a KMS host: clients fail with 0x800706BA (The RPC server is unavailable); dead: %s", strings.Join(dead, ", ")), Critical
	case len(dead) > 0:
		return fmt.Sprintf("activation works (%d of %d hosts answer), but clients lose time on the dead ones: %s", z.LiveTargets, n, strings.Join(dead, ", ")), Warning
	}
	return fmt.Sprintf("activation works: %d of %d hosts answer", z.LiveTargets, n), OK
}

func (a *Auditor) policyAfter() string {
	if a.policy.After <= 0 {
		return state.DefaultAfter.String()
	}
	return strings.TrimSuffix(strings.TrimSuffix(a.policy.After.String(), "0s"), "0m")
}

func (a *Auditor) policyRuns() int {
	if a.policy.Runs <= 0 {
		return state.DefaultRuns
	}
	return a.policy.Runs
}

// pruneNote says what apply does with a stale record that is not desired.
func (a *Auditor) pruneNote() string {
	switch a.prune {
	case zones.PruneStale, zones.PruneAll:
		return "srvctl apply deletes it (prune: " + string(a.prune) + "; at most max_deletes per run)"
	case "":
		return "srvctl apply with prune: stale would delete it"
	}
	return "kept (prune: " + string(a.prune) + ")"
}
