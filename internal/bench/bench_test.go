// Package bench measures srvctl end to end against a real named: the
// srvctl binary as an administrator runs it (process start included), and
// the same work done by one nsupdate process as the baseline.
//
// Run with `make bench` (go test -run '^$' -bench . -benchtime 1x).
package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srvctl/srvctl/internal/bindtest"
	"github.com/srvctl/srvctl/internal/kmstest"
)

const (
	key   = "srvctl-test"
	hosts = 5
)

// srvctlBinary builds cmd/srvctl once into dir.
func srvctlBinary(b *testing.B, dir string) string {
	b.Helper()
	bin := filepath.Join(dir, "srvctl")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/srvctl/srvctl/cmd/srvctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func zoneNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("z%05d.bench.example.", i)
	}
	return names
}

func writeConfig(b *testing.B, dir string, srv *bindtest.Server, names []string) string {
	b.Helper()
	kf := filepath.Join(dir, "bench.key")
	data, err := os.ReadFile(srv.KeyFile(key))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(kf, data, 0o600); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "concurrency: 16\nhosts:\n")
	for h := range hosts {
		fmt.Fprintf(&sb, "  - name: kms%d.bench.example.com\n    priority: %d\n    weight: %d\n", h, h, 10*h)
	}
	fmt.Fprintf(&sb, "keys:\n  - name: %s\n    secret_file: %s\nzones:\n", key, kf)
	for _, z := range names {
		fmt.Fprintf(&sb, "  - name: %s\n    server: %s\n    key: %s\n", z, srv.Addr, key)
	}
	path := filepath.Join(dir, "srvctl.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// timed runs a command and returns its wall time and peak RSS in MiB.
func timed(b *testing.B, cmd *exec.Cmd, wantCode int) (time.Duration, float64) {
	b.Helper()
	return timedOut(b, cmd, wantCode, nil)
}

// timedOut is timed with the command's stdout written to stdout.
func timedOut(b *testing.B, cmd *exec.Cmd, wantCode int, stdout io.Writer) (time.Duration, float64) {
	b.Helper()
	var stderr strings.Builder
	cmd.Stdout = stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.Fatalf("%s: %v", cmd, err)
	}
	if code != wantCode {
		b.Fatalf("%s: exit %d, want %d\n%s", cmd, code, wantCode, lastLines(stderr.String(), 10))
	}
	rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
	return wall, rss
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// nsupdateScript adds the same records as srvctl's first apply, one send
// per zone, from one nsupdate process.
func nsupdateScript(srv *bindtest.Server, names []string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "server 127.0.0.1 %d\n", srv.Port)
	for _, z := range names {
		fmt.Fprintf(&sb, "zone %s\n", z)
		for h := range hosts {
			fmt.Fprintf(&sb, "update add _vlmcs._tcp.%s 3600 IN SRV %d %d 1688 kms%d.bench.example.com.\n", z, h, 10*h, h)
		}
		sb.WriteString("send\n")
	}
	return sb.String()
}

func BenchmarkEndToEnd(b *testing.B) {
	bin := srvctlBinary(b, b.TempDir())
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("zones=%d", n), func(b *testing.B) {
			names := zoneNames(n)
			for range b.N {
				// srvctl on its own named.
				srv := bindtest.Start(b, bindtest.Options{Zones: names})
				cfg := writeConfig(b, b.TempDir(), srv, names)
				run := func(want int, args ...string) (time.Duration, float64) {
					cmd := exec.Command(bin, append([]string{"-c", cfg, "--log-level", "warn"}, args...)...)
					return timed(b, cmd, want)
				}
				applyWall, applyRSS := run(0, "apply")
				planWall, planRSS := run(0, "plan", "--detailed-exitcode")
				srv.Stop()

				// The baseline on a fresh named with the same zones.
				base := bindtest.Start(b, bindtest.Options{Zones: names})
				cmd := exec.Command("nsupdate", "-k", base.KeyFile(key))
				cmd.Stdin = strings.NewReader(nsupdateScript(base, names))
				nsWall, _ := timed(b, cmd, 0)
				if got, err := base.SRV(names[n-1]); err != nil || len(got) != hosts {
					b.Fatalf("nsupdate baseline did not publish: %v %v", got, err)
				}
				base.Stop()

				applyRate := float64(n) / applyWall.Seconds()
				nsRate := float64(n) / nsWall.Seconds()
				b.ReportMetric(applyRate, "apply-zones/s")
				b.ReportMetric(planWall.Seconds(), "plan-nochange-s")
				b.ReportMetric(nsRate, "nsupdate-zones/s")
				b.ReportMetric(applyRate/nsRate, "apply/nsupdate")
				b.ReportMetric(max(applyRSS, planRSS), "peak-RSS-MiB")
				b.Logf("%d zones × %d hosts: apply %v (%.0f zones/s, %.1f MiB), no-change plan %v (%.1f MiB), one nsupdate %v (%.0f zones/s): %.1f× nsupdate",
					n, hosts, applyWall.Round(time.Millisecond), applyRate, applyRSS, planWall.Round(time.Millisecond), planRSS,
					nsWall.Round(time.Millisecond), nsRate, applyRate/nsRate)
			}
		})
	}
}

