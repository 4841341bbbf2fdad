package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/publisher/bindfile"
	"github.com/srvctl/srvctl/publisher/rfc2136"
	"github.com/srvctl/srvctl/zones"
)

// Kinds of failure, the "kind" label of srvctl_errors_total.
const (
	KindState       = "state"       // the probe history could not be locked or saved
	KindAudit       = "audit"       // a zone's servers could not be asked (audit level UNKNOWN)
	KindNetwork     = "network"     // no answer from the zone's server: timeout, connection refused
	KindAuth        = "auth"        // the server refused srvctl's key (REFUSED, NOTAUTH, BADKEY, BADSIG)
	KindDNS         = "dns"         // any other failed answer: not authoritative, SERVFAIL, clock skew
	KindConflict    = "conflict"    // another writer kept changing the RRset
	KindVerify      = "verify"      // the update was accepted but the read-back differs
	KindBindfile    = "bindfile"    // a fragment, zone file or check/reload command failed
	KindInterrupted = "interrupted" // stopped (SIGTERM) before the zone was done
	KindConfig      = "config"      // a reloaded config was invalid (the old one kept running)
	KindInternal    = "internal"    // anything else
)

// Kinds returns every kind of failure, for metrics that start at zero.
func Kinds() []string {
	return []string{KindState, KindAudit, KindNetwork, KindAuth, KindDNS, KindConflict, KindVerify,
		KindBindfile, KindInterrupted, KindConfig, KindInternal}
}

// Classify returns the kind of a zone's failure.
func Classify(err error) string {
	var re *publisher.ResultError
	var de *rfc2136.Error
	var be *bindfile.Error
	var ce *bindfile.CommandError
	switch {
	case errors.Is(err, context.Canceled):
		return KindInterrupted
	case errors.Is(err, publisher.ErrConflict):
		return KindConflict
	case errors.As(err, &re):
		return KindVerify
	case errors.Is(err, rfc2136.ErrNotAuthorized):
		return KindAuth
	case errors.As(err, &de) && de.Rcode < 0:
		return KindNetwork
	case errors.As(err, &de):
		return KindDNS
	case errors.As(err, &be), errors.As(err, &ce):
		return KindBindfile
	case errors.Is(err, context.DeadlineExceeded):
		return KindNetwork
	}
	return KindInternal
}

// Failure is one thing that went wrong in a run.
type Failure struct {
	Kind string // one of Kinds
	Zone string // canonical zone name, or "" for the run as a whole
	Err  error
}

func (f Failure) String() string {
	if f.Zone == "" {
		return fmt.Sprintf("%s: %v", f.Kind, f.Err)
	}
	return fmt.Sprintf("%s %s: %v", f.Kind, f.Zone, f.Err)
}

// Result is what one run did.
type Result struct {
	Start    time.Time
	Duration time.Duration
	// Report is the audit of every zone; nil when the run did not get
	// that far.
	Report *auditor.Report
	// AuditUnknown names the zones the audit could not judge (none of
	// their servers answered). They are not failures of the run: the
	// apply of the same zone says whether srvctl could do its job.
	AuditUnknown []string
	// Plans are the applied plans, one per zone, in config order; a zone
	// that failed has Err set. Nil when the run stopped before applying.
	Plans []zones.Plan
	// Failures are the run's failures: the history's, and one per failed
	// zone.
	Failures []Failure
}

// OK reports whether the run did all its work: every zone applied and the
// probe history saved.
func (r *Result) OK() bool { return len(r.Failures) == 0 }

// ApplyResult is the result of a run that only applied (srvctl apply):
// plans, from start until now.
func ApplyResult(start time.Time, plans []zones.Plan) *Result {
	r := &Result{Start: start}
	r.addPlans(plans)
	r.Duration = time.Since(start)
	return r
}

// addPlans records the applied plans and their zones' failures.
func (r *Result) addPlans(plans []zones.Plan) {
	r.Plans = plans
	for _, p := range plans {
		if p.Err != nil {
			r.fail(Classify(p.Err), p.Zone, p.Err)
		}
	}
}

func (r *Result) fail(kind, zone string, err error) {
	r.Failures = append(r.Failures, Failure{Kind: kind, Zone: zone, Err: err})
}

// Summary says in one line what went wrong, for logs and /readyz.
func (r *Result) Summary() string {
	if r.OK() {
		return "ok"
	}
	var zs []string
	var other []string
	for _, f := range r.Failures {
		if f.Zone != "" {
			zs = append(zs, strings.TrimSuffix(f.Zone, "."))
		} else {
			other = append(other, f.String())
		}
	}
	var parts []string
	if len(zs) > 0 {
		const show = 5
		more := ""
		if len(zs) > show {
			more = fmt.Sprintf(" and %d more", len(zs)-show)
			zs = zs[:show]
		}
		n := len(r.Failures) - len(other)
		noun := "zones"
		if n == 1 {
			noun = "zone"
		}
		parts = append(parts, fmt.Sprintf("%d %s failed (%s%s)", n, noun, strings.Join(zs, ", "), more))
	}
	return strings.Join(append(parts, other...), "; ")
}
