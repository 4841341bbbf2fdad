package zones

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// Mode says whether plans are shown before anything is done (a dry run) or
// after apply carried them out; it changes the wording only.
type Mode int

// The rendering modes.
const (
	Planned Mode = iota // srvctl plan: what would change
	Applied             // srvctl apply: what changed
)

// Summary adds up a list of plans.
type Summary struct {
	Zones   int `json:"zones"`
	Changed int `json:"changed_zones"`
	Failed  int `json:"failed_zones"`
	Add     int `json:"add"`
	Update  int `json:"update"`
	Delete  int `json:"delete"`
	Foreign int `json:"foreign"`
}

// Summarize counts the zones and changes of plans. A failed zone's changes
// are not counted: they did not happen, or cannot be trusted.
func Summarize(plans []Plan) Summary {
	s := Summary{Zones: len(plans)}
	for i := range plans {
		p := &plans[i]
		if p.Err != nil {
			s.Failed++
			continue
		}
		a, u, d := p.Counts()
		s.Add, s.Update, s.Delete = s.Add+a, s.Update+u, s.Delete+d
		s.Foreign += len(p.Foreign)
		if !p.Empty() {
			s.Changed++
		}
	}
	return s
}

var actionSign = map[Action]string{Add: "+", Update: "~", Delete: "-"}

// WriteText writes plans for a person, like `terraform plan`: per zone a
// header, one line per change ("+" add, "~" update, "-" delete) in zone-file
// syntax with its reason, the foreign records left alone, and a summary line;
// then a summary of all zones. Zones without changes get one line.
func WriteText(w io.Writer, plans []Plan, mode Mode) error {
	bw := bufio.NewWriter(w)
	for i := range plans {
		writeZoneText(bw, &plans[i], mode)
	}
	s := Summarize(plans)
	if mode == Applied {
		fmt.Fprintf(bw, "\nApplied: %d added, %d changed, %d deleted", s.Add, s.Update, s.Delete)
	} else {
		fmt.Fprintf(bw, "\nPlan: %d to add, %d to change, %d to delete", s.Add, s.Update, s.Delete)
	}
	fmt.Fprintf(bw, " in %d of %s", s.Changed, plural(s.Zones, "zone"))
	if s.Foreign > 0 {
		fmt.Fprintf(bw, ", %s kept", plural(s.Foreign, "foreign record"))
	}
	if s.Failed > 0 {
		fmt.Fprintf(bw, ", %s FAILED:", plural(s.Failed, "zone"))
		for i := range plans {
			if plans[i].Err != nil {
				fmt.Fprintf(bw, " %s", plans[i].Zone)
			}
		}
	}
	bw.WriteString("\n")
	return bw.Flush()
}

func writeZoneText(w *bufio.Writer, p *Plan, mode Mode) {
	where := p.Backend
	if p.Server != "" {
		where += " " + p.Server
	}
	if p.Err != nil {
		fmt.Fprintf(w, "! %s (%s): FAILED: %v\n", p.Owner, where, p.Err)
		return
	}
	if p.Empty() && len(p.Foreign) == 0 && len(p.Warnings) == 0 {
		fmt.Fprintf(w, "  %s (%s): no changes\n", p.Owner, where)
		return
	}
	fmt.Fprintf(w, "%s %s (%s)\n", zoneSign(p), p.Owner, where)
	lines := make([][2]string, 0, len(p.Changes)+len(p.Foreign))
	for _, c := range p.Changes {
		lines = append(lines, [2]string{"  " + actionSign[c.Action] + " " + c.Record.String(), c.Reason})
	}
	for _, f := range p.Foreign {
		lines = append(lines, [2]string{"    " + f.Record.String(), "foreign: " + f.Reason})
	}
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%-*s  # %s\n", width, l[0], l[1])
	}
	for _, warning := range p.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warning)
	}
	a, u, d := p.Counts()
	done := "to add, %d to change, %d to delete"
	if mode == Applied {
		done = "added, %d changed, %d deleted"
	}
	fmt.Fprintf(w, "  %d "+done, a, u, d)
	if len(p.Foreign) > 0 {
		fmt.Fprintf(w, ", %d foreign kept", len(p.Foreign))
	}
	w.WriteString("\n")
}

func zoneSign(p *Plan) string {
	if p.Empty() {
		return " "
	}
	return "~"
}

// The JSON form of plans; see DESIGN.md. Field names are a public interface:
// add fields, never remove or rename one.
type (
	jsonReport struct {
		Zones   []jsonZone `json:"zones"`
		Summary Summary    `json:"summary"`
		Applied bool       `json:"applied"`
	}
	jsonZone struct {
		Zone     string        `json:"zone"`
		Owner    string        `json:"owner"`
		Backend  string        `json:"backend"`
		Server   string        `json:"server,omitempty"`
		Changes  []jsonChange  `json:"changes"`
		Foreign  []jsonForeign `json:"foreign,omitempty"`
		Warnings []string      `json:"warnings,omitempty"`
		Error    string        `json:"error,omitempty"`
	}
	jsonChange struct {
		Action Action `json:"action"`
		Record
		Reason string  `json:"reason"`
		Old    *Record `json:"old,omitempty"`
	}
	jsonForeign struct {
		Record
		Reason string `json:"reason"`
	}
)

// WriteJSON writes plans as one JSON document:
//
//	{"zones": [{"zone": "corp.example.com.", "owner": "_vlmcs._tcp.corp.example.com.",
//	  "backend": "rfc2136", "server": "ns1:53", "changes": [{"action": "add",
//	  "target": "kms1.corp.example.com.", "port": 1688, "priority": 0, "weight": 100,
//	  "ttl": 3600, "reason": "...", "old": {...only for update...}}],
//	  "foreign": [...], "error": "...only when the zone failed..."}],
//	 "summary": {...}, "applied": false}
func WriteJSON(w io.Writer, plans []Plan, mode Mode) error {
	r := jsonReport{Zones: make([]jsonZone, 0, len(plans)), Summary: Summarize(plans), Applied: mode == Applied}
	for i := range plans {
		p := &plans[i]
		z := jsonZone{Zone: p.Zone, Owner: p.Owner, Backend: p.Backend, Server: p.Server, Changes: []jsonChange{}}
		if p.Err != nil {
			z.Error = p.Err.Error()
		} else {
			for _, c := range p.Changes {
				z.Changes = append(z.Changes, jsonChange{Action: c.Action, Record: c.Record, Reason: c.Reason, Old: c.Old})
			}
			for _, f := range p.Foreign {
				z.Foreign = append(z.Foreign, jsonForeign{Record: f.Record, Reason: f.Reason})
			}
			z.Warnings = p.Warnings
		}
		r.Zones = append(r.Zones, z)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// FailedZones returns the names of the zones whose plan has an error.
func FailedZones(plans []Plan) []string {
	var out []string
	for i := range plans {
		if plans[i].Err != nil {
			out = append(out, plans[i].Zone)
		}
	}
	return out
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
