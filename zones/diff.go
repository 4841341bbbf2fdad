package zones

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Plan is what srvctl would do to one zone: the RRset it read (Current, which
// an RFC 2136 backend pins with a prerequisite), the changes that bring it to
// the desired state, and the records it leaves alone. Err is set when the
// zone could not be read or written; such a plan has no changes to trust.
type Plan struct {
	Zone    string
	Owner   string
	Backend string
	Server  string
	Current []Record
	Changes []Change
	Foreign []Foreign
	// Warnings are facts about the zone that need a person, e.g. a
	// desired host whose target is stale.
	Warnings []string
	Err      error
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Counts returns how many records the plan adds, updates and deletes.
func (p *Plan) Counts() (add, update, del int) {
	for _, c := range p.Changes {
		switch c.Action {
		case Add:
			add++
		case Update:
			update++
		case Delete:
			del++
		}
	}
	return add, update, del
}

// Deletes returns the records the plan removes from the zone: the deleted
// records and the old versions of updated ones.
func (p *Plan) Deletes() []Record {
	var out []Record
	for _, c := range p.Changes {
		switch c.Action {
		case Delete:
			out = append(out, c.Record)
		case Update:
			out = append(out, *c.Old)
		}
	}
	return out
}

// Adds returns the records the plan puts into the zone: the added records
// and the new versions of updated ones.
func (p *Plan) Adds() []Record {
	var out []Record
	for _, c := range p.Changes {
		if c.Action == Add || c.Action == Update {
			out = append(out, c.Record)
		}
	}
	return out
}

// Result is the RRset the zone holds once the plan is applied, sorted. A
// backend's read-back after applying must match it. An RRset has one TTL
// (RFC 2181 5.2): records added with a new TTL give it to the records that
// stay, as DNS servers do.
func (p *Plan) Result() []Record {
	out := slices.Clone(p.Current)
	for _, d := range p.Deletes() {
		out = slices.DeleteFunc(out, func(r Record) bool { return r.SameData(d) })
	}
	adds := p.Adds()
	if len(adds) > 0 {
		for i := range out {
			out[i].TTL = adds[len(adds)-1].TTL
		}
	}
	return Sort(append(out, adds...))
}

// Diff compares the records a zone holds (current) with the zone's desired
// state and returns the plan that makes them equal under pol. It does not
// modify its arguments. The rules, per target host:
//
//	current records for the target   desired record   changes
//	none                             yes              add
//	one equal to the desired one     yes              none
//	one differing (port, priority,   yes              update it (delete old, add new)
//	  weight or TTL)
//	several                          yes              keep or update the best match,
//	                                                  delete the others (duplicates)
//	any                              no               prune all: delete each;
//	                                                  prune stale: delete the stale ones;
//	                                                  prune none: keep, report as foreign
//
// A desired target that is stale is never deleted; the plan warns about it.
// Then the safety rules of Policy (no empty zone, keep the last live record)
// and Policy.Hold may turn prune deletions back into foreign records.
//
// The best match among several is the one with the same data, else the one
// with the same port, else the first in Compare order. Changes come sorted by
// target, then port, then action (delete, update, add).
func Diff(z Zone, current []Record, pol Policy) Plan {
	prune := cmp.Or(pol.Prune, PruneNone)
	p := Plan{
		Zone:    z.Name,
		Owner:   z.Owner(),
		Backend: z.Backend,
		Server:  z.Server,
		Current: Sort(slices.Clone(current)),
	}
	byTarget := make(map[string][]Record)
	for _, r := range p.Current {
		byTarget[r.Target] = append(byTarget[r.Target], r)
	}
	wanted := make(map[string]bool, len(z.Desired))
	for _, want := range z.Desired {
		wanted[want.Target] = true
		if pol.Stale != nil {
			if evidence, stale := pol.Stale(want); stale {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s is desired but stale (%s): kept; fix the host or remove it from the config", want.Target, evidence))
			}
		}
		have := byTarget[want.Target]
		if len(have) == 0 {
			p.Changes = append(p.Changes, Change{Action: Add, Record: want, Reason: "desired, not published"})
			continue
		}
		best := bestMatch(want, have)
		if have[best] != want {
			old := have[best]
			p.Changes = append(p.Changes, Change{Action: Update, Record: want, Old: &old, Reason: describeUpdate(old, want)})
		}
		for i, r := range have {
			if i != best {
				p.Changes = append(p.Changes, Change{Action: Delete, Record: r,
					Reason: fmt.Sprintf("duplicate record for %s (desired: %s)", want.Target, want)})
			}
		}
	}
	var pruned []Change // deletions of records whose target is not desired
	for _, r := range p.Current {
		if wanted[r.Target] {
			continue
		}
		switch prune {
		case PruneAll:
			pruned = append(pruned, Change{Action: Delete, Record: r, Reason: "not in the desired state (prune: all)"})
		case PruneStale:
			evidence, stale := "no probe history: run srvctl audit", false
			if pol.Stale != nil {
				evidence, stale = pol.Stale(r)
			}
			if stale {
				pruned = append(pruned, Change{Action: Delete, Record: r, Reason: "stale: " + evidence})
			} else {
				p.Foreign = append(p.Foreign, Foreign{Record: r, Reason: "not in the desired state; kept (prune: stale; not stale: " + evidence + ")"})
			}
		default:
			p.Foreign = append(p.Foreign, Foreign{Record: r, Reason: "not in the desired state; kept (prune: " + string(prune) + ")"})
		}
	}
	if hold := holdReason(&p, pruned, pol); hold != "" {
		for _, c := range pruned {
			p.Foreign = append(p.Foreign, Foreign{Record: c.Record, Reason: "would be deleted (" + c.Reason + "); kept: " + hold})
		}
	} else {
		p.Changes = append(p.Changes, pruned...)
	}
	slices.SortStableFunc(p.Changes, func(a, b Change) int {
		return cmp.Or(
			cmp.Compare(a.Record.Target, b.Record.Target),
			cmp.Compare(a.Record.Port, b.Record.Port),
			cmp.Compare(actionOrder(a.Action), actionOrder(b.Action)),
			Compare(a.Record, b.Record),
		)
	})
	slices.SortFunc(p.Foreign, func(a, b Foreign) int { return Compare(a.Record, b.Record) })
	return p
}

// holdReason says why the prune deletions must not be made, or "": the
// run's hold, or a safety rule of Policy. p holds every other change.
func holdReason(p *Plan, pruned []Change, pol Policy) string {
	if len(pruned) == 0 {
		return ""
	}
	if pol.Hold != "" {
		return pol.Hold
	}
	if pol.Force {
		return ""
	}
	after := Plan{Current: p.Current, Changes: slices.Concat(p.Changes, pruned)}
	result := after.Result()
	if len(result) == 0 {
		return "deleting it would leave the zone without records (use --force)"
	}
	if pol.Live == nil {
		return ""
	}
	liveBefore := slices.ContainsFunc(p.Current, pol.Live)
	if liveBefore && !slices.ContainsFunc(result, pol.Live) {
		return "no record left would point at a host that answers as a KMS host (use --force)"
	}
	return ""
}

func actionOrder(a Action) int {
	switch a {
	case Delete:
		return 0
	case Update:
		return 1
	default:
		return 2
	}
}

func bestMatch(want Record, have []Record) int {
	for i, r := range have {
		if r == want {
			return i
		}
	}
	for i, r := range have {
		if r.SameData(want) {
			return i
		}
	}
	for i, r := range have {
		if r.Port == want.Port {
			return i
		}
	}
	return 0
}

func describeUpdate(old, want Record) string {
	var d []string
	if old.Port != want.Port {
		d = append(d, fmt.Sprintf("port %d → %d", old.Port, want.Port))
	}
	if old.Priority != want.Priority {
		d = append(d, fmt.Sprintf("priority %d → %d", old.Priority, want.Priority))
	}
	if old.Weight != want.Weight {
		d = append(d, fmt.Sprintf("weight %d → %d", old.Weight, want.Weight))
	}
	if old.TTL != want.TTL {
		d = append(d, fmt.Sprintf("TTL %d → %d", old.TTL, want.TTL))
	}
	return strings.Join(d, ", ")
}
