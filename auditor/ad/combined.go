package ad

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/srvctl/srvctl/auditor"
)

// Combined is the full audit srvctl audit reports when ad: is configured:
// the DNS audit and the AD permission audit, or why the latter could not
// run.
type Combined struct {
	DNS   *auditor.Report
	AD    *Report // nil when Err is set
	ADErr error   // why the AD audit could not run (bind refused, DC unreachable)
}

// Level is the worse of the two audits' levels; an AD audit that could not
// run is UNKNOWN.
func (c *Combined) Level() auditor.Level {
	return auditor.Worse(c.DNS.Level, c.adLevel())
}

func (c *Combined) adLevel() auditor.Level {
	if c.AD == nil {
		return auditor.Unknown
	}
	return c.AD.Level
}

// WriteCombinedText writes the DNS audit, then the AD audit.
func WriteCombinedText(w io.Writer, c *Combined) error {
	if err := auditor.WriteText(w, c.DNS); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if c.AD == nil {
		_, err := fmt.Fprintf(w, "UNKNOWN  AD audit: %s\n", oneLine(c.ADErr.Error()))
		return err
	}
	return WriteText(w, c.AD)
}

// WriteCombinedJSON writes the DNS audit's JSON object with two more
// members: "ad" (the AD audit's object) or "ad_error"; its "level" is the
// combined level and "dns_level" the DNS audit's own.
func WriteCombinedJSON(w io.Writer, c *Combined) error {
	var dns bytes.Buffer
	if err := auditor.WriteJSON(&dns, c.DNS); err != nil {
		return err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(dns.Bytes(), &obj); err != nil {
		return fmt.Errorf("combining the DNS audit's JSON: %w", err)
	}
	raw := func(v any) json.RawMessage {
		b, _ := json.Marshal(v)
		return b
	}
	obj["dns_level"] = obj["level"]
	obj["level"] = raw(c.Level())
	if c.AD == nil {
		obj["ad_error"] = raw(c.ADErr.Error())
	} else {
		var ad bytes.Buffer
		if err := WriteJSON(&ad, c.AD); err != nil {
			return err
		}
		obj["ad"] = bytes.TrimSpace(ad.Bytes())
	}
	return json.NewEncoder(w).Encode(obj)
}

// WriteCombinedNagios writes one Monitoring Plugins status for both
// audits: "SRVCTL AUDIT <combined level> - <DNS text>; AD <level>: <AD
// text> | <DNS perfdata> <AD perfdata, each label prefixed ad_>", then the
// DNS audit's long text and the AD audit's.
func WriteCombinedNagios(w io.Writer, c *Combined) error {
	var dns bytes.Buffer
	if err := auditor.WriteNagios(&dns, c.DNS); err != nil {
		return err
	}
	dnsText, dnsPerf, dnsLong := splitNagios(dns.String())
	var adText, adPerf, adLong string
	if c.AD == nil {
		adText = oneLine(c.ADErr.Error())
	} else {
		var ad bytes.Buffer
		if err := WriteNagios(&ad, c.AD); err != nil {
			return err
		}
		adText, adPerf, adLong = splitNagios(ad.String())
	}
	var perf []string
	if dnsPerf != "" {
		perf = append(perf, dnsPerf)
	}
	for _, p := range strings.Fields(adPerf) {
		perf = append(perf, "ad_"+p)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "SRVCTL AUDIT %s - %s; AD %s: %s", c.Level(), dnsText, c.adLevel(), strings.ReplaceAll(adText, "|", "/"))
	if len(perf) > 0 {
		fmt.Fprintf(bw, " | %s", strings.Join(perf, " "))
	}
	fmt.Fprintln(bw)
	bw.WriteString(dnsLong)
	if adLong != "" {
		bw.WriteString("Active Directory:\n")
		bw.WriteString(adLong)
	}
	return bw.Flush()
}

// splitNagios splits a plugin's output "SRVCTL X LEVEL - text | perf\nlong"
// into its text, perfdata and long text.
func splitNagios(out string) (text, perf, long string) {
	first, long, _ := strings.Cut(out, "\n")
	if _, after, ok := strings.Cut(first, " - "); ok {
		first = after
	}
	text, perf, _ = strings.Cut(first, " | ")
	return strings.TrimSpace(text), strings.TrimSpace(perf), long
}

// WriteCombinedPrometheus writes both audits' metrics, and
// srvctl_ad_audit_success (0 when the AD audit could not run).
func WriteCombinedPrometheus(w io.Writer, c *Combined) error {
	if err := auditor.WritePrometheus(w, c.DNS); err != nil {
		return err
	}
	ok := 0
	if c.AD != nil {
		if err := WritePrometheus(w, c.AD); err != nil {
			return err
		}
		ok = 1
	}
	_, err := fmt.Fprintf(w, "# HELP srvctl_ad_audit_success 1 if the AD permission audit ran, 0 if it could not (bind refused, DC unreachable).\n# TYPE srvctl_ad_audit_success gauge\nsrvctl_ad_audit_success %d\n", ok)
	return err
}
