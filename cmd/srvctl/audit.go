package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/ad"
	"github.com/srvctl/srvctl/auditor/state"
	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/controller"
	"github.com/srvctl/srvctl/zones"
)

type auditOptions struct {
	zones          []string
	output         string
	stateFile      string
	noState        bool
	prometheusFile string
}

func newAuditCmd(g *globals) *cobra.Command {
	o := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Tell what a KMS client in each zone experiences, and why",
		Long: `audit asks every authoritative server of each zone (its NS set, or the zone's
audit_servers) for the SOA serial and the SRV RRset, probes every target once
(A/AAAA, TCP connect, a DCE/RPC bind to the KMS interface), keeps the probe
history in the state file so that a dead host can be told from a blip, and
reports per zone what clients experience, with the findings behind it.

Exit status follows the Monitoring Plugins convention for every output:
0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for a bad config, a state file
another audit holds, or a failure to write the report).`,
	}
	f := g.monitoringFlags(cmd, o, "audit")
	f.StringVar(&o.stateFile, "state-file", "", "probe history (default audit.state_file, /var/lib/srvctl/state.json)")
	f.BoolVar(&o.noState, "no-state", false, "neither read nor write the probe history (no stale detection)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return g.runAudit(cmd, o)
	}
	cmd.AddCommand(newAuditADCmd(g))
	return cmd
}

// monitoringFlags gives an audit command (audit, audit ad) the
// Monitoring Plugins treatment of usage errors, which are UNKNOWN (3) for
// a monitoring system, not WARNING (1) — extra arguments and bad flags
// alike — and the flags they share: --zone, -o, --prometheus-file.
func (g *globals) monitoringFlags(cmd *cobra.Command, o *auditOptions, name string) *pflag.FlagSet {
	cmd.Args = func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return g.unknown(o, fmt.Errorf("%s takes no arguments, got %q", name, args))
		}
		return nil
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return g.unknown(o, err) })
	f := cmd.Flags()
	f.StringArrayVar(&o.zones, "zone", nil, "only this zone (repeatable)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json, nagios or prometheus")
	f.StringVar(&o.prometheusFile, "prometheus-file", "", "also write the figures to this node_exporter textfile (atomically)")
	return f
}

// unknown is the audit's failure to run: exit 3, and for nagios a status
// line that says why.
func (g *globals) unknown(o *auditOptions, err error) error {
	if o.output == "nagios" || wantsNagios(g.args) {
		fmt.Fprintf(g.stdout, "SRVCTL AUDIT UNKNOWN - %s\n", strings.ReplaceAll(strings.SplitN(err.Error(), "\n", 2)[0], "|", "/"))
	}
	return &exitStatus{code: int(auditor.Unknown), err: err}
}

