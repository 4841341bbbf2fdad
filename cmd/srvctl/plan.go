package main

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/srvctl/srvctl/controller"
	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/zones"
)

type planOptions struct {
	apply            bool
	zones            []string
	output           string
	detailedExitcode bool
	force            bool
	stateFile        string
	prometheusFile   string
}

func newPlanCmd(g *globals, apply bool) *cobra.Command {
	o := &planOptions{apply: apply}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change in each zone (a dry run)",
		Long: `plan reads the SRV RRset of every zone from its server, compares it with the
desired state and prints, per zone, the records that would be added (+),
changed (~) and deleted (-), with the reason for each. It changes nothing.

Exit status: 0 when it worked (with --detailed-exitcode: 0 no changes,
2 changes pending), 1 when the config is invalid or any zone failed.`,
		Args: cobra.NoArgs,
	}
	if apply {
		cmd.Use = "apply"
		cmd.Short = "Bring every zone to the desired state"
		cmd.Long = `apply plans every zone like plan and carries the plan out: one TSIG-signed
update per zone whose prerequisite pins the records that were read, so a
concurrent writer makes the update fail instead of being overwritten (the
zone is then re-read and re-planned, at most 3 times). Every update is read
back. A zone that fails does not stop the others.

Exit status: 0 when every zone is in the desired state, 1 when the config is
invalid or any zone failed (the others were still applied).`
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.zones, "zone", nil, "only this zone (repeatable)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&o.force, "force", false, "lift the safety rules: allow more deletions than audit.max_deletes, and deleting a zone's last live record")
	f.StringVar(&o.stateFile, "state-file", "", "probe history written by srvctl audit, for prune: stale (default audit.state_file)")
	if apply {
		f.StringVar(&o.prometheusFile, "prometheus-file", "", "write the run's figures to this node_exporter textfile (atomically)")
	} else {
		f.BoolVar(&o.detailedExitcode, "detailed-exitcode", false, "exit 2 when changes are pending, 0 when there are none")
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return g.runPlan(cmd, o)
	}
	return cmd
}

func (g *globals) runPlan(cmd *cobra.Command, o *planOptions) error {
	if o.output != "text" && o.output != "json" {
		return &exitStatus{code: exitError, err: fmt.Errorf("--output %q: want text or json", o.output)}
	}
	cfg, log, err := g.load(cmd, false)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	defer log.Sync()
	zs, err := selectZones(cfg.Desired(), o.zones)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	pol := stalePolicy(cfg, cmp.Or(o.stateFile, cfg.Audit.StateFile), o.force, log)
	backends, closeBackends, err := controller.Backends(cfg)
	if err != nil {
		return &exitStatus{code: exitError, err: fmt.Errorf("config %s: %w", cfg.Path, err)}
	}
	defer func() {
		if err := closeBackends(); err != nil {
			log.Warn("GSS-TSIG contexts not deleted on the server (they expire there)", zap.Error(err))
		}
	}()
	r := publisher.New(publisher.Options{
		Backends:    backends,
		Policy:      pol,
		MaxDeletes:  cfg.Audit.MaxDeletes,
		Concurrency: cfg.Concurrency,
		Logger:      log.Named("publisher"),
	})

	mode := zones.Planned
	var plans []zones.Plan
	start := time.Now()
	if o.apply {
		log.Info("apply started", zap.Int("zones", len(zs)))
		plans = r.Apply(cmd.Context(), zs)
		mode = zones.Applied
	} else {
		plans = r.Plan(cmd.Context(), zs)
	}
	if o.prometheusFile != "" {
		m := controller.NewMetrics(controller.MetricsOptions{Version: version})
		m.Observe(controller.ApplyResult(start, plans))
		if err := m.WriteFile(o.prometheusFile); err != nil {
			return &exitStatus{code: exitError, err: err}
		}
	}
	if o.output == "json" {
		err = zones.WriteJSON(g.stdout, plans, mode)
	} else {
		err = zones.WriteText(g.stdout, plans, mode)
	}
	if err != nil {
		return &exitStatus{code: exitError, err: fmt.Errorf("writing the plan: %w", err)}
	}

	s := zones.Summarize(plans)
	log.Info("done", zap.Bool("apply", o.apply), zap.Int("zones", s.Zones), zap.Int("zones_with_changes", s.Changed),
		zap.Int("failed", s.Failed), zap.Int("add", s.Add), zap.Int("update", s.Update), zap.Int("delete", s.Delete))
	if failed := zones.FailedZones(plans); len(failed) > 0 {
		return &exitStatus{code: exitError, err: fmt.Errorf("%d of %d zones failed: %s", len(failed), len(plans), strings.Join(failed, ", "))}
	}
	if o.detailedExitcode && s.Changed > 0 {
		return &exitStatus{code: exitChanges}
	}
	return nil
}

// selectZones returns the zones named by --zone, in config order, or all of
// them when none is named.
func selectZones(all []zones.Zone, names []string) ([]zones.Zone, error) {
	if len(names) == 0 {
		return all, nil
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[zones.Canonical(n)] = true
	}
	var out []zones.Zone
	for _, z := range all {
		if want[z.Name] {
			out = append(out, z)
			delete(want, z.Name)
		}
	}
	if len(want) > 0 {
		var missing []string
		for _, n := range names {
			if want[zones.Canonical(n)] {
				missing = append(missing, zones.Canonical(n))
			}
		}
		return nil, fmt.Errorf("--zone: not in the config: %s", strings.Join(missing, ", "))
	}
	return out, nil
}
