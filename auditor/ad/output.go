package ad

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/srvctl/srvctl/auditor"
)

// Summary counts a report's zones, host verdicts and findings.
type Summary struct {
	Zones    int `json:"zones"`
	OK       int `json:"ok"`
	Warning  int `json:"warning"`
	Critical int `json:"critical"`
	Unknown  int `json:"unknown"`
	// NotIntegrated counts the zones not in the directory.
	NotIntegrated int `json:"not_integrated"`
	// Hosts counts the configured hosts; the verdicts count host × zone
	// pairs.
	Hosts         int `json:"hosts"`
	CanUpdate     int `json:"can_update"`
	RecordOnly    int `json:"dnsrecord_only"`
	CannotUpdate  int `json:"cannot_update"`
	UnknownAccess int `json:"unknown_access"`
	StaleRecords  int `json:"stale_records"`
	StaticRecords int `json:"static_records"`
	Findings      int `json:"findings"`
}

// Summarize counts r.
func (r *Report) Summarize() Summary {
	s := Summary{Zones: len(r.Zones), Hosts: len(r.Accounts), Findings: len(r.Findings)}
	for _, z := range r.Zones {
		switch z.Level {
		case auditor.OK:
			s.OK++
		case auditor.Warning:
			s.Warning++
		case auditor.Critical:
			s.Critical++
		default:
			s.Unknown++
		}
		if z.Partition == "" {
			s.NotIntegrated++
		}
		s.Findings += len(z.Findings)
		for _, h := range z.Hosts {
			switch h.Verdict {
			case VerdictCan:
				s.CanUpdate++
			case VerdictRecordOnly:
				s.RecordOnly++
			case VerdictCannot:
				s.CannotUpdate++
			default:
				s.UnknownAccess++
			}
		}
		if z.Node != nil {
			for _, rec := range z.Node.Records {
				if rec.Static {
					s.StaticRecords++
				}
				if rec.Stale {
					s.StaleRecords++
				}
			}
		}
	}
	return s
}

