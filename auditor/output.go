package auditor

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/srvctl/srvctl/auditor/dnsview"
)

// Summary counts a report's zones by level and its targets and records.
type Summary struct {
	Zones          int `json:"zones"`
	OK             int `json:"ok"`
	Warning        int `json:"warning"`
	Critical       int `json:"critical"`
	Unknown        int `json:"unknown"`
	Targets        int `json:"targets"`
	LiveTargets    int `json:"live_targets"`
	StaleRecords   int `json:"stale_records"`
	Servers        int `json:"servers"`
	ServersInSync  int `json:"servers_in_sync"`
	MissingRecords int `json:"missing_records"`
}

// Summarize counts r.
func (r *Report) Summarize() Summary {
	s := Summary{Zones: len(r.Zones), Targets: len(r.Targets)}
	for _, z := range r.Zones {
		switch z.Level {
		case OK:
			s.OK++
		case Warning:
			s.Warning++
		case Critical:
			s.Critical++
		default:
			s.Unknown++
		}
		s.StaleRecords += z.StaleRecords
		s.Servers += len(z.Servers)
		s.ServersInSync += z.ServersInSync
		for _, f := range z.Findings {
			if f.Kind == KindMissing {
				s.MissingRecords++
			}
		}
	}
	for _, t := range r.Targets {
		if t.Live {
			s.LiveTargets++
		}
	}
	return s
}

// WriteText writes the report for a person: per zone its level, what a
// client experiences, the servers, the records with their targets'
// state, and the findings; then a summary.
func WriteText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	for i := range r.Zones {
		z := &r.Zones[i]
		fmt.Fprintf(bw, "%-8s %s\n", z.Level, z.Owner)
		fmt.Fprintf(bw, "  clients:  %s\n", z.Client)
		for _, s := range z.Servers {
			fmt.Fprintf(bw, "  server:   %s\n", serverLine(s))
		}
		width := 0
		for _, rec := range z.Records {
			width = max(width, len(rec.Record.String()))
		}
		for _, rec := range z.Records {
			note := rec.Status + ": " + rec.Reason
			if rec.Stale {
				note = "STALE, " + note
			}
			if !rec.Desired {
				note += " [not in config]"
			}
			fmt.Fprintf(bw, "  record:   %-*s  # %s\n", width, rec.Record.String(), note)
		}
		for _, f := range z.Findings {
			fmt.Fprintf(bw, "  %-8s  %s: %s\n", f.Level, f.Kind, f.Detail)
		}
	}
	s := r.Summarize()
	fmt.Fprintf(bw, "\nAudit %s: %d zones: %d OK, %d WARNING, %d CRITICAL, %d UNKNOWN; %d of %d targets live (probe: %s); %s; %d of %d servers in sync\n",
		r.Level, s.Zones, s.OK, s.Warning, s.Critical, s.Unknown, s.LiveTargets, s.Targets, cmp.Or(r.Probe, "none"), Plural(s.StaleRecords, "stale record"), s.ServersInSync, s.Servers)
	if !r.History {
		bw.WriteString("(no probe history: stale detection is off for this run)\n")
	}
	return bw.Flush()
}

func serverLine(s dnsview.Server) string {
	name := s.Name
	if s.Addr != "" && s.Addr != s.Name {
		name += " (" + s.Addr + ")"
	}
	if s.Status != dnsview.StatusOK {
		return fmt.Sprintf("%s %s: %s", name, s.Status, s.Detail)
	}
	return fmt.Sprintf("%s serial %d, %s", name, s.Serial, Plural(len(s.Records), "record"))
}

// Plural writes n and the noun, in the plural unless n is 1 ("1 zone",
// "3 zones"), for the report writers of this package and auditor/ad.
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// jsonReport is the JSON form: the report plus its summary. Field names
// are a public interface: add fields, never remove or rename one.
type jsonReport struct {
	*Report
	Summary Summary `json:"summary"`
}

// WriteJSON writes the report as one JSON document on one line (see
// README.md, "Audit"): an audit of thousands of zones is megabytes, read
// by programs; pipe it through jq for a person.
func WriteJSON(w io.Writer, r *Report) error {
	return json.NewEncoder(w).Encode(jsonReport{Report: r, Summary: r.Summarize()})
}

