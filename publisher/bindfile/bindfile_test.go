package bindfile_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/publisher/bindfile"
	"github.com/srvctl/srvctl/zones"
)

const labZone = "lab.test."

// today is the tests' date: its date serial is 2026071500.
var today = time.Date(2026, 7, 15, 9, 30, 0, 0, time.UTC)

func now() time.Time { return today }

func rec(target string, prio, weight uint16) zones.Record {
	return zones.Record{Target: target, Port: 1688, Priority: prio, Weight: weight, TTL: 3600}
}

func zone(desired ...zones.Record) zones.Zone {
	return zones.Zone{Name: labZone, Service: zones.DefaultService, Backend: "bindfile", Server: "fragment", Desired: desired}
}

func reconciler(b publisher.Backend) *publisher.Reconciler {
	return publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"bindfile": b}})
}

func apply(t *testing.T, b publisher.Backend, z zones.Zone) zones.Plan {
	t.Helper()
	return reconciler(b).Apply(context.Background(), []zones.Zone{z})[0]
}

func plan(t *testing.T, b publisher.Backend, z zones.Zone) zones.Plan {
	t.Helper()
	return reconciler(b).Plan(context.Background(), []zones.Zone{z})[0]
}

func newBackend(t *testing.T, o bindfile.Options) *bindfile.Backend {
	t.Helper()
	if o.Now == nil {
		o.Now = now
	}
	if o.Source == "" {
		o.Source = "/etc/srvctl/srvctl.yaml"
	}
	b, err := bindfile.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// binary finds a BIND tool in PATH or /usr/sbin, where Debian puts rndc.
func binary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not installed (apt-get install bind9 bind9-dnsutils)", name)
	}
	return p
}

// lab is a static zone lab.test served by a real named from a zone file
// that $INCLUDEs the fragment.
type lab struct {
	dir, frag, zoneFile string
	srv                 *bindtest.Server
}

// labZoneText is lab.test's zone file: a multi-line SOA with comments, a
// CNAME (an SRV target must not be one) and the fragment's $INCLUDE.
func labZoneText(serial uint32, frag string) string {
	return fmt.Sprintf(`; lab.test, maintained by hand
$TTL 300
@	IN	SOA	ns.lab.test. hostmaster.lab.test. (
		%d	; serial
		3600	; refresh
		600	; retry
		86400	; expire
		300 )	; minimum
	IN	NS	ns
ns	IN	A	127.0.0.1
kms1	IN	A	192.0.2.1
kms2	IN	A	192.0.2.2
kms-alias	IN	CNAME	kms1
$INCLUDE %q
`, serial, frag)
}

// startLab writes the fragment (when fragment is not "") and the zone file
// with serial 2024010100, and starts named with rndc.
func startLab(t *testing.T, fragment string) *lab {
	t.Helper()
	bindtest.RequireNamed(t)
	dir := t.TempDir()
	l := &lab{dir: dir, frag: filepath.Join(dir, "lab.test.vlmcs"), zoneFile: filepath.Join(dir, "db.lab.test")}
	write(t, l.frag, fragment)
	write(t, l.zoneFile, labZoneText(2024010100, l.frag))
	l.srv = bindtest.Start(t, bindtest.Options{
		Rndc: true,
		Conf: []string{fmt.Sprintf("zone \"lab.test\" {\n\ttype primary;\n\tfile %q;\n};", l.zoneFile)},
	})
	l.waitSerial(t, 2024010100)
	return l
}

// zone is the lab's bindfile configuration: named-checkzone as the check
// (failing on an SRV record that points at a CNAME) and rndc reload.
func (l *lab) zone(t *testing.T) bindfile.Zone {
	return bindfile.Zone{
		File:     l.frag,
		ZoneFile: l.zoneFile,
		Check:    []string{binary(t, "named-checkzone"), "-S", "fail", "{zone}", "{zone_file}"},
		Reload:   []string{binary(t, "rndc"), "-c", l.srv.RndcConf, "reload", "{zone}"},
	}
}

