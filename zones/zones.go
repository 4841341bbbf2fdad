// Package zones is srvctl's domain model: the SRV records of one zone, the
// state srvctl wants in each zone, and the plan (diff) between what a zone
// holds and what is wanted, with its text and JSON renderings.
//
// It is pure: no I/O, no logging, deterministic output.
package zones

import (
	"cmp"
	"fmt"
	"slices"
)

// Record is one SRV record of the service RRset in a zone: a KMS host as
// clients see it. Target is canonical (lower case, trailing dot).
type Record struct {
	Target   string `json:"target"`
	Port     uint16 `json:"port"`
	Priority uint16 `json:"priority"`
	Weight   uint16 `json:"weight"`
	TTL      uint32 `json:"ttl"`
}

// String formats r as the RDATA and TTL a zone file would show.
func (r Record) String() string {
	return fmt.Sprintf("%d SRV %d %d %d %s", r.TTL, r.Priority, r.Weight, r.Port, r.Target)
}

// SameData reports whether r and o have the same RDATA (TTL ignored); DNS
// treats such records as the same RR.
func (r Record) SameData(o Record) bool {
	return r.Target == o.Target && r.Port == o.Port && r.Priority == o.Priority && r.Weight == o.Weight
}

// Compare orders records by priority, weight (highest first), target and
// port, the order in which a client would prefer them; TTL breaks ties.
func Compare(a, b Record) int {
	return cmp.Or(
		cmp.Compare(a.Priority, b.Priority),
		cmp.Compare(b.Weight, a.Weight),
		cmp.Compare(a.Target, b.Target),
		cmp.Compare(a.Port, b.Port),
		cmp.Compare(a.TTL, b.TTL),
	)
}

// Sort sorts records in place in Compare order and returns them.
func Sort(records []Record) []Record {
	slices.SortFunc(records, Compare)
	return records
}

// Zone is the desired state of one zone.
type Zone struct {
	Name    string   // canonical zone name, e.g. "corp.example.com."
	Service string   // owner prefix, e.g. "_vlmcs._tcp"
	Backend string   // "rfc2136", "bindfile"
	Server  string   // where the backend reads and writes, for display
	Desired []Record // at most one record per target
}

// Owner is the owner name of the zone's SRV RRset.
func (z Zone) Owner() string { return Owner(z.Service, z.Name) }

// Prune is the policy for records in a zone that srvctl does not want.
type Prune string

// The prune policies.
const (
	PruneNone  Prune = "none"  // report unwanted records as foreign, never delete them
	PruneStale Prune = "stale" // delete unwanted records whose target is stale (see Policy.Stale)
	PruneAll   Prune = "all"   // delete every record that is not desired
)

// Policy says which records Diff may delete.
//
// Safety rules hold unless Force is set: a plan never deletes the records
// of a zone down to none, nor deletes the last record whose target is
// known to answer (Live) while no record left would; the records these
// rules keep are reported as Foreign with the rule as the reason.
type Policy struct {
	// Prune is the policy for records whose target is not desired; ""
	// is PruneNone.
	Prune Prune
	// Stale tells whether a record's target is stale, with the evidence
	// either way ("no answer on 1688 in 5 runs since ..."; "answers";
	// "no probe history: run srvctl audit"). Nil: nothing is stale.
	Stale func(Record) (evidence string, stale bool)
	// Live tells whether a record's target is known to answer as a KMS
	// host. Nil: nothing is known to.
	Live func(Record) bool
	// Force lifts the safety rules.
	Force bool
	// Hold, when not "", keeps every record the prune policy would
	// delete, with Hold as the reason (e.g. a run over max_deletes).
	Hold string
}

// Action is what a change does to one record.
type Action string

// The actions of a plan.
const (
	Add    Action = "add"
	Update Action = "update"
	Delete Action = "delete"
)

// Change is one step of a plan, with the reason for it. For an add or update
// Record is the new record; for a delete it is the record removed. Old is the
// record an update replaces.
type Change struct {
	Action Action
	Record Record
	Old    *Record
	Reason string
}

// Foreign is a record srvctl does not want but leaves in place.
type Foreign struct {
	Record Record
	Reason string
}