// WriteNagios writes the report as a Monitoring Plugins status: one status
// line with performance data, then one line per zone that is not OK (the
// long text). The process should exit with int(r.Level).
func WriteNagios(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	s := r.Summarize()
	var text string
	switch r.Level {
	case OK:
		text = fmt.Sprintf("%d zones OK, %d of %d KMS hosts answer", s.Zones, s.LiveTargets, s.Targets)
	default:
		var parts []string
		for _, lvl := range []Level{Critical, Unknown, Warning} {
			var names []string
			for _, z := range r.Zones {
				if z.Level == lvl {
					names = append(names, strings.TrimSuffix(z.Zone, "."))
				}
			}
			if len(names) > 0 {
				parts = append(parts, fmt.Sprintf("%s: %s", lvl, JoinShort(names, 5)))
			}
		}
		text = strings.Join(parts, "; ")
	}
	perf := []string{
		fmt.Sprintf("zones=%d;;;0", s.Zones),
		fmt.Sprintf("critical=%d;;;0", s.Critical),
		fmt.Sprintf("warning=%d;;;0", s.Warning),
		fmt.Sprintf("unknown=%d;;;0", s.Unknown),
		fmt.Sprintf("targets=%d;;;0", s.Targets),
		fmt.Sprintf("live_targets=%d;;;0;%d", s.LiveTargets, s.Targets),
		fmt.Sprintf("stale_records=%d;;;0", s.StaleRecords),
		fmt.Sprintf("servers_in_sync=%d;;;0;%d", s.ServersInSync, s.Servers),
		fmt.Sprintf("time=%.3fs;;;0", r.Duration.Seconds()),
	}
	// Plugin output must be one line before the "|"; keep it clean.
	text = strings.NewReplacer("|", "/", "\n", " ").Replace(text)
	fmt.Fprintf(bw, "SRVCTL AUDIT %s - %s | %s\n", r.Level, text, strings.Join(perf, " "))
	for _, z := range r.Zones {
		if z.Level == OK {
			continue
		}
		fmt.Fprintf(bw, "%s %s: %s\n", z.Level, z.Zone, strings.ReplaceAll(z.Client, "|", "/"))
		for _, f := range z.Findings {
			if f.Level != OK {
				fmt.Fprintf(bw, "  %s %s: %s\n", f.Level, f.Kind, strings.ReplaceAll(f.Detail, "|", "/"))
			}
		}
	}
	return bw.Flush()
}

// JoinShort joins the first n names with commas and says how many more
// there are ("a, b and 3 more"), for one-line status texts.
func JoinShort(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// WritePrometheus writes the report in the Prometheus text exposition
// format, for node_exporter's textfile collector: per zone its level,
// records, live targets, servers in sync and stale records; per target
// whether it is up and its probe latency; the audit's time and duration.
func WritePrometheus(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	metric := func(name, help, typ string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	zoneGauge := func(name, help string, value func(z *Zone) float64) {
		metric(name, help, "gauge")
		for i := range r.Zones {
			z := &r.Zones[i]
			fmt.Fprintf(bw, "%s{zone=%s} %s\n", name, PromLabel(z.Zone), num(value(z)))
		}
	}
	zoneGauge("srvctl_audit_zone_status", "Monitoring Plugins level of the zone: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", func(z *Zone) float64 { return float64(z.Level) })
	zoneGauge("srvctl_audit_zone_records", "SRV records clients get in the zone.", func(z *Zone) float64 { return float64(len(z.Records)) })
	zoneGauge("srvctl_audit_zone_live_targets", "Records of the zone whose target answers as a KMS host.", func(z *Zone) float64 { return float64(z.LiveTargets) })
	zoneGauge("srvctl_audit_zone_servers", "Authoritative servers asked for the zone.", func(z *Zone) float64 { return float64(len(z.Servers)) })
	zoneGauge("srvctl_audit_zone_servers_in_sync", "Authoritative servers that answer with the newest serial and RRset.", func(z *Zone) float64 { return float64(z.ServersInSync) })
	zoneGauge("srvctl_audit_zone_stale_records", "Records of the zone whose target is stale.", func(z *Zone) float64 { return float64(z.StaleRecords) })

	targets := slices.Clone(r.Targets)
	metric("srvctl_audit_target_up", "1 if the target answered as a KMS host (or accepted the connection with probe: tcp).", "gauge")
	for _, t := range targets {
		if t.Probed {
			fmt.Fprintf(bw, "srvctl_audit_target_up{target=%s,port=\"%d\"} %s\n", PromLabel(t.Target.Host), t.Target.Port, num(b2f(t.Live)))
		}
	}
	metric("srvctl_audit_target_probe_seconds", "Time to the fastest live answer of the target, or to the failure.", "gauge")
	for _, t := range targets {
		if t.Probed && len(t.Addrs) > 0 {
			fmt.Fprintf(bw, "srvctl_audit_target_probe_seconds{target=%s,port=\"%d\"} %s\n", PromLabel(t.Target.Host), t.Target.Port, num(latency(t).Seconds()))
		}
	}
	metric("srvctl_audit_last_run_timestamp_seconds", "When the audit started (Unix time).", "gauge")
	fmt.Fprintf(bw, "srvctl_audit_last_run_timestamp_seconds %s\n", num(float64(r.Time.UnixMilli())/1000))
	metric("srvctl_audit_duration_seconds", "How long the audit took.", "gauge")
	fmt.Fprintf(bw, "srvctl_audit_duration_seconds %s\n", num(r.Duration.Seconds()))
	metric("srvctl_audit_status", "Monitoring Plugins level of the whole audit.", "gauge")
	fmt.Fprintf(bw, "srvctl_audit_status %d\n", r.Level)
	return bw.Flush()
}

// latency is the fastest live address's latency, or the slowest failure.
func latency(t TargetReport) time.Duration {
	var best, worst time.Duration
	for _, a := range t.Addrs {
		if a.Status == "kms" || a.Status == "open" {
			if best == 0 || a.Latency < best {
				best = a.Latency
			}
		}
		worst = max(worst, a.Latency)
	}
	if best > 0 {
		return best
	}
	return worst
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PromLabel quotes a label value for the Prometheus exposition format.
func PromLabel(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s) + `"`
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// WriteFile writes what write produces to path atomically: a temporary
// file in the same directory, synced, renamed over path, and the directory
// synced, so node_exporter never reads half a file.
func WriteFile(path string, write func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := write(tmp); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("writing %s: syncing the directory: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("writing %s: syncing the directory: %w", path, err)
	}
	return nil
}
