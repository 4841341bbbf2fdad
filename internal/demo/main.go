// Command demo shows srvctl's whole job in one command, on a throwaway
// BIND: it starts named on loopback with three empty zones, writes a TSIG
// key file and a srvctl config beside it, and runs srvctl validate, plan,
// apply, a look at what each zone now serves, and plan again (which must
// find nothing to do). named is stopped at the end, on error and on Ctrl-C.
//
// `make demo` runs it as
//
//	go run ./internal/demo --srvctl ./bin/srvctl
//
// It exits 1 when a step does not end as expected.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/kmstest"
)

// keyName is the TSIG key srvctl signs with; named's update-policy lets it
// change only the SRV RRset at _vlmcs._tcp.<zone>.
const keyName = "srvctl-demo"

// zoneNames are the zones the throwaway named serves.
func zoneNames() []string {
	return []string{"corp.example.com.", "branch.example.net.", "lab.example.org."}
}

// configText is the srvctl config of the demo, in the format of
// README.md "Configuration": three KMS hosts; corp gets them all,
// branch only two (a per-zone hosts list), lab all three with kms3 as the
// first choice (an override). %[1]s is the key file, %[2]s the server.
const configText = `# srvctl demo config (see README.md, "Configuration")
service: _vlmcs._tcp
ttl: 3600
prune: stale
hosts:
  - name: kms1.corp.example.com
    port: 1688
    priority: 0
    weight: 100
  - name: kms2.corp.example.com
    port: 1688
    priority: 0
    weight: 50
  - name: kms3.corp.example.com
    port: 1688
    priority: 10
    weight: 0
keys:
  - name: ` + keyName + `
    algorithm: hmac-sha256
    secret_file: %[1]s
audit:
  resolver: %[2]s                   # the demo's named also serves the hosts' A records
  timeout: 1s
  state_file: %[3]s
zones:
  - name: corp.example.com          # every host
    backend: rfc2136
    server: %[2]s
    key: ` + keyName + `
    audit_servers: [%[2]s]
  - name: branch.example.net        # only these two hosts
    backend: rfc2136
    server: %[2]s
    key: ` + keyName + `
    audit_servers: [%[2]s]
    hosts: [kms1.corp.example.com, kms2.corp.example.com]
  - name: lab.example.org           # every host; the lab's own kms3 first
    backend: rfc2136
    server: %[2]s
    key: ` + keyName + `
    audit_servers: [%[2]s]
    overrides:
      - host: kms3.corp.example.com
        priority: 0
        weight: 200
`

func main() {
	bin := flag.String("srvctl", "./bin/srvctl", "the srvctl binary to run")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: demo [--srvctl PATH]\n\n"+
			"Starts a throwaway named on loopback and runs srvctl plan, apply and plan\nagainst it.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *bin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo failed: %v\n", err)
		os.Exit(1)
	}
}

// run is the demo: out gets the narration and srvctl's stdout, errOut
// srvctl's stderr (its logs). It stops named before it returns.
func run(ctx context.Context, bin string, out, errOut io.Writer) (err error) {
	bin, err = exec.LookPath(bin) // a path with a slash is only checked
	if err != nil {
		return fmt.Errorf("srvctl binary: %w (build it with `make build`)", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}

	heading(out, "Starting two KMS hosts (DCE/RPC responders on port 1688 of 127.0.0.1 and 127.0.0.2); kms3 is down")
	for _, addr := range []string{"127.0.0.1:1688", "127.0.0.2:1688"} {
		kms, err := kmstest.Listen(addr)
		if err != nil {
			return fmt.Errorf("%w (is something else listening on %s?)", err, addr)
		}
		defer kms.Close()
	}
	heading(out, "Starting a throwaway BIND named on 127.0.0.1 with three empty zones")
	srv, err := bindtest.Launch(bindtest.Options{Zones: zoneNames(), Keys: []string{keyName}, Records: map[string][]string{
		"corp.example.com.": {
			"kms1.corp.example.com. 300 IN A 127.0.0.1",
			"kms2.corp.example.com. 300 IN A 127.0.0.2",
			"kms3.corp.example.com. 300 IN A 127.0.0.3",
		},
	}})
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stopping named: %w", serr))
			return
		}
		fmt.Fprintln(out, "\nnamed stopped; its files are gone.")
	}()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	fmt.Fprintf(out, "named listens on %s (zones %s).\n"+
		"Its update-policy lets key %q change the SRV records at _vlmcs._tcp.<zone>, nothing else.\n",
		srv.Addr, strings.Join(zoneNames(), ", "), keyName)

	dir, err := os.MkdirTemp("", "srvctl-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, text, err := writeConfig(dir, srv)
	if err != nil {
		return err
	}
	heading(out, "The config srvctl reads: "+cfg)
	fmt.Fprint(out, text)

	srvctl := func(want int, args ...string) error {
		return runSrvctl(ctx, out, errOut, bin, cfg, want, args...)
	}
	heading(out, "srvctl validate: checks the config and reads the key file; no DNS traffic")
	if err := srvctl(0, "validate"); err != nil {
		return err
	}
	heading(out, "srvctl plan: what would change, and why (changes nothing)")
	if err := srvctl(0, "plan"); err != nil {
		return err
	}
	heading(out, "srvctl apply: one TSIG-signed update per zone")
	if err := srvctl(0, "apply"); err != nil {
		return err
	}
	heading(out, "What each zone serves now: the answer a KMS client's DNS lookup gets")
	if err := showZones(out, srv); err != nil {
		return err
	}
	heading(out, "srvctl plan --detailed-exitcode: nothing left to do (exit status 0; 2 would mean changes)")
	if err := srvctl(0, "plan", "--detailed-exitcode"); err != nil {
		return err
	}
	heading(out, "srvctl audit: what a KMS client in each zone experiences (kms3 is down: WARNING, exit status 1)")
	if err := srvctl(1, "audit"); err != nil {
		return err
	}
	heading(out, "srvctl audit -o nagios: the same for Icinga/Nagios")
	if err := srvctl(1, "audit", "-o", "nagios"); err != nil {
		return err
	}
	prom := filepath.Join(dir, "srvctl.prom")
	heading(out, "srvctl run --once: what the systemd timer runs (audit, then apply), with figures for node_exporter")
	if err := srvctl(0, "run", "--once", "--prometheus-file", prom); err != nil {
		return err
	}
	if err := showMetrics(out, prom, "srvctl_runs_total", "srvctl_last_run_success", "srvctl_live_targets", "srvctl_stale_records", "srvctl_zone_last_run_success"); err != nil {
		return err
	}
	heading(out, "srvctl render named-conf --zone lab.example.org --check: what BIND needs to let srvctl in")
	if err := srvctl(0, "render", "named-conf", "--zone", "lab.example.org", "--check"); err != nil {
		return err
	}
	heading(out, "Done")
	return nil
}

