package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/publisher/rfc2136"
	"github.com/srvctl/srvctl/zones"
)

const key = "srvctl-test"

func rec(target string, prio, weight uint16) zones.Record {
	return zones.Record{Target: target, Port: 1688, Priority: prio, Weight: weight, TTL: 3600}
}

func zone(name string, desired ...zones.Record) zones.Zone {
	return zones.Zone{Name: name, Service: zones.DefaultService, Backend: "rfc2136", Desired: desired}
}

func newBackend(t *testing.T, srv *bindtest.Server, servers map[string]string) *rfc2136.Backend {
	t.Helper()
	k, err := rfc2136.NewKey(key, srv.Algorithm, srv.Secrets[key])
	if err != nil {
		t.Fatal(err)
	}
	zc := make(map[string]rfc2136.Zone)
	for z, addr := range servers {
		zc[z] = rfc2136.Zone{Server: addr, Key: k}
	}
	b := rfc2136.New(rfc2136.Options{Zones: zc, Timeout: 2 * time.Second})
	t.Cleanup(func() { b.Close() })
	return b
}

func served(t *testing.T, srv *bindtest.Server, z string) []zones.Record {
	t.Helper()
	got, err := srv.Records(z)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// interfering is the real rfc2136 backend with another writer that changes
// the RRset (with its own key, through nsupdate) right after srvctl read
// it, on the first n reads.
type interfering struct {
	publisher.Backend
	srv    *bindtest.Server
	n      int32
	reads  atomic.Int32
	writes atomic.Int32
}

func (b *interfering) Current(ctx context.Context, z zones.Zone) ([]zones.Record, error) {
	cur, err := b.Backend.Current(ctx, z)
	if err != nil {
		return nil, err
	}
	if b.reads.Add(1) <= b.n {
		i := b.writes.Add(1)
		script := fmt.Sprintf("update add %s 3600 IN SRV 0 0 1688 kms-self%d.example.com.", z.Owner(), i)
		if err := b.srv.NSUpdate("kms-host", script); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

func TestConcurrentWriterIsNeverOverwritten(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{Zones: []string{"example.com."}, Keys: []string{key, "kms-host"}})
	b := &interfering{Backend: newBackend(t, srv, map[string]string{"example.com.": srv.Addr}), srv: srv, n: 2}
	r := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"rfc2136": b}, Policy: zones.Policy{Prune: zones.PruneNone}})

	z := zone("example.com.", rec("kms1.example.com.", 0, 100))
	plans := r.Apply(context.Background(), []zones.Zone{z})
	if plans[0].Err != nil {
		t.Fatalf("apply: %v", plans[0].Err)
	}
	// Two interfering writes, each made the update fail; the third attempt
	// planned with them in view and kept them (prune: none).
	want := zones.Sort([]zones.Record{rec("kms1.example.com.", 0, 100),
		rec("kms-self1.example.com.", 0, 0), rec("kms-self2.example.com.", 0, 0)})
	if diff := cmp.Diff(want, served(t, srv, "example.com.")); diff != "" {
		t.Errorf("served (-want +got):\n%s", diff)
	}
	if len(plans[0].Foreign) != 2 {
		t.Errorf("final plan foreign = %v, want the two concurrent records", plans[0].Foreign)
	}
}

func TestConflictGivesUp(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{Zones: []string{"example.com."}, Keys: []string{key, "kms-host"}})
	b := &interfering{Backend: newBackend(t, srv, map[string]string{"example.com.": srv.Addr}), srv: srv, n: 100}
	r := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"rfc2136": b}, Retries: 3})
	plans := r.Apply(context.Background(), []zones.Zone{zone("example.com.", rec("kms1.example.com.", 0, 100))})
	err := plans[0].Err
	if !errors.Is(err, publisher.ErrConflict) || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Fatalf("err = %v, want a conflict after 4 attempts", err)
	}
	if got := b.reads.Load(); got != 4 {
		t.Errorf("%d reads, want 4 (1 + 3 re-plans)", got)
	}
	for _, r := range served(t, srv, "example.com.") {
		if r.Target == "kms1.example.com." {
			t.Error("srvctl's record was written despite the conflicts")
		}
	}
}

func TestReadBackCatchesDroppedRecords(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{
		Zones:  []string{"example.com."},
		Policy: `grant "{key}" name _vlmcs._tcp.{zone} SRV(1);`,
	})
	r := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{
		"rfc2136": newBackend(t, srv, map[string]string{"example.com.": srv.Addr})}})
	plans := r.Apply(context.Background(), []zones.Zone{
		zone("example.com.", rec("kms1.example.com.", 0, 100), rec("kms2.example.com.", 10, 0))})
	var re *publisher.ResultError
	if !errors.As(plans[0].Err, &re) || len(re.Missing) != 1 {
		t.Fatalf("err = %v, want a read-back error with one missing record", plans[0].Err)
	}
	if !strings.Contains(plans[0].Err.Error(), "SRV(n)") {
		t.Errorf("error %q does not point at the policy limit", plans[0].Err)
	}
}

