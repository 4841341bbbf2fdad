// Package bench measures srvctl end to end against a real named: the
// srvctl binary as an administrator runs it (process start included), and
// the same work done by one nsupdate process as the baseline.
//
// Run with `make bench` (go test -run '^$' -bench . -benchtime 1x).
package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srvctl/srvctl/internal/bindtest"
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
	var stderr strings.Builder
	cmd.Stdout = nil
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