// writeConfig writes the key file (mode 0600, tsig-keygen format) and the
// config into dir, and returns the config's path and text.
func writeConfig(dir string, srv *bindtest.Server) (path, text string, err error) {
	key, err := os.ReadFile(srv.KeyFile(keyName))
	if err != nil {
		return "", "", fmt.Errorf("key file: %w", err)
	}
	keyFile := filepath.Join(dir, keyName+".key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return "", "", fmt.Errorf("key file: %w", err)
	}
	text = fmt.Sprintf(configText, yamlQuote(keyFile), srv.Addr, yamlQuote(filepath.Join(dir, "state.json")))
	path = filepath.Join(dir, "srvctl.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return "", "", fmt.Errorf("config: %w", err)
	}
	return path, text, nil
}

// yamlQuote quotes s as a YAML double-quoted scalar.
func yamlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// runSrvctl runs `srvctl -c cfg --log-format console args...` with its
// output forwarded, after printing the command line, and fails unless it
// exits with want.
func runSrvctl(ctx context.Context, out, errOut io.Writer, bin, cfg string, want int, args ...string) error {
	argv := append([]string{"-c", cfg, "--log-format", "console"}, args...)
	fmt.Fprintf(out, "$ srvctl %s\n", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Stdout, cmd.Stderr = out, errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted during srvctl %s: %w", args[0], ctx.Err())
	}
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return fmt.Errorf("srvctl %s: %w", strings.Join(args, " "), err)
	}
	if code != want {
		return fmt.Errorf("srvctl %s: exit status %d, want %d", strings.Join(args, " "), code, want)
	}
	fmt.Fprintf(out, "(exit status %d)\n", code)
	return nil
}

// showZones prints each zone's _vlmcs._tcp SRV RRset as the server
// answers it, as zone-file lines, like dig does.
func showZones(out io.Writer, srv *bindtest.Server) error {
	for _, z := range zoneNames() {
		fmt.Fprintf(out, "$ dig @%s -p %d +norec _vlmcs._tcp.%s SRV\n", "127.0.0.1", srv.Port, z)
		rrs, err := srv.SRV(z)
		if err != nil {
			return err
		}
		if len(rrs) == 0 {
			fmt.Fprintf(out, ";; no SRV records at _vlmcs._tcp.%s\n", z)
		}
		for _, rr := range rrs {
			fmt.Fprintln(out, rr.String())
		}
		fmt.Fprintln(out)
	}
	return nil
}

// showMetrics prints the samples of the textfile whose names start with
// one of the prefixes.
func showMetrics(out io.Writer, path string, prefixes ...string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "$ grep -E '^(%s)' %s\n", strings.Join(prefixes, "|"), path)
	for _, l := range strings.Split(string(data), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				fmt.Fprintln(out, l)
				break
			}
		}
	}
	return nil
}

// heading prints a step's title.
func heading(out io.Writer, title string) {
	fmt.Fprintf(out, "\n=== %s\n", title)
}