func TestOneFailingZoneDoesNotStopOthers(t *testing.T) {
	good := []string{"a.example.", "b.example.", "c.example."}
	srv := bindtest.Start(t, bindtest.Options{Zones: good})
	servers := map[string]string{"down.example.": "127.0.0.1:1"}
	zs := []zones.Zone{zone("down.example.", rec("kms1.example.com.", 0, 0))}
	for _, g := range good {
		servers[g] = srv.Addr
		zs = append(zs, zone(g, rec("kms1.example.com.", 0, 0)))
	}
	r := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"rfc2136": newBackend(t, srv, servers)}, Concurrency: 2})
	plans := r.Apply(context.Background(), zs)
	if plans[0].Err == nil || plans[0].Zone != "down.example." {
		t.Errorf("down zone: %+v", plans[0])
	}
	for i, g := range good {
		if plans[i+1].Err != nil || plans[i+1].Zone != g {
			t.Errorf("zone %s: %v", g, plans[i+1].Err)
		}
		if got := served(t, srv, g); len(got) != 1 {
			t.Errorf("%s serves %v", g, got)
		}
	}
	// A second run plans nothing for the good zones.
	for _, p := range r.Plan(context.Background(), zs[1:]) {
		if p.Err != nil || !p.Empty() {
			t.Errorf("%s: second plan %v %v", p.Zone, p.Changes, p.Err)
		}
	}
}

func TestCheckResult(t *testing.T) {
	a, b := rec("a.example.", 0, 0), rec("b.example.", 0, 0)
	if err := publisher.CheckResult([]zones.Record{a, b}, []zones.Record{b, a}); err != nil {
		t.Errorf("same records in another order: %v", err)
	}
	err := publisher.CheckResult([]zones.Record{a, b}, []zones.Record{a, rec("c.example.", 0, 0)})
	var re *publisher.ResultError
	if !errors.As(err, &re) || len(re.Missing) != 1 || len(re.Unexpected) != 1 {
		t.Fatalf("err = %v", err)
	}
}

// TestMaxDeletes: a run that would delete more records than MaxDeletes
// deletes none of them (and says why), in every zone; --force lifts it.
func TestMaxDeletes(t *testing.T) {
	names := []string{"a.example.com.", "b.example.com.", "c.example.com."}
	srv := bindtest.Start(t, bindtest.Options{Zones: names, Keys: []string{key}})
	servers := map[string]string{}
	var zs []zones.Zone
	for _, n := range names {
		servers[n] = srv.Addr
		zs = append(zs, zone(n, rec("kms1.example.com.", 0, 100)))
		if err := srv.NSUpdate(key, fmt.Sprintf("update add _vlmcs._tcp.%s 3600 IN SRV 0 0 1688 gone.example.com.", n)); err != nil {
			t.Fatal(err)
		}
	}
	b := newBackend(t, srv, servers)
	opts := publisher.Options{Backends: map[string]publisher.Backend{"rfc2136": b}, Policy: zones.Policy{Prune: zones.PruneAll}, MaxDeletes: 2}

	held := publisher.New(opts).Apply(context.Background(), zs)
	for i, p := range held {
		if p.Err != nil {
			t.Fatalf("%s: %v", p.Zone, p.Err)
		}
		if _, _, d := p.Counts(); d != 0 || len(p.Foreign) != 1 ||
			!strings.Contains(p.Foreign[0].Reason, "this run would delete 3 records, more than max_deletes 2 (use --force)") {
			t.Errorf("%s: deletes %d, foreign %v; want the stale record held", names[i], d, p.Foreign)
		}
		want := zones.Sort([]zones.Record{rec("kms1.example.com.", 0, 100), rec("gone.example.com.", 0, 0)})
		if diff := cmp.Diff(want, served(t, srv, names[i])); diff != "" {
			t.Errorf("%s served (-want +got):\n%s", names[i], diff)
		}
	}

	opts.Policy.Force = true
	for _, p := range publisher.New(opts).Apply(context.Background(), zs) {
		if p.Err != nil {
			t.Fatalf("%s: %v", p.Zone, p.Err)
		}
		if diff := cmp.Diff([]zones.Record{rec("kms1.example.com.", 0, 100)}, served(t, srv, p.Zone)); diff != "" {
			t.Errorf("%s with force, served (-want +got):\n%s", p.Zone, diff)
		}
	}
}

// cancelling is the real backend, cancelling the run once every zone was
// read: as a SIGTERM between plan and apply would.
type cancelling struct {
	publisher.Backend
	cancel func()
	reads  atomic.Int32
	n      int32
}

func (b *cancelling) Current(ctx context.Context, z zones.Zone) ([]zones.Record, error) {
	cur, err := b.Backend.Current(ctx, z)
	if b.reads.Add(1) == b.n {
		b.cancel()
	}
	return cur, err
}

// TestCancelledRunStartsNoUpdate: once the run is cancelled, no zone's
// update is started; each zone says it was not applied.
func TestCancelledRunStartsNoUpdate(t *testing.T) {
	names := []string{"a.example.com.", "b.example.com."}
	srv := bindtest.Start(t, bindtest.Options{Zones: names, Keys: []string{key}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &cancelling{Backend: newBackend(t, srv, map[string]string{names[0]: srv.Addr, names[1]: srv.Addr}), cancel: cancel, n: 2}
	r := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"rfc2136": b}})
	plans := r.Apply(ctx, []zones.Zone{zone(names[0], rec("kms1.example.com.", 0, 100)), zone(names[1], rec("kms1.example.com.", 0, 100))})
	for i, p := range plans {
		if !errors.Is(p.Err, context.Canceled) || !strings.Contains(p.Err.Error(), "not applied") {
			t.Errorf("%s: err %v, want not applied: canceled", names[i], p.Err)
		}
		if got := served(t, srv, names[i]); len(got) != 0 {
			t.Errorf("%s serves %v after a cancelled run, want nothing", names[i], got)
		}
	}
}