// waitSerial waits until named serves lab.test with serial want: a zone
// in Options.Conf, and a zone rndc asked to reload, may load a moment
// later.
func (l *lab) waitSerial(t *testing.T, want uint32) {
	t.Helper()
	var got uint32
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, err = l.srv.Serial(labZone); err == nil && got == want {
			return
		}
	}
	t.Fatalf("named serves lab.test with serial %d (%v), want %d:\n%s", got, err, want, l.srv.LogTail(10))
}

func (l *lab) served(t *testing.T) []zones.Record {
	t.Helper()
	got, err := l.srv.Records(labZone)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mtime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

// TestApplyThroughNamed: apply through the Reconciler; named serves the
// records with the bumped serial; a second apply changes nothing, not even
// an mtime; a change of the desired state is published with the next
// serial.
func TestApplyThroughNamed(t *testing.T) {
	l := startLab(t, "")
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: l.zone(t)}})
	desired := []zones.Record{rec("kms1.lab.test.", 0, 100), rec("kms2.lab.test.", 10, 0)}
	z := zone(desired...)

	if p := plan(t, b, z); p.Err != nil || len(p.Changes) != 2 {
		t.Fatalf("plan: %d changes, %v; want 2 adds", len(p.Changes), p.Err)
	}
	if p := apply(t, b, z); p.Err != nil || len(p.Changes) != 2 {
		t.Fatalf("apply: %d changes, %v; want 2 adds", len(p.Changes), p.Err)
	}
	l.waitSerial(t, 2026071500)
	if diff := cmp.Diff(zones.Sort(desired), l.served(t)); diff != "" {
		t.Errorf("named serves (-want +got):\n%s", diff)
	}
	want := "; generated by srvctl from /etc/srvctl/srvctl.yaml: do not edit; changes are overwritten\n" +
		"_vlmcs._tcp.lab.test. 3600 IN SRV 0 100 1688 kms1.lab.test.\n" +
		"_vlmcs._tcp.lab.test. 3600 IN SRV 10 0 1688 kms2.lab.test.\n"
	if diff := cmp.Diff(want, read(t, l.frag)); diff != "" {
		t.Errorf("fragment (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(labZoneText(2026071500, l.frag), read(t, l.zoneFile)); diff != "" {
		t.Errorf("zone file: only the serial may change (-want +got):\n%s", diff)
	}

	// Again: nothing to do, and nothing is touched.
	past := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, f := range []string{l.frag, l.zoneFile} {
		if err := os.Chtimes(f, past, past); err != nil {
			t.Fatal(err)
		}
	}
	fragBefore, zoneBefore := read(t, l.frag), read(t, l.zoneFile)
	if p := apply(t, b, z); p.Err != nil || !p.Empty() {
		t.Fatalf("second apply: %v, %v; want no changes", p.Changes, p.Err)
	}
	for _, f := range []string{l.frag, l.zoneFile} {
		if got := mtime(t, f); !got.Equal(past) {
			t.Errorf("%s: mtime %s after an apply without changes, want %s", f, got, past)
		}
	}
	if read(t, l.frag) != fragBefore || read(t, l.zoneFile) != zoneBefore {
		t.Error("an apply without changes changed a file")
	}
	if serial, err := l.srv.Serial(labZone); err != nil || serial != 2026071500 {
		t.Errorf("serial %d, %v after an apply without changes; want 2026071500", serial, err)
	}

	// A change: the next serial, and named serves it.
	desired = []zones.Record{rec("kms1.lab.test.", 0, 50)}
	p := reconciler(b).Apply(context.Background(), []zones.Zone{zone(desired...)})[0]
	if p.Err != nil {
		t.Fatalf("third apply: %v", p.Err)
	}
	if a, u, d := p.Counts(); a != 0 || u != 1 || d != 0 || len(p.Foreign) != 1 {
		t.Errorf("third apply: %d adds, %d updates, %d deletes, %d foreign; want 1 update and kms2 kept as foreign (prune: none)", a, u, d, len(p.Foreign))
	}
	l.waitSerial(t, 2026071501)
	want2 := zones.Sort([]zones.Record{rec("kms1.lab.test.", 0, 50), rec("kms2.lab.test.", 10, 0)})
	if diff := cmp.Diff(want2, l.served(t)); diff != "" {
		t.Errorf("named serves after the change (-want +got):\n%s", diff)
	}
}

