package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/controller"
	"github.com/srvctl/srvctl/publisher/render"
	"github.com/srvctl/srvctl/zones"
)

func newRenderCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print configuration for the DNS servers and KMS hosts srvctl works with",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRenderNamedConfCmd(g), newRenderPublishListCmd(g), newRenderSystemdCmd(g))
	return cmd
}

type namedConfOptions struct {
	zones       []string
	style       string
	withSecrets bool
	insecure    bool
	allowUpdate []string
	check       bool
}

func newRenderNamedConfCmd(g *globals) *cobra.Command {
	o := &namedConfOptions{}
	cmd := &cobra.Command{
		Use:   "named-conf",
		Short: "Print the named.conf statements that let srvctl's updates in, with least privilege",
		Long: `named-conf prints, for BIND, the key statements (an include of the secret file
when it is tsig-keygen output; otherwise a commented key statement whose secret
is printed only with --with-secrets) and, per rfc2136 zone, the update-policy
that lets srvctl's key change the _vlmcs._tcp SRV records and nothing else,
plus the grants of named_conf.self_publish for KMS hosts that publish
themselves. For bindfile zones it prints the $INCLUDE line for the zone file.

--style allow-update prints the legacy allow-update { key ...; }; form, which
lets the key change every record of the zone. --allow-update any (or
addresses), what the old KB article suggests, lets anyone who reaches the
server rewrite the zone: it is refused unless --insecure is given.

--check runs named-checkconf on the output wrapped in minimal zone statements.`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.zones, "zone", nil, "only this zone (repeatable)")
	f.StringVar(&o.style, "style", "update-policy", "update-policy or allow-update")
	f.BoolVar(&o.withSecrets, "with-secrets", false, "print the secrets of keys whose file named cannot include")
	f.StringArrayVar(&o.allowUpdate, "allow-update", nil, "with --style allow-update: any or an address to let in without a key (insecure; repeatable)")
	f.BoolVar(&o.insecure, "insecure", false, "allow --allow-update any/addresses")
	f.BoolVar(&o.check, "check", false, "check the output with named-checkconf")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return g.runNamedConf(cmd, o) }
	return cmd
}

func (g *globals) runNamedConf(cmd *cobra.Command, o *namedConfOptions) error {
	cfg, log, err := g.load(cmd, false)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	defer log.Sync()
	desired, err := selectZones(cfg.Desired(), o.zones)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	nc := render.NamedConf{
		Style:       render.Style(o.style),
		WithSecrets: o.withSecrets,
		Insecure:    o.insecure,
		AllowUpdate: o.allowUpdate,
		Source:      absPath(cfg.Path),
		TKEYKeytab:  cfg.NamedConf.TKEYKeytab,
	}
	used := map[string]bool{}
	byName := map[string]config.Zone{}
	for _, z := range cfg.Zones {
		byName[z.Name] = z
	}
	for _, d := range desired {
		z := byName[d.Name]
		rz := render.Zone{Name: z.Name, Owner: d.Owner(), Backend: z.Backend, Key: z.Key, File: z.File}
		if z.Auth == config.AuthGSSTSIG {
			p, err := principalOf(z)
			if err != nil {
				return &exitStatus{code: exitError, err: err}
			}
			rz.Principal = p
		}
		if z.Backend == config.DefaultBackend {
			used[z.Key] = true
			switch cfg.NamedConf.SelfPublish {
			case "tsig":
				for _, h := range hostsOf(cfg, z) {
					if h.Key != "" && !slices.Contains(rz.HostKeys, h.Key) {
						rz.HostKeys = append(rz.HostKeys, h.Key)
						used[h.Key] = true
					}
				}
			case "kerberos":
				rz.Kerberos = cfg.NamedConf.Realm
			}
			if cfg.NamedConf.LimitRecords {
				rz.MaxRecords = len(d.Desired)
			}
		}
		nc.Zones = append(nc.Zones, rz)
	}
	for _, k := range cfg.Keys {
		if used[k.Name] {
			nc.Keys = append(nc.Keys, render.Key{Name: k.Name, Algorithm: k.Algorithm, SecretFile: k.SecretFile, KeygenFile: k.Keygen, Secret: k.Secret.Reveal()})
		}
	}
	var out bytes.Buffer
	if err := render.WriteNamedConf(&out, nc); err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	if o.check {
		if err := render.CheckNamedConf(cmd.Context(), out.Bytes(), nc.Zones); err != nil {
			return &exitStatus{code: exitError, err: err}
		}
	}
	if _, err := g.stdout.Write(out.Bytes()); err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	return nil
}

// principalOf is the Kerberos principal, NAME@REALM, srvctl signs zone z's
// updates as: what named's update-policy must grant.
func principalOf(z config.Zone) (string, error) {
	k := z.Kerberos
	switch {
	case k == nil || k.Principal == "":
		return "", fmt.Errorf("zone %s: render named-conf needs kerberos.principal (the account srvctl signs as) to grant it", strings.TrimSuffix(z.Name, "."))
	case strings.Contains(k.Principal, "@"):
		return k.Principal, nil
	case k.Realm == "":
		return "", fmt.Errorf("zone %s: render named-conf needs kerberos.realm, or a principal written NAME@REALM", strings.TrimSuffix(z.Name, "."))
	}
	return k.Principal + "@" + k.Realm, nil
}

