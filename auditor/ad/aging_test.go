package ad

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor"
)

// A record's TimeStamp tells when its host last refreshed it only when the
// zone ages records: without aging (the default) a refresh leaves it
// alone, so the audit calls no record stale and says that the age cannot
// be judged; with aging it flags a record its host stopped refreshing,
// and the printed samba-tool command deletes it.
func TestAging(t *testing.T) {
	t.Parallel()
	dc := startDC(t)
	c := dial(t, adminOptions(t, dc))
	hosts := kmsHosts(dc)
	h1 := hosts[0].Name
	stamp := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Hour).UTC()

	t.Run("off", func(t *testing.T) {
		if !register(t, dc, "KMS1", "_off._tcp") {
			t.Fatal("KMS1 could not register _off._tcp")
		}
		ageRecord(t, dc, "_off._tcp", h1, stamp)
		// KMS1 refreshes its record, as it does every 24 h: without aging
		// the TimeStamp stays 30 days old.
		register(t, dc, "KMS1", "_off._tcp")
		rep, z := auditOne(t, c, dc, "_off._tcp", hosts[:1])
		if z.Aging {
			t.Fatal("the test zone ages records: it should not by default")
		}
		want := []Refresh{{Zone: dc.Zone, Target: h1, Port: 1688, Weight: 100, LastRefresh: stamp}}
		if diff := cmp.Diff(want, rep.Refreshes()); diff != "" {
			t.Errorf("refreshes after KMS1's refresh, -want +got:\n%s", diff)
		}
		if fs := findingsOf(z.Findings, KindStale); len(fs) != 0 {
			t.Errorf("a record reported stale in a zone without aging: %+v", fs)
		}
		fs := findingsOf(z.Findings, KindAgeUnknown)
		if len(fs) != 1 || fs[0].Level != auditor.OK || !strings.Contains(fs[0].Detail, "aging is off in "+dc.Zone) ||
			!hasLine(fs[0].Fix, "samba-tool dns zoneoptions", "--aging=1 --") {
			t.Errorf("age-unknown findings: %+v", fs)
		}
	})

	t.Run("on", func(t *testing.T) {
		dc.SambaTool(t, "dns", "zoneoptions", dc.Addr, strings.TrimSuffix(dc.Zone, "."), "--aging=1")
		if !register(t, dc, "KMS1", "_on._tcp") {
			t.Fatal("KMS1 could not register _on._tcp")
		}
		ageRecord(t, dc, "_on._tcp", h1, stamp)
		rep, z := auditOne(t, c, dc, "_on._tcp", hosts[:1])
		since := stamp.Add(24*time.Hour + 2*168*time.Hour)
		want := []Refresh{{Zone: dc.Zone, Target: h1, Port: 1688, Weight: 100, Aging: true, LastRefresh: stamp, Stale: true, StaleSince: since}}
		if diff := cmp.Diff(want, rep.Refreshes()); diff != "" {
			t.Errorf("refreshes of a record not refreshed for 30 days, -want +got:\n%s", diff)
		}
		if fs := findingsOf(z.Findings, KindAgeUnknown); len(fs) != 0 {
			t.Errorf("age-unknown with aging on: %+v", fs)
		}
		stale := findingsOf(z.Findings, KindStale)
		if len(stale) != 1 || len(fixLines(stale[0].Fix, "samba-tool dns delete")) != 1 || len(fixLines(stale[0].Fix, "dnscmd")) != 1 ||
			len(fixLines(stale[0].Fix, "Get-DnsServerResourceRecord")) != 1 {
			t.Fatalf("stopped-refreshing findings: %+v", stale)
		}

		// KMS1 refreshes: the TimeStamp moves, the record is fresh.
		register(t, dc, "KMS1", "_on._tcp")
		rep, _ = auditOne(t, c, dc, "_on._tcp", hosts[:1])
		if r := rep.Refreshes(); len(r) != 1 || r[0].Stale || time.Since(r[0].LastRefresh) > 2*time.Hour {
			t.Errorf("after KMS1's refresh: %+v", r)
		}

		// The printed samba-tool command deletes the stale record.
		runFix(t, dc, fixLines(stale[0].Fix, "samba-tool dns delete")[0])
		if got := served(t, dc, "_on._tcp."+dc.Zone); len(got) != 0 {
			t.Errorf("after the fix: %v, want no record", got)
		}
	})
}
