package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set by the linker: -X main.version=... -X main.commit=...
var (
	version = ""
	commit  = ""
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print srvctl's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c := version, commit
			if bi, ok := debug.ReadBuildInfo(); ok {
				if v == "" && bi.Main.Version != "" {
					v = bi.Main.Version
				}
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" && c == "" {
						c = s.Value
					}
				}
			}
			if v == "" {
				v = "(devel)"
			}
			if c == "" {
				c = "unknown"
			}
			_, err := fmt.Fprintf(g.stdout, "srvctl %s\ncommit %s\n%s %s/%s\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