// TestPruneToEmpty: deleting every record leaves a fragment with the header
// only, which the zone still $INCLUDEs.
func TestPruneToEmpty(t *testing.T) {
	l := startLab(t, "_vlmcs._tcp 60 IN SRV 0 0 1688 kms1.lab.test.\n")
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: l.zone(t)}})
	// Force: the safety rule keeps the last record otherwise.
	r := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"bindfile": b}, Policy: zones.Policy{Prune: zones.PruneAll, Force: true}})
	if p := r.Apply(context.Background(), []zones.Zone{zone()})[0]; p.Err != nil || len(p.Changes) != 1 {
		t.Fatalf("apply: %v, %v; want one delete", p.Changes, p.Err)
	}
	l.waitSerial(t, 2026071500)
	if got := l.served(t); len(got) != 0 {
		t.Errorf("named serves %v, want no records", got)
	}
	want := "; generated by srvctl from /etc/srvctl/srvctl.yaml: do not edit; changes are overwritten\n"
	if got := read(t, l.frag); got != want {
		t.Errorf("fragment %q, want the header only", got)
	}
}

// TestCheckFailureRestores: a failing check puts the previous fragment back
// byte for byte; the zone file and what named serves stay as they were.
func TestCheckFailureRestores(t *testing.T) {
	const handWritten = "; written by hand\n_vlmcs._tcp\t3600 IN SRV 0 100 1688 kms1.lab.test. ; the first\n"
	tests := []struct {
		name    string
		check   func(l *lab) []string
		desired []zones.Record
		output  string // in the error
	}{
		{"false", func(*lab) []string { return []string{"false"} },
			[]zones.Record{rec("kms1.lab.test.", 0, 100), rec("kms2.lab.test.", 0, 0)}, "false: exit status 1 (no output)"},
		// named-checkzone -S fail refuses an SRV record whose target is a
		// CNAME, which named itself would load.
		{"named-checkzone", func(l *lab) []string { return l.zone(t).Check },
			[]zones.Record{rec("kms1.lab.test.", 0, 100), rec("kms-alias.lab.test.", 0, 0)}, "is a CNAME (illegal)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := startLab(t, handWritten)
			zc := l.zone(t)
			zc.Check = tt.check(l)
			b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: zc}})
			zoneBefore := read(t, l.zoneFile)
			p := apply(t, b, zone(tt.desired...))
			var ce *bindfile.CommandError
			if !errors.As(p.Err, &ce) || !strings.Contains(p.Err.Error(), "the check failed, so the previous fragment was put back") ||
				!strings.Contains(p.Err.Error(), tt.output) || !strings.Contains(p.Err.Error(), l.frag) {
				t.Fatalf("apply error %v; want a check failure naming %s with %q", p.Err, l.frag, tt.output)
			}
			if got := read(t, l.frag); got != handWritten {
				t.Errorf("fragment after the failed check:\n%q\nwant it back byte for byte:\n%q", got, handWritten)
			}
			if read(t, l.zoneFile) != zoneBefore {
				t.Error("the zone file changed although the check failed")
			}
			if diff := cmp.Diff([]zones.Record{rec("kms1.lab.test.", 0, 100)}, l.served(t)); diff != "" {
				t.Errorf("named serves (-want +got):\n%s", diff)
			}
			if serial, err := l.srv.Serial(labZone); err != nil || serial != 2024010100 {
				t.Errorf("serial %d, %v; want 2024010100", serial, err)
			}
		})
	}
}

