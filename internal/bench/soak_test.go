package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// soakSample is what /metrics says between two runs.
type soakSample struct {
	runs, skipped            float64
	goroutines, fds          float64
	heapMiB, rssMiB, lastDur float64
}

// BenchmarkSoak runs `srvctl run` over 5,000 zones (3 live KMS hosts) with
// a tick every 3 seconds for 3 minutes (SRVCTL_SOAK=10m for longer), and
// samples /metrics after every run: goroutines, open file descriptors,
// heap and RSS must not grow from run to run. A leak fails the benchmark;
// the figures are reported either way.
func BenchmarkSoak(b *testing.B) {
	soak := 3 * time.Minute
	if s := os.Getenv("SRVCTL_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatalf("SRVCTL_SOAK: %v", err)
		}
		soak = d
	}
	bin := srvctlBinary(b, b.TempDir())
	const n = 5000
	kms, srv, names := kmsWorld(b, n, false)
	dir := b.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	cfg := kmsConfig(b, dir, srv, kms, names, fmt.Sprintf("schedule: \"@every 3s\"\nlisten: %s\n", listen))

	for range b.N {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "-c", cfg, "--log-level", "warn", "run")
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		var samples []soakSample
		end := time.Now().Add(soak)
		last := 0.0
		for time.Now().Before(end) {
			time.Sleep(100 * time.Millisecond)
			s, ok := scrape("http://" + listen + "/metrics")
			if !ok || s.runs == last {
				continue
			}
			last = s.runs
			samples = append(samples, s)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("srvctl run: %v\n%s", err, lastLines(stderr.String(), 20))
		}
		if got, err := srv.SRV(names[n-1]); err != nil || len(got) != len(kms) {
			b.Fatalf("the last zone holds %v (%v), want %d records", got, err, len(kms))
		}
		if len(samples) < 5 {
			b.Fatalf("only %d runs in %v", len(samples), soak)
		}
		// The first run publishes 15,000 records; from the third on,
		// every run is the same no-change audit and plan.
		warm, final := samples[2], samples[len(samples)-1]
		var peak soakSample
		for _, s := range samples[2:] {
			peak.goroutines = max(peak.goroutines, s.goroutines)
			peak.fds = max(peak.fds, s.fds)
			peak.heapMiB = max(peak.heapMiB, s.heapMiB)
			peak.rssMiB = max(peak.rssMiB, s.rssMiB)
			peak.lastDur = max(peak.lastDur, s.lastDur)
		}
		b.ReportMetric(final.runs, "runs")
		b.ReportMetric(final.skipped, "skipped-ticks")
		b.ReportMetric(final.goroutines-warm.goroutines, "goroutine-growth")
		b.ReportMetric(final.fds-warm.fds, "fd-growth")
		b.ReportMetric(final.heapMiB-warm.heapMiB, "heap-growth-MiB")
		b.ReportMetric(peak.rssMiB, "peak-RSS-MiB")
		b.Logf("%v, %d zones: %.0f runs (%.0f ticks skipped), no-change run %.2f s (max %.2f s); between run 3 and run %.0f: goroutines %.0f → %.0f (max %.0f), fds %.0f → %.0f (max %.0f), heap in use %.1f → %.1f MiB (max %.1f), RSS %.1f → %.1f MiB (max %.1f)",
			soak, n, final.runs, final.skipped, warm.lastDur, peak.lastDur, final.runs,
			warm.goroutines, final.goroutines, peak.goroutines, warm.fds, final.fds, peak.fds,
			warm.heapMiB, final.heapMiB, peak.heapMiB, warm.rssMiB, final.rssMiB, peak.rssMiB)
		// A leak of one goroutine or descriptor per run (or per zone)
		// shows as growth of at least the number of runs.
		if runs := final.runs - warm.runs; final.goroutines-warm.goroutines >= runs || final.fds-warm.fds >= runs {
			b.Errorf("goroutines or descriptors grow with runs: %+v → %+v", warm, final)
		}
	}
}

// scrape reads the soak's figures from /metrics.
func scrape(url string) (soakSample, bool) {
	resp, err := http.Get(url)
	if err != nil {
		return soakSample{}, false
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return soakSample{}, false
	}
	var s soakSample
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		switch name {
		case `srvctl_runs_total{result="ok"}`:
			s.runs = v
			found++
		case "srvctl_ticks_skipped_total":
			s.skipped = v
		case "go_goroutines":
			s.goroutines = v
			found++
		case "process_open_fds":
			s.fds = v
			found++
		case "go_memstats_heap_inuse_bytes":
			s.heapMiB = v / (1 << 20)
		case "process_resident_memory_bytes":
			s.rssMiB = v / (1 << 20)
		case "srvctl_last_run_duration_seconds":
			s.lastDur = v
		}
	}
	return s, found == 3
}
