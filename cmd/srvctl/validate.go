package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/srvctl/srvctl/controller"
)

func newValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the config and the secrets it names; touches no server",
		Long: `validate loads the config file, checks every value and reads every TSIG
secret file it names. It lists every problem, each with its key, and exits 1
if there is any; it talks to no server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load(cmd, false)
			if err != nil {
				return &exitStatus{code: exitError, err: err}
			}
			// What the commands build from the config, checked here too:
			// the audit's severities and resolver, the bindfile zones.
			if _, err := controller.NewAuditor(cfg, log); err != nil {
				return &exitStatus{code: exitError, err: err}
			}
			_, closeBackends, err := controller.Backends(cfg)
			if err != nil {
				return &exitStatus{code: exitError, err: fmt.Errorf("config %s: %w", cfg.Path, err)}
			}
			_ = closeBackends() // nothing was negotiated
			records := 0
			for _, z := range cfg.Desired() {
				records += len(z.Desired)
			}
			_, err = fmt.Fprintf(g.stdout, "%s: valid: %s, %s, %s, %s\n", cfg.Path,
				count(len(cfg.Hosts), "host"), count(len(cfg.Keys), "key"), count(len(cfg.Zones), "zone"), count(records, "desired record"))
			return err
		},
	}
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