// TestCheckFailureRemovesNewFragment: a fragment that did not exist before
// is removed when the check fails; a check that outlives the timeout
// fails.
func TestCheckFailureRemovesNewFragment(t *testing.T) {
	tests := []struct {
		name    string
		check   []string
		timeout time.Duration
		want    []string
		notWant string
	}{
		{"exit status and the last lines", []string{"sh", "-c", "seq 1 50; echo oops >&2; exit 3"}, 0,
			[]string{"sh: exit status 3; its output:\n[earlier lines left out]\n32\n", "\n50\noops"}, "\n31\n"},
		{"timeout", []string{"sleep", "30"}, 200 * time.Millisecond, []string{"sleep: timed out after 200ms"}, ""},
		{"missing program", []string{"/nonexistent/check"}, 0, []string{"/nonexistent/check", "no such file"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frag := filepath.Join(t.TempDir(), "frag")
			b := newBackend(t, bindfile.Options{Timeout: tt.timeout, Zones: map[string]bindfile.Zone{labZone: {File: frag, Check: tt.check}}})
			p := apply(t, b, zone(rec("kms1.lab.test.", 0, 0)))
			if p.Err == nil {
				t.Fatal("apply succeeded with a failing check")
			}
			for _, w := range tt.want {
				if !strings.Contains(p.Err.Error(), w) {
					t.Errorf("error %q does not contain %q", p.Err, w)
				}
			}
			if tt.notWant != "" && strings.Contains(p.Err.Error(), tt.notWant) {
				t.Errorf("error %q contains %q", p.Err, tt.notWant)
			}
			if _, err := os.Stat(frag); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the new fragment is still there after the failed check (%v)", err)
			}
		})
	}
}

// TestPlaceholders: {file} and {zone} are replaced in a command's
// arguments ({zone_file} in the lab's named-checkzone).
func TestPlaceholders(t *testing.T) {
	dir := t.TempDir()
	frag := filepath.Join(dir, "frag")
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: {
		File:  frag,
		Check: []string{"cp", "{file}", filepath.Join(dir, "copy-of-{zone}")},
	}}})
	if p := apply(t, b, zone(rec("kms1.lab.test.", 0, 0))); p.Err != nil {
		t.Fatal(p.Err)
	}
	if got, want := read(t, filepath.Join(dir, "copy-of-lab.test")), read(t, frag); got != want {
		t.Errorf("the check's copy of {file} is %q, want %q", got, want)
	}
}

// TestJournalRefused: a dynamic zone (named has written its journal) is
// refused by plan and apply, and nothing is written.
func TestJournalRefused(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{Zones: []string{"dyn.test"}})
	if err := srv.NSUpdate(bindtest.DefaultKey, "update add _vlmcs._tcp.dyn.test. 60 IN SRV 0 0 1688 kms1.dyn.test."); err != nil {
		t.Fatal(err)
	}
	zoneFile := filepath.Join(srv.Dir, "zones", "db.dyn.test")
	if _, err := os.Stat(zoneFile + ".jnl"); err != nil {
		t.Fatalf("named wrote no journal: %v", err)
	}
	zoneBefore := read(t, zoneFile)
	frag := filepath.Join(t.TempDir(), "frag")
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{"dyn.test.": {File: frag, ZoneFile: zoneFile, Reload: []string{"false"}}}})
	z := zones.Zone{Name: "dyn.test.", Service: zones.DefaultService, Backend: "bindfile", Desired: []zones.Record{rec("kms1.dyn.test.", 0, 0)}}
	want := fmt.Sprintf("zone dyn.test.: %s.jnl: exists, so the zone is dynamic (named keeps updates in its journal and would overwrite or reject edits of its file); use backend: rfc2136, or rndc freeze dyn.test / edit / rndc thaw dyn.test", zoneFile)
	for _, p := range []zones.Plan{plan(t, b, z), apply(t, b, z)} {
		if !errors.Is(p.Err, bindfile.ErrDynamic) || p.Err.Error() != want {
			t.Errorf("error %v\nwant %s", p.Err, want)
		}
	}
	p := zones.Plan{Zone: "dyn.test.", Owner: z.Owner(), Changes: []zones.Change{{Action: zones.Add, Record: rec("kms1.dyn.test.", 0, 0)}}}
	if err := b.Apply(context.Background(), &p); !errors.Is(err, bindfile.ErrDynamic) {
		t.Errorf("Apply: %v, want ErrDynamic", err)
	}
	if _, err := os.Stat(frag); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a fragment was written for a dynamic zone (%v)", err)
	}
	if read(t, zoneFile) != zoneBefore {
		t.Error("the dynamic zone's file changed")
	}
}