// hostsOf returns the hosts published in zone z.
func hostsOf(cfg *config.Config, z config.Zone) []config.Host {
	if len(z.Hosts) == 0 {
		return cfg.Hosts
	}
	var out []config.Host
	for _, h := range cfg.Hosts {
		if slices.Contains(z.Hosts, h.Name) {
			out = append(out, h)
		}
	}
	return out
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

type publishListOptions struct {
	host   string
	output string
}

func newRenderPublishListCmd(g *globals) *cobra.Command {
	o := &publishListOptions{}
	cmd := &cobra.Command{
		Use:   "dnsdomainpublishlist",
		Short: "Print the DnsDomainPublishList registry value that makes a KMS host publish itself like srvctl would",
		Long: `dnsdomainpublishlist prints, for one KMS host, the REG_MULTI_SZ lines
"zone,priority,weight" of every zone the host is published in, for
HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform
DnsDomainPublishList: as text, a .reg file for regedit (-o reg), or a
PowerShell command (-o powershell). For sites that keep auto-publishing.
Where srvctl publishes these zones itself, the host should rather stop
publishing (slmgr /cdns), and the output says so.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&o.host, "host", "", "the KMS host (one of hosts)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "text, reg or powershell")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return g.runPublishList(cmd, o) }
	return cmd
}

func (g *globals) runPublishList(cmd *cobra.Command, o *publishListOptions) error {
	if o.host == "" {
		return &exitStatus{code: exitError, err: fmt.Errorf("--host: name the KMS host (one of hosts)")}
	}
	cfg, log, err := g.load(cmd, true)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	defer log.Sync()
	host := zones.Canonical(o.host)
	known := false
	for _, h := range cfg.Hosts {
		known = known || h.Name == host
	}
	if !known {
		return &exitStatus{code: exitError, err: fmt.Errorf("--host %s: not one of hosts in %s", host, cfg.Path)}
	}
	l := render.PublishList{Host: strings.TrimSuffix(host, "."), SrvctlPublishes: true}
	for _, z := range cfg.Desired() {
		for _, r := range z.Desired {
			if r.Target == host {
				l.Entries = append(l.Entries, render.PublishEntry{Zone: strings.TrimSuffix(z.Name, "."), Priority: r.Priority, Weight: r.Weight})
			}
		}
	}
	if len(l.Entries) == 0 {
		return &exitStatus{code: exitError, err: fmt.Errorf("--host %s: published in no zone", host)}
	}
	if err := render.WritePublishList(g.stdout, l, o.output); err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	return nil
}

type systemdOptions struct {
	binary     string
	user       string
	onCalendar string
	dir        string
}

func newRenderSystemdCmd(g *globals) *cobra.Command {
	o := &systemdOptions{}
	cmd := &cobra.Command{
		Use:   "systemd",
		Short: "Print the hardened systemd units that run srvctl (controller, or one-shot and timer)",
		Long: `systemd prints srvctl.service (the controller, srvctl run), and
srvctl-apply.service with srvctl-apply.timer (srvctl run --once on a
calendar), for this binary and config. Enable one or the other, not both.

The services run as a DynamicUser (or --user) with the probe history in
StateDirectory=srvctl, a read-only system (ProtectSystem=strict) and only the
address families DNS and the probes need. Each key whose secret_file is a
bare file name is passed with LoadCredential=, so the secret stays readable
by root only; srvctl finds it in $CREDENTIALS_DIRECTORY. The directories of
bindfile fragments and zone files become ReadWritePaths=.

--dir writes the three files there (e.g. /etc/systemd/system) instead of
printing them; then run systemctl daemon-reload.`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&o.binary, "binary", "", "srvctl's path in the units (default: this binary)")
	f.StringVar(&o.user, "user", "", "run as this user instead of a DynamicUser (bindfile zones: the user that owns the zone files)")
	f.StringVar(&o.onCalendar, "on-calendar", "hourly", "the timer's OnCalendar= (systemd.time(7))")
	f.StringVar(&o.dir, "dir", "", "write the unit files into this directory")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return g.runSystemd(cmd, o) }
	return cmd
}

func (g *globals) runSystemd(cmd *cobra.Command, o *systemdOptions) error {
	cfg, log, err := g.load(cmd, true)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	defer log.Sync()
	bin := o.binary
	if bin == "" {
		if bin, err = os.Executable(); err == nil {
			bin, err = filepath.EvalSymlinks(bin)
		}
		if err != nil {
			return &exitStatus{code: exitError, err: fmt.Errorf("finding this binary's path (use --binary): %w", err)}
		}
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	units, err := controller.Units(controller.UnitOptions{Binary: bin, Config: path, User: o.user, OnCalendar: o.onCalendar, Cfg: cfg})
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	if o.dir != "" {
		if err := os.MkdirAll(o.dir, 0o755); err != nil {
			return &exitStatus{code: exitError, err: err}
		}
		for _, u := range units {
			p := filepath.Join(o.dir, u.Name)
			if err := auditor.WriteFile(p, func(w io.Writer) error { _, err := io.WriteString(w, u.Content); return err }); err != nil {
				return &exitStatus{code: exitError, err: err}
			}
			fmt.Fprintf(g.stdout, "wrote %s\n", p)
		}
		return nil
	}
	for i, u := range units {
		if i > 0 {
			fmt.Fprintln(g.stdout)
		}
		fmt.Fprintf(g.stdout, "# ==> %s <==\n%s", u.Name, u.Content)
	}
	return nil
}