func (g *globals) runAudit(cmd *cobra.Command, o *auditOptions) error {
	var write func(io.Writer, *auditor.Report) error
	switch o.output {
	case "text":
		write = auditor.WriteText
	case "json":
		write = auditor.WriteJSON
	case "nagios":
		write = auditor.WriteNagios
	case "prometheus":
		write = auditor.WritePrometheus
	default:
		return g.unknown(o, fmt.Errorf("--output %q: want text, json, nagios or prometheus", o.output))
	}
	cfg, log, err := g.loadWith(cmd, config.LoadOptions{NoSecrets: true, ADSecrets: true})
	if err != nil {
		return g.unknown(o, err)
	}
	defer log.Sync()
	zs, err := selectZones(cfg.Desired(), o.zones)
	if err != nil {
		return g.unknown(o, err)
	}
	a, err := controller.NewAuditor(cfg, log)
	if err != nil {
		return g.unknown(o, err)
	}

	var hist *state.Locked
	path := cmp.Or(o.stateFile, cfg.Audit.StateFile)
	if !o.noState {
		hist, err = state.Lock(path)
		if err != nil {
			return g.unknown(o, controller.StateHint(err, path))
		}
		defer hist.Close()
	}
	reqs := controller.AuditRequests(cfg, zs)
	log.Info("audit started", zap.Int("zones", len(reqs)), zap.String("probe", cfg.Audit.Probe))
	var rep *auditor.Report
	if hist != nil {
		rep = a.Audit(cmd.Context(), reqs, hist)
		hist.Forget(time.Now().Add(-max(controller.ForgetAfter, 3*cfg.Audit.StaleAfter)))
		if err := hist.Save(); err != nil {
			return g.unknown(o, err)
		}
	} else {
		rep = a.Audit(cmd.Context(), reqs, nil)
	}
	if err := cmd.Context().Err(); err != nil {
		return g.unknown(o, fmt.Errorf("audit interrupted: %w", err))
	}
	s := rep.Summarize()
	log.Info("audit done", zap.Stringer("level", rep.Level), zap.Int("zones", s.Zones), zap.Int("critical", s.Critical),
		zap.Int("warning", s.Warning), zap.Int("targets", s.Targets), zap.Int("live_targets", s.LiveTargets),
		zap.Int("stale_records", s.StaleRecords), zap.Duration("duration", rep.Duration))

	if cfg.AD.URL != "" {
		return g.writeCombined(cmd, o, cfg, log, a, zs, rep)
	}
	if o.prometheusFile != "" {
		if err := auditor.WriteFile(o.prometheusFile, func(w io.Writer) error { return auditor.WritePrometheus(w, rep) }); err != nil {
			return g.unknown(o, err)
		}
	}
	if err := write(g.stdout, rep); err != nil {
		return g.unknown(o, fmt.Errorf("writing the report: %w", err))
	}
	if rep.Level != auditor.OK {
		return &exitStatus{code: int(rep.Level)}
	}
	return nil
}

// writeCombined adds the AD permission audit to the DNS audit rep (the ad
// section is configured) and writes both. A directory that cannot be read
// makes the AD part UNKNOWN; the DNS part stands.
func (g *globals) writeCombined(cmd *cobra.Command, o *auditOptions, cfg *config.Config, log *zap.Logger, a *auditor.Auditor, zs []zones.Zone, rep *auditor.Report) error {
	c := &ad.Combined{DNS: rep}
	c.AD, c.ADErr = adAudit(cmd.Context(), cfg, log, zs, controller.Served(rep))
	if c.ADErr != nil {
		log.Error("AD audit failed", zap.Error(c.ADErr))
	} else {
		// Records whose host stopped refreshing them are stale candidates
		// in the DNS audit too (only the probe history deletes).
		a.AddStaleCandidates(rep, controller.ADStaleCandidates(c.AD))
	}
	write := map[string]func(io.Writer, *ad.Combined) error{
		"text": ad.WriteCombinedText, "json": ad.WriteCombinedJSON, "nagios": ad.WriteCombinedNagios, "prometheus": ad.WriteCombinedPrometheus,
	}[o.output]
	if o.prometheusFile != "" {
		if err := auditor.WriteFile(o.prometheusFile, func(w io.Writer) error { return ad.WriteCombinedPrometheus(w, c) }); err != nil {
			return g.unknown(o, err)
		}
	}
	if err := write(g.stdout, c); err != nil {
		return g.unknown(o, fmt.Errorf("writing the report: %w", err))
	}
	if lvl := c.Level(); lvl != auditor.OK {
		return &exitStatus{code: int(lvl)}
	}
	return nil
}

// stalePolicy returns the deletion policy for plan and apply: the prune
// policy with the probe history's evidence. The history is read without a
// lock: it is only ever replaced whole. A history that cannot be read is
// no evidence: nothing is stale then (and nothing known live), which is
// logged, and publishing goes on.
func stalePolicy(cfg *config.Config, path string, force bool, log *zap.Logger) zones.Policy {
	st, err := state.Load(path)
	if err != nil {
		log.Warn("no probe history: no record is stale or known to answer", zap.String("state_file", path), zap.Error(controller.StateHint(err, path)))
	}
	return controller.StalePolicy(cfg, st, force, time.Now())
}

// wantsNagios reports whether the command line asks for -o nagios, for
// a usage error found before the flags were all parsed.
func wantsNagios(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--output=nagios", a == "-o=nagios", a == "-onagios":
			return true
		case (a == "-o" || a == "--output") && i+1 < len(args) && args[i+1] == "nagios":
			return true
		}
	}
	return false
}