// TestForeignRefused: a fragment with anything but the service's SRV
// records is refused with its file and line, by plan and apply, and stays
// as it is.
func TestForeignRefused(t *testing.T) {
	const ok = "; generated by srvctl: do not edit; changes are overwritten\n_vlmcs._tcp.lab.test. 3600 IN SRV 0 0 1688 kms1.lab.test.\n"
	tests := []struct {
		name, text string
		line       int
		want       string
	}{
		{"an A record", ok + "www.lab.test. 300 IN A 192.0.2.80\n", 3, "www.lab.test. A is not _vlmcs._tcp.lab.test. SRV"},
		{"SRV at another owner", ok + "_ldap._tcp 300 IN SRV 0 0 389 dc1.lab.test.\n", 3, "_ldap._tcp.lab.test. SRV is not"},
		{"$INCLUDE", "$INCLUDE \"/etc/passwd\"\n" + ok, 1, "$INCLUDE brings in records"},
		{"$GENERATE", ok + "\n$GENERATE 1-9 _vlmcs._tcp 60 IN SRV 0 0 1688 kms$.lab.test.\n", 4, "$GENERATE brings in records"},
		{"a syntax error", ok + "_vlmcs._tcp 3600 IN SRV 0 0 1688\n", 3, "syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frag := filepath.Join(t.TempDir(), "frag")
			write(t, frag, tt.text)
			b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: {File: frag}}})
			z := zone(rec("kms2.lab.test.", 0, 0))
			for _, p := range []zones.Plan{plan(t, b, z), apply(t, b, z)} {
				var e *bindfile.Error
				if !errors.As(p.Err, &e) || e.File != frag || e.Line != tt.line || e.Zone != labZone {
					t.Fatalf("error %v; want a *bindfile.Error for %s line %d", p.Err, frag, tt.line)
				}
				prefix := fmt.Sprintf("zone lab.test.: %s:%d: ", frag, tt.line)
				if msg := p.Err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.want) {
					t.Errorf("error %q; want %q… %q", msg, prefix, tt.want)
				}
			}
			if got := read(t, frag); got != tt.text {
				t.Errorf("the refused fragment changed to %q", got)
			}
		})
	}
}

// secondWriter is the real backend with another writer that edits the
// fragment by hand right after srvctl read it, on the first n reads.
type secondWriter struct {
	*bindfile.Backend
	frag  string
	n     int32
	reads atomic.Int32
}