// WriteText writes the report for a person: the group and the accounts
// with their findings, then per zone the node, its records, what each host
// may do and the findings, each with the commands that fix it; then a
// summary.
func WriteText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "AD audit of %s (%s) as %s: domain %s (%s)\n", r.Server, r.URL, r.User, r.Domain, r.DomainDN)
	g := r.Group
	if g.Found {
		var members []string
		for _, m := range g.Members {
			members = append(members, m.SAM)
		}
		fmt.Fprintf(bw, "group:    %s\\%s (%s): %s %s group; members: %s\n", r.Domain, g.SAM, g.SID, g.Scope, map[bool]string{true: "security", false: "distribution"}[g.Security],
			orNone(strings.Join(members, ", ")))
	} else {
		fmt.Fprintf(bw, "group:    %s: not found\n", g.Name)
	}
	for _, a := range r.Accounts {
		if !a.Found {
			fmt.Fprintf(bw, "account:  %s: no account (by %s)\n", a.Host, a.Lookup)
			continue
		}
		state := "enabled"
		if a.Disabled {
			state = "DISABLED"
		}
		in := "in the group"
		if !a.InGroup {
			in = "NOT in the group"
		}
		fmt.Fprintf(bw, "account:  %s: %s (%s), %s, %s\n", a.Host, a.SAM, a.SID, state, in)
	}
	writeFindings(bw, "", r.Findings)
	for _, z := range r.Zones {
		fmt.Fprintf(bw, "\n%-8s %s\n", z.Level, z.Owner)
		if z.Partition != "" {
			aging := "aging off"
			if z.Aging {
				aging = "aging on"
			}
			fmt.Fprintf(bw, "  zone:     %s (%s); dynamic updates: %s; %s, no-refresh %dh, refresh %dh\n", z.DN, z.Partition, orNone(z.AllowUpdate), aging, z.NoRefreshHours, z.RefreshHours)
		}
		if n := z.Node; n != nil {
			switch {
			case !n.Exists:
				fmt.Fprintf(bw, "  node:     %s: does not exist\n", n.DN)
			default:
				owner := "owner not read"
				if n.Owner != nil {
					owner = "owner " + n.Owner.SID
					if n.Owner.Name != "" {
						owner = "owner " + n.Owner.Name + " (" + n.Owner.SID + ")"
					} else if !n.Owner.Found {
						owner += " (no such account)"
					}
				}
				tomb := ""
				if n.Tombstoned {
					tomb = "; TOMBSTONED"
					if !n.TombstonedAt.IsZero() {
						tomb += " at " + n.TombstonedAt.Format(time.RFC3339)
					}
				}
				fmt.Fprintf(bw, "  node:     %s: %s%s\n", n.DN, owner, tomb)
			}
			for _, rec := range n.Records {
				note := "static: never scavenged"
				switch {
				case rec.Static:
				case !z.Aging:
					note = "TimeStamp " + rec.RefreshedAt.Format(time.RFC3339) + " (aging off: refreshes do not move it)"
				default:
					note = "refreshed " + rec.RefreshedAt.Format(time.RFC3339)
					if rec.Stale {
						note += ", STALE since " + rec.StaleSince.Format(time.RFC3339)
					}
				}
				fmt.Fprintf(bw, "  record:   %s  # serial %d, %s\n", rec.Record, rec.Serial, note)
			}
		}
		for _, h := range z.Hosts {
			who := h.Host
			if h.Account != "" {
				who += " (" + h.Account + ")"
			}
			owner := ""
			if h.Owner {
				owner = ", owner"
			}
			fmt.Fprintf(bw, "  host:     %s: %s%s: %s\n", who, h.Verdict, owner, h.Reason)
		}
		writeFindings(bw, "  ", z.Findings)
	}
	s := r.Summarize()
	fmt.Fprintf(bw, "\nAD audit %s: %s (%d not in the directory): %d OK, %d WARNING, %d CRITICAL, %d UNKNOWN; %s; host × zone: %d can update, %d dnsRecord only, %d cannot, %d unknown; %s\n",
		r.Level, auditor.Plural(s.Zones, "zone"), s.NotIntegrated, s.OK, s.Warning, s.Critical, s.Unknown, auditor.Plural(s.Hosts, "host"),
		s.CanUpdate, s.RecordOnly, s.CannotUpdate, s.UnknownAccess, auditor.Plural(int(r.Operations), "LDAP operation"))
	return bw.Flush()
}

