// Package publisher brings zones to their desired state: for each zone it
// reads what the zone holds through the zone's backend, plans the changes
// with zones.Diff and, when asked, applies them, re-planning when a
// concurrent writer got in between and reading back what the server kept.
// Zones are processed concurrently; one zone's failure never stops the others.
//
// Backends live in sub-packages (publisher/rfc2136).
package publisher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/srvctl/srvctl/zones"
)

// ErrConflict is wrapped by a backend's Apply when the zone's RRset is no
// longer the one the plan was made from (another writer changed it), so the
// update was not applied. The Reconciler then re-reads and re-plans.
var ErrConflict = errors.New("the RRset changed after it was read")

// Backend reads and writes the service RRset of zones.
type Backend interface {
	// Current returns the records of the zone's service RRset.
	Current(ctx context.Context, z zones.Zone) ([]zones.Record, error)
	// Apply carries out p atomically, only if the zone still holds
	// p.Current; otherwise it changes nothing and returns an error wrapping
	// ErrConflict.
	Apply(ctx context.Context, p *zones.Plan) error
}

// Options configure a Reconciler. The zero value of every field but
// Backends is usable.
type Options struct {
	// Backends by name (zones.Zone.Backend).
	Backends map[string]Backend
	// Policy says which records that are not desired may be deleted
	// (zones.Policy: prune, stale evidence, live targets, --force).
	Policy zones.Policy
	// MaxDeletes bounds the records the prune policy deletes in one
	// Plan or Apply over all zones, unless Policy.Force: when a run would
	// delete more, it deletes none of them and reports them held. 0 means
	// no bound.
	MaxDeletes int
	// Concurrency bounds the zones in flight; 0 means 16.
	Concurrency int
	// Retries bounds the re-plans of a zone after a conflict; 0 means 3,
	// a negative value none.
	Retries int
	// Logger receives progress; nil logs nothing.
	Logger *zap.Logger
}

// Reconciler plans and applies zones.
type Reconciler struct {
	backends    map[string]Backend
	policy      zones.Policy
	maxDeletes  int
	concurrency int
	retries     int
	log         *zap.Logger
}

// New returns a Reconciler.
func New(opts Options) *Reconciler {
	r := &Reconciler{
		backends:    opts.Backends,
		policy:      opts.Policy,
		maxDeletes:  opts.MaxDeletes,
		concurrency: opts.Concurrency,
		retries:     opts.Retries,
		log:         opts.Logger,
	}
	if r.concurrency <= 0 {
		r.concurrency = 16
	}
	switch {
	case r.retries == 0:
		r.retries = 3
	case r.retries < 0:
		r.retries = 0
	}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	return r
}

// Plan reads every zone and returns its plan, in the order of zs. Nothing is
// written. A zone that cannot be read has Err set.
func (r *Reconciler) Plan(ctx context.Context, zs []zones.Zone) []zones.Plan {
	plans, _ := r.plan(ctx, zs)
	return plans
}

// Apply brings every zone to its desired state and returns, in the order of
// zs, the plan that was carried out for each. A zone that failed has Err
// set; the others were still applied.
//
// Cancelling ctx stops Apply from starting zones (they fail "not applied"),
// but a zone whose update was sent is finished, read-back included, so
// every zone ends either fully old or fully new.
func (r *Reconciler) Apply(ctx context.Context, zs []zones.Zone) []zones.Plan {
	plans, pol := r.plan(ctx, zs)
	r.each(ctx, len(zs), func(ctx context.Context, i int) {
		plans[i] = r.applyZone(ctx, zs[i], plans[i], pol)
	})
	return plans
}

// plan reads and plans every zone, then holds the prune deletions of all
// zones if there are more than maxDeletes. It returns the plans and the
// policy (with its hold) that re-plans must use.
func (r *Reconciler) plan(ctx context.Context, zs []zones.Zone) ([]zones.Plan, zones.Policy) {
	pol := r.policy
	plans := make([]zones.Plan, len(zs))
	r.each(ctx, len(zs), func(ctx context.Context, i int) {
		plans[i] = r.read(ctx, zs[i], pol)
	})
	n := 0
	for i := range plans {
		n += pruneDeletes(zs[i], &plans[i])
	}
	if r.maxDeletes > 0 && n > r.maxDeletes && !pol.Force {
		pol.Hold = fmt.Sprintf("this run would delete %d records, more than max_deletes %d (use --force)", n, r.maxDeletes)
		r.log.Warn("deletions held", zap.Int("deletes", n), zap.Int("max_deletes", r.maxDeletes))
		for i := range plans {
			if plans[i].Err == nil {
				plans[i] = zones.Diff(zs[i], plans[i].Current, pol)
			}
		}
	}
	return plans, pol
}

// pruneDeletes counts the deletions of p that the prune policy makes: of
// records whose target is not desired (duplicates of a desired host's
// record are upkeep, not pruning).
func pruneDeletes(z zones.Zone, p *zones.Plan) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == zones.Delete && !slices.ContainsFunc(z.Desired, func(d zones.Record) bool { return d.Target == c.Record.Target }) {
			n++
		}
	}
	return n
}