func (w *secondWriter) Current(ctx context.Context, z zones.Zone) ([]zones.Record, error) {
	cur, err := w.Backend.Current(ctx, z)
	if err != nil {
		return nil, err
	}
	if i := w.reads.Add(1); i <= w.n {
		f, err := os.OpenFile(w.frag, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(f, "_vlmcs._tcp.lab.test. 3600 IN SRV 0 0 1688 hand%d.lab.test.\n", i)
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// TestConflictReplans: the fragment edited between Current and Apply makes
// Apply fail with ErrConflict without writing, and the Reconciler re-plans
// with the edit in view.
func TestConflictReplans(t *testing.T) {
	frag := filepath.Join(t.TempDir(), "frag")
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: {File: frag}}})
	w := &secondWriter{Backend: b, frag: frag, n: 1}
	p := apply(t, w, zone(rec("kms1.lab.test.", 0, 100)))
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	if got := w.reads.Load(); got != 3 {
		t.Errorf("%d reads, want 3 (plan, re-plan after the conflict, read-back)", got)
	}
	want := zones.Sort([]zones.Record{rec("kms1.lab.test.", 0, 100), rec("hand1.lab.test.", 0, 0)})
	got, err := b.Current(context.Background(), zone())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fragment (-want +got):\n%s", diff)
	}
	if len(p.Foreign) != 1 {
		t.Errorf("foreign %v, want the hand-written record kept (prune: none)", p.Foreign)
	}

	// A plan made from an RRset the fragment no longer holds.
	before := read(t, frag)
	stale := zones.Diff(zone(rec("kms3.lab.test.", 0, 0)), nil, zones.Policy{})
	err = b.Apply(context.Background(), &stale)
	if !errors.Is(err, publisher.ErrConflict) || !strings.Contains(err.Error(), frag) {
		t.Errorf("Apply of a stale plan: %v, want ErrConflict naming %s", err, frag)
	}
	if read(t, frag) != before {
		t.Error("a stale plan was written")
	}
}

// TestReloadFailure: a failing reload is reported; the fragment and the
// serial stay, and named goes on serving the old records.
func TestReloadFailure(t *testing.T) {
	l := startLab(t, "_vlmcs._tcp 3600 IN SRV 0 0 1688 kms1.lab.test.\n")
	zc := l.zone(t)
	zc.Reload = []string{binary(t, "rndc"), "-c", l.srv.RndcConf, "reload", "nosuch.{zone}"}
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: zc}})
	desired := []zones.Record{rec("kms2.lab.test.", 0, 0)}
	r := publisher.New(publisher.Options{Backends: map[string]publisher.Backend{"bindfile": b}, Policy: zones.Policy{Prune: zones.PruneAll}})
	p := r.Apply(context.Background(), []zones.Zone{zone(desired...)})[0]
	var ce *bindfile.CommandError
	msg := fmt.Sprint(p.Err)
	if !errors.As(p.Err, &ce) ||
		!strings.Contains(msg, "fragment written and serial bumped (2024010100 → 2026071500), but the reload failed (named still serves the old records until it reloads)") ||
		!strings.Contains(msg, "not found") {
		t.Fatalf("apply error %q; want the reload failure with rndc's output", msg)
	}
	got, err := b.Current(context.Background(), zone())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(desired, got); diff != "" {
		t.Errorf("fragment after the failed reload (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(labZoneText(2026071500, l.frag), read(t, l.zoneFile)); diff != "" {
		t.Errorf("zone file (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]zones.Record{rec("kms1.lab.test.", 0, 0)}, l.served(t)); diff != "" {
		t.Errorf("named serves (-want +got):\n%s", diff)
	}
}

// TestLock: while another process holds the fragment's lock, Apply waits
// and gives up when its context ends, without writing.
func TestLock(t *testing.T) {
	frag := filepath.Join(t.TempDir(), "frag")
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: {File: frag}}})
	f, err := os.OpenFile(frag+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	p := zones.Diff(zone(rec("kms1.lab.test.", 0, 0)), nil, zones.Policy{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = b.Apply(ctx, &p)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), frag+".lock: another srvctl holds the lock") {
		t.Errorf("Apply with the lock held: %v, want a lock error naming %s.lock", err, frag)
	}
	if _, err := os.Stat(frag); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the fragment was written without the lock (%v)", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(context.Background(), &p); err != nil {
		t.Errorf("Apply after the lock was released: %v", err)
	}
}