// BenchmarkAudit runs `srvctl audit` over 5,000 zones whose records name
// the same 3 KMS hosts (real responders on loopback): each target must be
// probed once per run, and the whole audit should take under a second.
func BenchmarkAudit(b *testing.B) {
	bin := srvctlBinary(b, b.TempDir())
	const n = 5000
	kms, srv, names := kmsWorld(b, n, true)
	dir := b.TempDir()
	cfg := kmsConfig(b, dir, srv, kms, names, "")
	for range b.N {
		before := kms[0].Binds() + kms[1].Binds() + kms[2].Binds()
		cmd := exec.Command(bin, "-c", cfg, "--log-level", "warn", "audit", "-o", "json", "--prometheus-file", filepath.Join(dir, "srvctl.prom"))
		var out bytes.Buffer
		wall, rss := timedOut(b, cmd, 0, &out)
		probes := kms[0].Binds() + kms[1].Binds() + kms[2].Binds() - before
		var rep struct {
			Duration time.Duration `json:"duration_ns"`
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			b.Fatalf("audit -o json: %v", err)
		}
		validate, _ := timed(b, exec.Command(bin, "-c", cfg, "--log-level", "warn", "validate"), 0)
		nagios, _ := timed(b, exec.Command(bin, "-c", cfg, "--log-level", "warn", "audit", "-o", "nagios"), 0)
		if probes != 3 {
			b.Fatalf("one audit of %d zones made %d probes, want 3 (one per target)", n, probes)
		}
		b.ReportMetric(wall.Seconds(), "audit-s")
		b.ReportMetric(rep.Duration.Seconds(), "audit-core-s")
		b.ReportMetric(validate.Seconds(), "config-load-s")
		b.ReportMetric(nagios.Seconds(), "audit-nagios-s")
		b.ReportMetric(float64(probes), "probes")
		b.ReportMetric(rss, "peak-RSS-MiB")
		b.Logf("audit of %d zones naming 3 targets: -o json %v wall (queries and probes %v; process start and config load alone %v), -o nagios %v, %d probes, %.1f MiB",
			n, wall.Round(time.Millisecond), rep.Duration.Round(time.Millisecond), validate.Round(time.Millisecond), nagios.Round(time.Millisecond), probes, rss)
	}
}

// kmsWorld starts 3 KMS responders and a named with n zones and the zone
// hosts.bench, where kms0..2.hosts.bench resolve to 127.0.0.1; with
// published, every zone already serves their 3 records.
func kmsWorld(b *testing.B, n int, published bool) ([3]*kmstest.Server, *bindtest.Server, []string) {
	b.Helper()
	var kms [3]*kmstest.Server
	var hostRecords []string
	for i := range kms {
		kms[i] = kmstest.Start(b)
		hostRecords = append(hostRecords, fmt.Sprintf("kms%d.hosts.bench. 300 IN A 127.0.0.1", i))
	}
	names := zoneNames(n)
	records := map[string][]string{"hosts.bench": hostRecords}
	if published {
		for _, z := range names {
			for i, k := range kms {
				records[z] = append(records[z], fmt.Sprintf("_vlmcs._tcp.%s 3600 IN SRV %d 100 %d kms%d.hosts.bench.", z, i, k.Port, i))
			}
		}
	}
	srv := bindtest.Start(b, bindtest.Options{Zones: names, Static: []string{"hosts.bench"}, Records: records})
	return kms, srv, names
}

// kmsConfig writes the config of a kmsWorld into dir (the state file
// there too), with extra top-level settings first, and returns its path.
func kmsConfig(b *testing.B, dir string, srv *bindtest.Server, kms [3]*kmstest.Server, names []string, extra string) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString(extra)
	sb.WriteString("hosts:\n")
	for i, k := range kms {
		fmt.Fprintf(&sb, "  - name: kms%d.hosts.bench\n    port: %d\n    priority: %d\n    weight: 100\n", i, k.Port, i)
	}
	fmt.Fprintf(&sb, "keys:\n  - name: %s\n    secret_file: %s\n", key, srv.KeyFile(key))
	fmt.Fprintf(&sb, "audit:\n  resolver: %s\n  state_file: %s\nzones:\n", srv.Addr, filepath.Join(dir, "state.json"))
	for _, z := range names {
		fmt.Fprintf(&sb, "  - name: %s\n    server: %s\n    key: %s\n    audit_servers: [%s]\n", z, srv.Addr, key, srv.Addr)
	}
	cfg := filepath.Join(dir, "srvctl.yaml")
	if err := os.WriteFile(cfg, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return cfg
}
