package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/ad"
	"github.com/srvctl/srvctl/auditor/dnsview"
	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/controller"
	"github.com/srvctl/srvctl/zones"
)

// errNoAD is the error of the AD commands without an ad section.
var errNoAD = errors.New("the config has no ad section: name the domain controller (ad.url) and how to bind (ad.bind); see the README, \"Active Directory permissions\"")

func newAuditADCmd(g *globals) *cobra.Command {
	o := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "ad",
		Short: "Tell, per zone and KMS host, whether the host may update the record in Active Directory",
		Long: `audit ad reads, over LDAP from the domain controller of the ad section, each
zone's dnsZone and the _vlmcs._tcp dnsNode (records, owner, DACL), the KMS
host group and each configured host's computer account, and says per zone and
host whether the host can update the record, why not, and the exact command
that fixes it (dsacls, PowerShell, samba-tool). It also compares the records
in the directory with what the zone's DNS servers answer.

Exit status follows the Monitoring Plugins convention: 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN (also when the directory cannot be read).`,
	}
	g.monitoringFlags(cmd, o, "audit ad")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return g.runAuditAD(cmd, o) }
	return cmd
}

func (g *globals) runAuditAD(cmd *cobra.Command, o *auditOptions) error {
	write, err := adWriter(o.output)
	if err != nil {
		return g.unknown(o, err)
	}
	cfg, log, err := g.load(cmd, false)
	if err != nil {
		return g.unknown(o, err)
	}
	defer log.Sync()
	if cfg.AD.URL == "" {
		return g.unknown(o, errNoAD)
	}
	zs, err := selectZones(cfg.Desired(), o.zones)
	if err != nil {
		return g.unknown(o, err)
	}
	// What the DNS servers answer, to compare with the directory.
	viewer, err := dnsview.New(dnsview.Options{Resolver: cfg.Audit.Resolver, Timeout: cfg.Audit.Timeout, Concurrency: 4 * cfg.Concurrency})
	if err != nil {
		return g.unknown(o, fmt.Errorf("audit.resolver: %w", err))
	}
	servers := make(map[string][]string, len(cfg.Zones))
	for _, z := range cfg.Zones {
		servers[z.Name] = z.AuditServers
	}
	qs := make([]dnsview.Query, len(zs))
	for i, z := range zs {
		qs[i] = dnsview.Query{Zone: z.Name, Owner: z.Owner(), Servers: servers[z.Name]}
	}
	served := make(map[string][]zones.Record)
	for _, v := range viewer.View(cmd.Context(), qs) {
		if v.Err == "" {
			served[v.Zone] = v.Newest()
		}
	}
	rep, err := adAudit(cmd.Context(), cfg, log, zs, served)
	if err != nil {
		return g.unknown(o, err)
	}
	if o.prometheusFile != "" {
		if err := auditor.WriteFile(o.prometheusFile, func(w io.Writer) error { return ad.WritePrometheus(w, rep) }); err != nil {
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

// adAudit dials the domain controller and audits zs.
func adAudit(ctx context.Context, cfg *config.Config, log *zap.Logger, zs []zones.Zone, served map[string][]zones.Record) (*ad.Report, error) {
	c, err := ad.Dial(ctx, controller.ADOptions(cfg, log))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	log.Info("AD audit started", zap.String("server", c.Server()), zap.Int("zones", len(zs)))
	rep, err := c.Audit(ctx, controller.ADRequests(cfg, zs, served))
	if err != nil {
		return nil, err
	}
	s := rep.Summarize()
	log.Info("AD audit done", zap.Stringer("level", rep.Level), zap.Int("can_update", s.CanUpdate), zap.Int("cannot_update", s.CannotUpdate),
		zap.Int64("ldap_operations", rep.Operations), zap.Duration("duration", rep.Duration))
	return rep, nil
}

func adWriter(output string) (func(io.Writer, *ad.Report) error, error) {
	switch output {
	case "text":
		return ad.WriteText, nil
	case "json":
		return ad.WriteJSON, nil
	case "nagios":
		return ad.WriteNagios, nil
	case "prometheus":
		return ad.WritePrometheus, nil
	}
	return nil, fmt.Errorf("--output %q: want text, json, nagios or prometheus", output)
}

type grantOptions struct {
	zones []string
	apply bool
}

func newADCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ad",
		Short: "Change Active Directory so that the KMS host group can update the records",
		Args:  cobra.NoArgs,
	}
	o := &grantOptions{}
	grant := &cobra.Command{
		Use:   "grant",
		Short: "Grant the KMS host group write access to each zone's _vlmcs._tcp node",
		Long: `grant prints, per AD-integrated zone, the exact DACL change that lets the KMS
host group (ad.group) update the _vlmcs._tcp node: one allow ACE for the
group's SID granting read and write property (RPWP: enough to add and delete
the records, not to change the node's permissions or owner), added after the
explicit ACEs. It changes nothing
unless --apply is given; then it writes the node's DACL only (SD flags
control), refusing if the DACL changed since it was read, and reads it back
to confirm that the ACE is there and every old ACE still is. It never removes
an ACE, and never creates a node: pre-create the record first (srvctl audit
ad prints how).

Exit status: 0 when every zone was planned (and, with --apply, granted and
confirmed, or had nothing to do); 1 when a zone has no node, its DACL changed
meanwhile, the group still cannot update after the grant (a deny ACE), or the
directory could not be read.`,
		Args: cobra.NoArgs,
	}
	f := grant.Flags()
	f.StringArrayVar(&o.zones, "zone", nil, "only this zone (repeatable)")
	f.BoolVar(&o.apply, "apply", false, "make the change (default: print it)")
	grant.RunE = func(cmd *cobra.Command, _ []string) error { return g.runGrant(cmd, o) }
	cmd.AddCommand(grant)
	return cmd
}

func (g *globals) runGrant(cmd *cobra.Command, o *grantOptions) error {
	cfg, log, err := g.load(cmd, false)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	defer log.Sync()
	if cfg.AD.URL == "" {
		return &exitStatus{code: exitError, err: errNoAD}
	}
	zs, err := selectZones(cfg.Desired(), o.zones)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	ctx := cmd.Context()
	c, err := ad.Dial(ctx, controller.ADOptions(cfg, log))
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	defer c.Close()
	var failed []string
	for i, z := range zs {
		if i > 0 {
			fmt.Fprintln(g.stdout)
		}
		fmt.Fprintf(g.stdout, "%s\n", z.Owner())
		gr, err := c.PlanGrant(ctx, z.Name, z.Owner())
		if err != nil {
			fmt.Fprintf(g.stdout, "  cannot plan: %v\n", err)
			failed = append(failed, strings.TrimSuffix(z.Name, "."))
			continue
		}
		fmt.Fprint(g.stdout, indent(gr.String()))
		switch {
		case !gr.Exists:
			failed = append(failed, strings.TrimSuffix(z.Name, "."))
		case gr.NothingToDo && gr.Blocked:
			failed = append(failed, strings.TrimSuffix(z.Name, "."))
		case gr.NothingToDo:
		case !o.apply:
			fmt.Fprintln(g.stdout, "  (not applied: run again with --apply)")
		default:
			if err := c.ApplyGrant(ctx, gr); err != nil {
				fmt.Fprintf(g.stdout, "  not applied: %v\n", err)
				failed = append(failed, strings.TrimSuffix(z.Name, "."))
				continue
			}
			log.Info("ACE added", zap.String("zone", z.Name), zap.String("node", gr.NodeDN))
			fmt.Fprintln(g.stdout, "  applied, and read back: the ACE is in the DACL and every earlier ACE still is")
			if gr.Blocked {
				failed = append(failed, strings.TrimSuffix(z.Name, "."))
			}
		}
	}
	if len(failed) > 0 {
		return &exitStatus{code: exitError, err: fmt.Errorf("%d of %d zones not granted: %s", len(failed), len(zs), strings.Join(failed, ", "))}
	}
	return nil
}

// indent indents every line of s by two spaces.
func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
