package dnsview

import (
	"fmt"
	"slices"
	"strings"

	"github.com/srvctl/srvctl/zones"
)

// Findings returns the problems among the servers of one zone, per server
// in the order of servers:
//
//	status       finding
//	no-answer    no-answer
//	lame         lame
//	error        error
//	ok           lagging, when its serial is lower (RFC 1982) than the
//	             highest serial among the ok servers;
//	             differs, when its RRset (records and TTLs, as a set) is
//	             not the reference: the RRset most of the servers with the
//	             highest serial serve (on a tie, the first of them)
//
// It does not add no-servers (View does, when no server is ok). It is pure
// and deterministic.
func Findings(servers []Server) []Finding {
	top, newest, ref := reference(servers)
	var out []Finding
	for _, s := range servers {
		f := Finding{Server: s.Name, Addr: s.Addr}
		switch s.Status {
		case StatusNoAnswer:
			f.Kind, f.Detail = KindNoAnswer, fmt.Sprintf("%s does not answer: %s", s.label(), s.Detail)
		case StatusLame:
			f.Kind, f.Detail = KindLame, fmt.Sprintf("%s is lame: %s", s.label(), s.Detail)
		case StatusError:
			f.Kind, f.Detail = KindError, fmt.Sprintf("%s: %s", s.label(), s.Detail)
		case StatusOK:
			if s.Serial != top {
				f.Kind = KindLagging
				if SerialLess(s.Serial, top) {
					f.Detail = fmt.Sprintf("%s serves serial %d, %s %d", s.label(), s.Serial, newest, top)
				} else {
					f.Detail = fmt.Sprintf("%s serves serial %d, which cannot be compared with serial %d (RFC 1982: they are 2^31 apart)", s.label(), s.Serial, top)
				}
				out = append(out, f)
			}
			if d := recordsDiff(s.Records, ref.Records); d != "" {
				out = append(out, Finding{Kind: KindDiffers, Server: s.Name, Addr: s.Addr,
					Detail: fmt.Sprintf("%s differs from %s at serial %d: %s", s.label(), ref.label, top, d)})
			}
			continue
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// refSet is the reference RRset and who serves it.
type refSet struct {
	Records []zones.Record
	label   string // "ns1.x. (ip:port)", "... and 2 more"
}

// reference returns the highest serial among the ok servers (RFC 1982),
// "<who> serve(s)" for the servers that have it, and the reference RRset.
func reference(servers []Server) (top uint32, newest string, ref refSet) {
	have := false
	for _, s := range servers {
		if s.Status == StatusOK && (!have || SerialLess(top, s.Serial)) {
			top, have = s.Serial, true
		}
	}
	if !have {
		return 0, "", refSet{}
	}
	var at []Server // the ok servers at the top serial
	for _, s := range servers {
		if s.Status == StatusOK && s.Serial == top {
			at = append(at, s)
		}
	}
	newest = more(at[0].label(), len(at)-1)
	if len(at) == 1 {
		newest += " serves"
	} else {
		newest += " serve"
	}
	// The RRset most of them serve; the first on a tie.
	best, bestN := 0, 0
	for i, s := range at {
		n := 0
		for _, o := range at {
			if slices.Equal(s.Records, o.Records) {
				n++
			}
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	return top, newest, refSet{Records: at[best].Records, label: more(at[best].label(), bestN-1)}
}

// more is "label", or "label and N more".
func more(label string, n int) string {
	if n == 0 {
		return label
	}
	return fmt.Sprintf("%s and %d more", label, n)
}

// SerialLess reports whether serial a is lower than serial b in RFC 1982
// serial number arithmetic (SERIAL_BITS 32): b is ahead of a by less than
// 2^31. Serials exactly 2^31 apart are not comparable: neither is less.
func SerialLess(a, b uint32) bool {
	d := b - a // wraps
	return d != 0 && d < 1<<31
}

// recordsDiff says how got differs from want as sets of records, "" when
// they are equal: "lacks kms2.x.:1688; has kms3.x.:1688 extra;
// kms1.x.:1688 TTL 600 vs 3600" (got's value first). Records with the same
// target and port but other priority, weight or TTL are paired and their
// fields compared; the rest are lacking or extra.
func recordsDiff(got, want []zones.Record) string {
	got, want = slices.Clone(got), slices.Clone(want)
	// Drop the records both have.
	got = slices.DeleteFunc(got, func(r zones.Record) bool {
		if i := slices.Index(want, r); i >= 0 {
			want = slices.Delete(want, i, i+1)
			return true
		}
		return false
	})
	var lacks, extra, changed []string
	for _, g := range got {
		i := slices.IndexFunc(want, func(w zones.Record) bool { return w.Target == g.Target && w.Port == g.Port })
		if i < 0 {
			extra = append(extra, hostPort(g))
			continue
		}
		w := want[i]
		want = slices.Delete(want, i, i+1)
		var fields []string
		if g.Priority != w.Priority {
			fields = append(fields, fmt.Sprintf("priority %d vs %d", g.Priority, w.Priority))
		}
		if g.Weight != w.Weight {
			fields = append(fields, fmt.Sprintf("weight %d vs %d", g.Weight, w.Weight))
		}
		if g.TTL != w.TTL {
			fields = append(fields, fmt.Sprintf("TTL %d vs %d", g.TTL, w.TTL))
		}
		changed = append(changed, hostPort(g)+" "+strings.Join(fields, ", "))
	}
	for _, w := range want {
		lacks = append(lacks, hostPort(w))
	}
	var parts []string
	if len(lacks) > 0 {
		parts = append(parts, "lacks "+strings.Join(lacks, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "has "+strings.Join(extra, ", ")+" extra")
	}
	parts = append(parts, changed...)
	return strings.Join(parts, "; ")
}

// hostPort is "target:port" of a record.
func hostPort(r zones.Record) string {
	return fmt.Sprintf("%s:%d", r.Target, r.Port)
}