// each runs do for 0..n-1 on at most r.concurrency goroutines.
func (r *Reconciler) each(ctx context.Context, n int, do func(context.Context, int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(r.concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(ctx, i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func (r *Reconciler) backend(z zones.Zone) (Backend, error) {
	b, ok := r.backends[z.Backend]
	if !ok {
		return nil, fmt.Errorf("zone %s: no backend %q", z.Name, z.Backend)
	}
	return b, nil
}

// read returns the zone's plan under pol; on failure the plan carries the
// error.
func (r *Reconciler) read(ctx context.Context, z zones.Zone, pol zones.Policy) zones.Plan {
	failed := func(err error) zones.Plan {
		return zones.Plan{Zone: z.Name, Owner: z.Owner(), Backend: z.Backend, Server: z.Server, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return failed(fmt.Errorf("not started: %w", err))
	}
	b, err := r.backend(z)
	if err != nil {
		return failed(err)
	}
	current, err := b.Current(ctx, z)
	if err != nil {
		r.log.Warn("zone read failed", zap.String("zone", z.Name), zap.String("server", z.Server), zap.Error(err))
		return failed(err)
	}
	p := zones.Diff(z, current, pol)
	a, u, d := p.Counts()
	r.log.Debug("zone planned", zap.String("zone", z.Name), zap.Int("records", len(current)),
		zap.Int("add", a), zap.Int("update", u), zap.Int("delete", d), zap.Int("foreign", len(p.Foreign)))
	return p
}

// applyZone carries out p, the zone's plan under pol, re-reading and
// re-planning after a conflict.
func (r *Reconciler) applyZone(ctx context.Context, z zones.Zone, p zones.Plan, pol zones.Policy) zones.Plan {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			p = r.read(ctx, z, pol)
		}
		if p.Err != nil || p.Empty() {
			return p
		}
		b, err := r.backend(z)
		if err != nil {
			p.Err = err
			return p
		}
		if err := ctx.Err(); err != nil {
			p.Err = fmt.Errorf("not applied: %w", err)
			return p
		}
		// Once an update is sent it is seen through, read-back included,
		// even if ctx is cancelled meanwhile: a stop (SIGTERM) must not
		// leave a zone whose fate is unknown. The backend's own timeouts
		// bound this.
		zctx := context.WithoutCancel(ctx)
		err = b.Apply(zctx, &p)
		if errors.Is(err, ErrConflict) {
			if attempt < r.retries {
				r.log.Info("zone changed by another writer, re-planning",
					zap.String("zone", z.Name), zap.Int("attempt", attempt+1), zap.Error(err))
				continue
			}
			p.Err = fmt.Errorf("gave up after %d attempts: another writer keeps changing %s: %w", attempt+1, p.Owner, err)
		} else if err != nil {
			p.Err = err
		} else {
			p.Err = r.readBack(zctx, b, z, &p)
		}
		if p.Err != nil {
			r.log.Error("zone apply failed", zap.String("zone", z.Name), zap.String("server", z.Server), zap.Error(p.Err))
			return p
		}
		a, u, d := p.Counts()
		r.log.Info("zone applied", zap.String("zone", z.Name), zap.Int("add", a), zap.Int("update", u), zap.Int("delete", d))
		return p
	}
}

// readBack checks that the zone holds what the plan says it should now. A
// server may answer NOERROR and still drop records (BIND's update-policy
// "SRV(n)" limit does).
func (r *Reconciler) readBack(ctx context.Context, b Backend, z zones.Zone, p *zones.Plan) error {
	got, err := b.Current(ctx, z)
	if err != nil {
		return fmt.Errorf("update accepted, but reading it back failed: %w", err)
	}
	return CheckResult(p.Result(), got)
}

// ResultError says how the RRset a server holds after an accepted update
// differs from the one the update should have produced.
type ResultError struct {
	Missing    []zones.Record // expected, not there
	Unexpected []zones.Record // there, not expected
}

func (e *ResultError) Error() string {
	var b strings.Builder
	b.WriteString("the server accepted the update but does not hold the expected records")
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, "; missing: %s", joinRecords(e.Missing))
	}
	if len(e.Unexpected) > 0 {
		fmt.Fprintf(&b, "; unexpected: %s", joinRecords(e.Unexpected))
	}
	if len(e.Missing) > 0 && len(e.Unexpected) == 0 {
		b.WriteString(" (an update-policy with a record limit such as SRV(n) drops records silently)")
	}
	return b.String()
}

func joinRecords(rs []zones.Record) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// CheckResult compares the records a zone holds with the ones expected and
// returns a *ResultError when they differ.
func CheckResult(want, got []zones.Record) error {
	want, got = zones.Sort(slices.Clone(want)), zones.Sort(slices.Clone(got))
	if slices.Equal(want, got) {
		return nil
	}
	e := &ResultError{}
	for _, w := range want {
		if !slices.Contains(got, w) {
			e.Missing = append(e.Missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			e.Unexpected = append(e.Unexpected, g)
		}
	}
	if len(e.Missing) == 0 && len(e.Unexpected) == 0 {
		// Same records, different multiplicity: report it rather than pass.
		e.Unexpected = got
	}
	return e
}