// writeFindings writes findings with their fixes.
func writeFindings(w *bufio.Writer, indent string, fs []Finding) {
	for _, f := range fs {
		about := ""
		if f.Host != "" {
			about = " " + f.Host
		}
		fmt.Fprintf(w, "%s%-8s  %s%s: %s\n", indent, f.Level, f.Kind, about, f.Detail)
		for _, c := range f.Fix {
			fmt.Fprintf(w, "%s          fix: %s\n", indent, c)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// jsonReport is the JSON form: the report plus its summary. Field names
// are a public interface: add fields, never remove or rename one.
type jsonReport struct {
	*Report
	Summary Summary `json:"summary"`
}

// WriteJSON writes the report as one JSON document on one line. It holds
// no secret: the report has none.
func WriteJSON(w io.Writer, r *Report) error {
	return json.NewEncoder(w).Encode(jsonReport{Report: r, Summary: r.Summarize()})
}

// WriteNagios writes the report as a Monitoring Plugins status: the
// status line "SRVCTL AD <LEVEL> - ..." with performance data, then the
// findings that are not OK (the long text). The process should exit with
// int(r.Level).
func WriteNagios(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	s := r.Summarize()
	var text string
	if r.Level == auditor.OK {
		text = fmt.Sprintf("%s OK, %d host-zone pairs can update", auditor.Plural(s.Zones, "zone"), s.CanUpdate)
	} else {
		var parts []string
		for _, lvl := range []auditor.Level{auditor.Critical, auditor.Unknown, auditor.Warning} {
			var names []string
			for _, f := range r.Findings {
				if f.Level == lvl {
					names = append(names, "accounts")
					break
				}
			}
			for _, z := range r.Zones {
				if z.Level == lvl {
					names = append(names, strings.TrimSuffix(z.Zone, "."))
				}
			}
			if len(names) > 0 {
				parts = append(parts, fmt.Sprintf("%s: %s", lvl, auditor.JoinShort(names, 5)))
			}
		}
		text = strings.Join(parts, "; ")
		if s.CannotUpdate > 0 {
			text = fmt.Sprintf("%d host-zone pairs cannot update; %s", s.CannotUpdate, text)
		}
	}
	pairs := s.CanUpdate + s.RecordOnly + s.CannotUpdate + s.UnknownAccess
	perf := []string{
		fmt.Sprintf("zones=%d;;;0", s.Zones),
		fmt.Sprintf("critical=%d;;;0", s.Critical),
		fmt.Sprintf("warning=%d;;;0", s.Warning),
		fmt.Sprintf("unknown=%d;;;0", s.Unknown),
		fmt.Sprintf("not_integrated=%d;;;0", s.NotIntegrated),
		fmt.Sprintf("hosts=%d;;;0", s.Hosts),
		fmt.Sprintf("can_update=%d;;;0;%d", s.CanUpdate, pairs),
		fmt.Sprintf("cannot_update=%d;;;0;%d", s.CannotUpdate, pairs),
		fmt.Sprintf("stale_records=%d;;;0", s.StaleRecords),
		fmt.Sprintf("ldap_operations=%d;;;0", r.Operations),
		fmt.Sprintf("time=%.3fs;;;0", r.Duration.Seconds()),
	}
	fmt.Fprintf(bw, "SRVCTL AD %s - %s | %s\n", r.Level, oneLine(text), strings.Join(perf, " "))
	nagiosFindings(bw, "", r.Findings)
	for _, z := range r.Zones {
		if z.Level == auditor.OK {
			continue
		}
		fmt.Fprintf(bw, "%s %s:\n", z.Level, z.Owner)
		nagiosFindings(bw, "  ", z.Findings)
	}
	return bw.Flush()
}

// nagiosFindings writes the findings that are not OK, one per line.
func nagiosFindings(w *bufio.Writer, indent string, fs []Finding) {
	for _, f := range fs {
		if f.Level == auditor.OK {
			continue
		}
		about := ""
		if f.Host != "" {
			about = " " + f.Host
		}
		fmt.Fprintf(w, "%s%s %s%s: %s\n", indent, f.Level, f.Kind, about, oneLine(f.Detail))
	}
}

// oneLine keeps plugin output on one line and away from the "|" that
// starts performance data.
func oneLine(s string) string { return strings.NewReplacer("|", "/", "\n", " ").Replace(s) }

// WritePrometheus writes the report in the Prometheus text exposition
// format, for node_exporter's textfile collector. Every series is written
// once: node_exporter drops a file that repeats one. Records carry their
// priority and weight as labels, so that two records for the same target
// and port are two series; should a series still repeat (two requests
// for one zone), its first value is kept.
func WritePrometheus(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	metric := func(name, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	seen := map[string]bool{}
	sample := func(series string, value any) {
		if !seen[series] {
			seen[series] = true
			fmt.Fprintf(bw, "%s %v\n", series, value)
		}
	}
	metric("srvctl_ad_host_can_update", "1 if the host may add and delete the zone's SRV records in Active Directory.")
	for _, z := range r.Zones {
		for _, h := range z.Hosts {
			sample(fmt.Sprintf("srvctl_ad_host_can_update{zone=%s,host=%s}", auditor.PromLabel(z.Zone), auditor.PromLabel(h.Host)), b2i(h.CanUpdate))
		}
	}
	metric("srvctl_ad_host_owner", "1 if the host's account owns the zone's SRV node.")
	for _, z := range r.Zones {
		for _, h := range z.Hosts {
			sample(fmt.Sprintf("srvctl_ad_host_owner{zone=%s,host=%s}", auditor.PromLabel(z.Zone), auditor.PromLabel(h.Host)), b2i(h.Owner))
		}
	}
	metric("srvctl_ad_zone_status", "Monitoring Plugins level of the zone: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
	for _, z := range r.Zones {
		sample(fmt.Sprintf("srvctl_ad_zone_status{zone=%s}", auditor.PromLabel(z.Zone)), int(z.Level))
	}
	metric("srvctl_ad_zone_integrated", "1 if the zone is in the directory.")
	for _, z := range r.Zones {
		sample(fmt.Sprintf("srvctl_ad_zone_integrated{zone=%s}", auditor.PromLabel(z.Zone)), b2i(z.Partition != ""))
	}
	metric("srvctl_ad_zone_aging", "1 if the zone ages records: only then do refreshes move a record's TimeStamp.")
	for _, z := range r.Zones {
		if z.Partition != "" {
			sample(fmt.Sprintf("srvctl_ad_zone_aging{zone=%s}", auditor.PromLabel(z.Zone)), b2i(z.Aging))
		}
	}
	record := func(name string, rf Refresh) string {
		return fmt.Sprintf("%s{zone=%s,target=%s,port=\"%d\",priority=\"%d\",weight=\"%d\"}", name, auditor.PromLabel(rf.Zone), auditor.PromLabel(rf.Target), rf.Port, rf.Priority, rf.Weight)
	}
	metric("srvctl_ad_record_refresh_timestamp_seconds", "When a dynamic update last refreshed the record (Unix time, to the hour); only for zones that age records, static records left out.")
	for _, rf := range r.Refreshes() {
		if !rf.Static && rf.Aging {
			sample(record("srvctl_ad_record_refresh_timestamp_seconds", rf), rf.LastRefresh.Unix())
		}
	}
	metric("srvctl_ad_record_stale", "1 if the record's host stopped refreshing it (older than 24h + no-refresh + refresh, in a zone that ages records).")
	for _, rf := range r.Refreshes() {
		sample(record("srvctl_ad_record_stale", rf), b2i(rf.Stale))
	}
	metric("srvctl_ad_findings", "Findings by kind and level.")
	type key struct {
		kind  Kind
		level auditor.Level
	}
	counts := map[key]int{}
	kinds := map[Kind]bool{}
	count := func(fs []Finding) {
		for _, f := range fs {
			counts[key{f.Kind, f.Level}]++
			kinds[f.Kind] = true
		}
	}
	count(r.Findings)
	for _, z := range r.Zones {
		count(z.Findings)
	}
	for _, k := range Kinds() {
		if !kinds[k] {
			counts[key{k, defaultLevel[k]}] = 0
		}
	}
	for _, k := range Kinds() {
		for _, lvl := range []auditor.Level{auditor.OK, auditor.Warning, auditor.Critical, auditor.Unknown} {
			if n, ok := counts[key{k, lvl}]; ok {
				sample(fmt.Sprintf("srvctl_ad_findings{kind=%s,level=%s}", auditor.PromLabel(string(k)), auditor.PromLabel(lvl.String())), n)
			}
		}
	}
	metric("srvctl_ad_ldap_operations", "LDAP operations the audit took.")
	sample("srvctl_ad_ldap_operations", r.Operations)
	metric("srvctl_ad_last_run_timestamp_seconds", "When the audit started (Unix time).")
	sample("srvctl_ad_last_run_timestamp_seconds", strconv.FormatFloat(float64(r.Time.UnixMilli())/1000, 'g', -1, 64))
	metric("srvctl_ad_duration_seconds", "How long the audit took.")
	sample("srvctl_ad_duration_seconds", strconv.FormatFloat(r.Duration.Seconds(), 'g', -1, 64))
	metric("srvctl_ad_status", "Monitoring Plugins level of the whole AD audit.")
	sample("srvctl_ad_status", int(r.Level))
	return bw.Flush()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