// TestFileModes: a new fragment is 0644; a replaced file keeps its mode; a
// symbolic link stays a link and its target is written.
func TestFileModes(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh")
	kept := filepath.Join(dir, "kept")
	write(t, kept, "")
	if err := os.Chmod(kept, 0o640); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target")
	write(t, target, "")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	zs := map[string]bindfile.Zone{"a.test.": {File: fresh}, "b.test.": {File: kept}, "c.test.": {File: link}}
	b := newBackend(t, bindfile.Options{Zones: zs})
	for name := range zs {
		z := zones.Zone{Name: name, Service: zones.DefaultService, Backend: "bindfile", Desired: []zones.Record{rec("kms1.lab.test.", 0, 0)}}
		if p := apply(t, b, z); p.Err != nil {
			t.Fatal(p.Err)
		}
	}
	for path, want := range map[string]fs.FileMode{fresh: 0o644, kept: 0o640, target: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %s, want %s", path, fi.Mode(), want)
		}
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symbolic link (%v)", link, err)
	}
	if !strings.Contains(read(t, target), "_vlmcs._tcp.c.test. 3600 IN SRV 0 0 1688 kms1.lab.test.") {
		t.Errorf("the link's target holds %q", read(t, target))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"fresh", "fresh.lock", "kept", "kept.lock", "link", "link.lock", "target"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files left in the directory (-want +got):\n%s", diff)
	}
}

