// Package state keeps the probe history of SRV targets between audit runs
// and decides from it which targets are stale.
//
// The history is a small JSON file. srvctl audit takes the file's lock
// ([Lock]), records one [Observation] per target it probed, forgets targets
// no longer probed and saves; srvctl plan and apply only read it ([Load]) and
// ask for a [Verdict] per record. A target is stale when it has failed every
// probe for at least [Policy.After] and in at least [Policy.Runs] consecutive
// runs: both must hold, so neither a burst of runs after an outage nor a
// single failed run long ago is enough.
//
// The file is replaced atomically (temporary file, fsync, rename, fsync of
// the directory), so a reader always sees a complete version and needs no
// lock, and a writer killed at any point leaves the previous version.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/srvctl/srvctl/zones"
)

// Version is the format version of the files this package writes. Files of
// a later version are refused rather than misread.
const Version = 1

// ErrCorrupt is wrapped by the error Load and Lock return when the file
// exists but is not a state file this srvctl can read (a newer format
// included). Nothing is changed; the operator decides whether to delete it.
var ErrCorrupt = errors.New("not a readable srvctl state file")

// Key names one probed target: the host a SRV record points at and the port.
type Key struct {
	Host string // canonical FQDN, lower case with the trailing dot
	Port uint16
}

// String returns the key as the file stores it: "host:port", the host
// canonical.
func (k Key) String() string {
	return zones.Canonical(k.Host) + ":" + strconv.Itoa(int(k.Port))
}

// ParseKey is the inverse of Key.String.
func ParseKey(s string) (Key, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return Key{}, fmt.Errorf("target %q is not host:port", s)
	}
	port, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil || port == 0 {
		return Key{}, fmt.Errorf("target %q: port %q is not a number from 1 to 65535", s, s[i+1:])
	}
	return Key{Host: zones.Canonical(s[:i]), Port: uint16(port)}, nil
}

// Observation is the result of probing one target in one run.
type Observation struct {
	// Time is when the probe ran; zero means now.
	Time time.Time
	// Resolved reports that the host resolved to at least one address.
	Resolved bool
	// Live reports that at least one address answered as a KMS host. Live
	// implies Resolved.
	Live bool
	// Detail is a short human text of the failure, e.g. "timeout on
	// 192.0.2.1; refused on 2001:db8::1" or "NXDOMAIN". Ignored when Live.
	Detail string
}

// Target is what the file keeps per probed target. Times are UTC, to the
// second.
type Target struct {
	// FirstSeen is the first probe of the target.
	FirstSeen time.Time `json:"first_seen"`
	// LastProbe is the latest probe; Forget drops targets by it.
	LastProbe time.Time `json:"last_probe"`
	// LastLive is the latest probe that found the target live; zero if none.
	LastLive time.Time `json:"last_live,omitzero"`
	// FailingSince is the first probe of the current streak of failures;
	// zero when the latest probe was live.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// FailedRuns is the number of consecutive failed probes, the latest
	// included; zero when the latest probe was live.
	FailedRuns int `json:"failed_runs"`
	// Unresolved reports that every failure of the current streak was a
	// resolution failure (NXDOMAIN, no address).
	Unresolved bool `json:"unresolved,omitempty"`
	// LastDetail is the Detail of the latest failure of the current streak;
	// empty when the target is not failing.
	LastDetail string `json:"last_detail,omitempty"`
}

// State is the probe history: one Target per probed Key.
type State struct {
	// Version is the format version of the file the state was read from,
	// or Version.
	Version int `json:"version"`
	// Targets maps Key.String() to the target's history.
	Targets map[string]Target `json:"targets"`
}

// New returns an empty state.
func New() *State {
	return &State{Version: Version, Targets: map[string]Target{}}
}

// Target returns the history of k and whether there is one.
func (s *State) Target(k Key) (Target, bool) {
	t, ok := s.Targets[k.String()]
	return t, ok
}

// Clone returns a deep copy of s.
func (s *State) Clone() *State {
	return &State{Version: s.Version, Targets: maps.Clone(s.Targets)}
}

// Load reads the state file at path. A missing file is an empty state; a
// file that cannot be parsed, or that a newer srvctl wrote, is an error
// naming the file that wraps ErrCorrupt.
//
// Load takes no lock: writers replace the file atomically, so it always
// reads a complete version, the latest one saved, and a plan never waits for
// an audit that is still probing.
func Load(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state file %s: %w", path, err)
	}
	s, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w: %w", path, ErrCorrupt, err)
	}
	return s, nil
}

func decode(b []byte) (*State, error) {
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, err
	}
	switch {
	case head.Version == nil:
		return nil, errors.New("no version field")
	case *head.Version > Version:
		return nil, fmt.Errorf("format version %d was written by a newer srvctl; this one reads up to version %d", *head.Version, Version)
	case *head.Version < 1:
		return nil, fmt.Errorf("format version %d is not valid", *head.Version)
	}
	s := New()
	if err := json.Unmarshal(b, s); err != nil {
		return nil, err
	}
	if s.Targets == nil {
		s.Targets = map[string]Target{}
	}
	for k, t := range s.Targets {
		key, err := ParseKey(k)
		if err != nil {
			return nil, err
		}
		if key.String() != k {
			return nil, fmt.Errorf("target %q is not in canonical form %q", k, key.String())
		}
		if t.FailedRuns < 0 {
			return nil, fmt.Errorf("target %q: negative failed_runs %d", k, t.FailedRuns)
		}
	}
	return s, nil
}

// encode returns the file's content in the current format version: indented
// JSON, map keys sorted, a final newline. The same state always gives the
// same bytes.
func (s *State) encode() ([]byte, error) {
	b, err := json.MarshalIndent(State{Version: Version, Targets: s.Targets}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// record adds one observation of k to the history. An observation dated
// before the target's latest probe means the clock went backwards: it still
// counts as a run (a live one resets the streak: a host that answers is
// never kept stale), but no recorded time moves backwards, so the streak
// never looks older than it is.
func (s *State) record(k Key, o Observation) {
	now := o.Time
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	key := k.String()
	t, ok := s.Targets[key]
	if !ok {
		t.FirstSeen = now
	}
	prev := t.LastProbe
	t.LastProbe = later(prev, now)
	if o.Live {
		t.LastLive = later(t.LastLive, now)
		t.FailingSince = time.Time{}
		t.FailedRuns = 0
		t.Unresolved = false
		t.LastDetail = ""
		s.Targets[key] = t
		return
	}
	if t.FailedRuns == 0 {
		// A new streak starts at this probe, or at the previous one if the
		// clock went backwards: never before the target was last seen live.
		t.FailingSince = later(prev, now)
		t.Unresolved = true
	}
	t.FailedRuns++
	t.Unresolved = t.Unresolved && !o.Resolved
	t.LastDetail = o.Detail
	s.Targets[key] = t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// forget drops the targets not probed since olderThan and returns how many.
func (s *State) forget(olderThan time.Time) int {
	n := 0
	for k, t := range s.Targets {
		if t.LastProbe.Before(olderThan) {
			delete(s.Targets, k)
			n++
		}
	}
	return n
}