// TestMissingFragmentIsEmpty: Current of a zone whose fragment does not
// exist yet is an empty RRset.
func TestMissingFragmentIsEmpty(t *testing.T) {
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: {File: filepath.Join(t.TempDir(), "none")}}})
	got, err := b.Current(context.Background(), zone())
	if err != nil || len(got) != 0 {
		t.Errorf("Current = %v, %v; want no records and no error", got, err)
	}
	if _, err := b.Current(context.Background(), zones.Zone{Name: "other.test.", Service: zones.DefaultService}); err == nil ||
		err.Error() != "zone other.test.: no fragment file configured for it" {
		t.Errorf("Current of an unknown zone: %v", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name  string
		zones map[string]bindfile.Zone
		want  []string // in the error; none: valid
	}{
		{"valid", map[string]bindfile.Zone{
			"a.test.": {File: "/f/a", ZoneFile: "/z/a", Check: []string{"named-checkzone", "{zone}", "{zone_file}"}, Reload: []string{"rndc", "reload", "{zone}"}},
			"b.test.": {File: "/f/b", Check: []string{"cp", "{file}", "/backup/{zone}.bak"}},
		}, nil},
		{"no zones", nil, nil},
		{"relative paths", map[string]bindfile.Zone{"a.test.": {File: "f/a", ZoneFile: "db.a"}},
			[]string{`zone a.test.: fragment file "f/a" is not an absolute path`, `zone a.test.: zone file "db.a" is not an absolute path`}},
		{"no file", map[string]bindfile.Zone{"a.test.": {}}, []string{"zone a.test.: no fragment file"}},
		{"name not canonical", map[string]bindfile.Zone{"A.test": {File: "/f/a"}}, []string{"not canonical (want a.test.)"}},
		{"bad name", map[string]bindfile.Zone{"a b.test.": {File: "/f/a"}}, []string{`zone a b.test.: "a b.test.": label "a b"`}},
		{"empty program", map[string]bindfile.Zone{"a.test.": {File: "/f/a", Check: []string{""}, Reload: []string{"", "x"}}},
			[]string{"check command: the program (first word) is empty", "reload command: the program (first word) is empty"}},
		{"unknown placeholder", map[string]bindfile.Zone{"a.test.": {File: "/f/a", ZoneFile: "/z/a", Reload: []string{"rndc", "reload", "{zone}", "{view}"}}},
			[]string{"reload command: argument 3: unknown placeholder {view} (known: {zone}, {file}, {zone_file})"}},
		{"{zone_file} without a zone file", map[string]bindfile.Zone{"a.test.": {File: "/f/a", Check: []string{"named-checkzone", "{zone}", "{zone_file}"}}},
			[]string{"check command: argument 2: {zone_file}, but the zone has no zone file"}},
		{"shared files", map[string]bindfile.Zone{
			"a.test.": {File: "/f/x", ZoneFile: "/z/a"},
			"b.test.": {File: "/f/x"},
			"c.test.": {File: "/z/a"},
		}, []string{"zone b.test.: fragment /f/x is also the fragment of zone a.test.", "zone c.test.: fragment /z/a is also the zone file of zone a.test."}},
		{"fragment is the zone file", map[string]bindfile.Zone{"a.test.": {File: "/f/a", ZoneFile: "/f/./a"}},
			[]string{"zone a.test.: zone file /f/a is also the fragment of zone a.test."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bindfile.New(bindfile.Options{Zones: tt.zones})
			if len(tt.want) == 0 {
				if err != nil || b == nil {
					t.Fatalf("New = %v, %v; want a backend", b, err)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted invalid options")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// TestApplySameBytesTouchesNothing: Apply of a plan whose result is the
// fragment as it is (the Reconciler does not even call it then) leaves the
// fragment, its mtime and the zone file alone and runs no command.
func TestApplySameBytesTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	frag, zoneFile := filepath.Join(dir, "frag"), filepath.Join(dir, "db")
	write(t, zoneFile, labZoneText(1, frag))
	b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: {
		File: frag, ZoneFile: zoneFile, Check: []string{"false"}, Reload: []string{"false"},
	}}})
	records := []zones.Record{rec("kms1.lab.test.", 0, 100)}
	write(t, frag, "; generated by srvctl from /etc/srvctl/srvctl.yaml: do not edit; changes are overwritten\n"+
		"_vlmcs._tcp.lab.test. 3600 IN SRV 0 100 1688 kms1.lab.test.\n")
	past := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(frag, past, past); err != nil {
		t.Fatal(err)
	}
	p := zones.Diff(zone(records...), records, zones.Policy{})
	if err := b.Apply(context.Background(), &p); err != nil {
		t.Fatalf("Apply: %v (a command ran, or a file was written)", err)
	}
	if got := mtime(t, frag); !got.Equal(past) {
		t.Errorf("fragment mtime %s, want %s", got, past)
	}
	if got := read(t, zoneFile); got != labZoneText(1, frag) {
		t.Errorf("zone file changed:\n%s", got)
	}
}

// TestSerialBumpFailureRestores: when the zone file's serial cannot be
// bumped, the previous fragment is put back and the error names the zone
// file and line.
func TestSerialBumpFailureRestores(t *testing.T) {
	const handWritten = "_vlmcs._tcp 3600 IN SRV 0 0 1688 kms1.lab.test.\n"
	tests := []struct {
		name, zoneText string
		line           int
		want           string
	}{
		{"no SOA", "$TTL 300\n@ IN NS ns\n", 0, "bumping the SOA serial: no SOA record for the zone"},
		{"serial not a number", "$TTL 300\n@ IN SOA ns h ( 2024.1 1 2 3 4 )\n", 2, `SOA serial "2024.1" is not a number`},
		{"missing zone file", "", 0, "the zone file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			frag, zoneFile := filepath.Join(dir, "frag"), filepath.Join(dir, "db")
			write(t, frag, handWritten)
			if tt.zoneText != "" {
				write(t, zoneFile, tt.zoneText)
			}
			b := newBackend(t, bindfile.Options{Zones: map[string]bindfile.Zone{labZone: {File: frag, ZoneFile: zoneFile, Reload: []string{"false"}}}})
			p := apply(t, b, zone(rec("kms2.lab.test.", 0, 0)))
			var e *bindfile.Error
			if !errors.As(p.Err, &e) || e.File != zoneFile || e.Line != tt.line {
				t.Fatalf("error %v; want a *bindfile.Error for %s line %d", p.Err, zoneFile, tt.line)
			}
			if msg := p.Err.Error(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, "the previous fragment "+frag+" was put back") {
				t.Errorf("error %q; want %q and the fragment put back", msg, tt.want)
			}
			if got := read(t, frag); got != handWritten {
				t.Errorf("fragment %q, want it back byte for byte", got)
			}
		})
	}
}
