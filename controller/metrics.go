package controller

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/zones"
)

// Metrics are the figures of srvctl's runs in Prometheus form. The
// controller serves them on /metrics; the one-shot commands write them to a
// node_exporter textfile. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	runs            *prometheus.CounterVec
	runDuration     prometheus.Histogram
	lastRun         prometheus.Gauge
	lastRunDuration prometheus.Gauge
	lastRunSuccess  prometheus.Gauge
	zoneLastSuccess *prometheus.GaugeVec
	zoneSuccess     *prometheus.GaugeVec
	changes         *prometheus.CounterVec
	errors          *prometheus.CounterVec
	reloads         *prometheus.CounterVec
	reloadSuccess   prometheus.Gauge
	skipped         prometheus.Counter

	auditOnce    sync.Once
	staleRecords prometheus.Gauge
	targets      prometheus.Gauge
	liveTargets  prometheus.Gauge

	mu    sync.Mutex
	zones map[string]bool // zones with per-zone series
}

// MetricsOptions says what Metrics includes besides the run figures.
type MetricsOptions struct {
	Version string // the build_info label
	// Process adds the Go runtime and process collectors (goroutines,
	// memory, open file descriptors): right for /metrics of a long-running
	// process, noise in a one-shot's textfile.
	Process bool
}

// NewMetrics returns the metrics of a process, every counter at zero.
func NewMetrics(o MetricsOptions) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), zones: map[string]bool{}}
	f := factory{m.reg}
	m.runs = f.counterVec("srvctl_runs_total", "Runs (audit then apply), by result: ok or failed.", "result")
	m.runDuration = f.histogram("srvctl_run_duration_seconds", "How long runs took.",
		[]float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600})
	m.lastRun = f.gauge("srvctl_last_run_timestamp_seconds", "When the last run ended, in Unix time.")
	m.lastRunDuration = f.gauge("srvctl_last_run_duration_seconds", "How long the last run took.")
	m.lastRunSuccess = f.gauge("srvctl_last_run_success", "1 if the last run did all its work, 0 if anything failed.")
	m.zoneLastSuccess = f.gaugeVec("srvctl_zone_last_success_timestamp_seconds",
		"When each zone was last found or brought in the desired state, in Unix time.", "zone")
	m.zoneSuccess = f.gaugeVec("srvctl_zone_last_run_success", "1 if the last run brought the zone to the desired state, 0 if it failed.", "zone")
	m.changes = f.counterVec("srvctl_changes_applied_total", "SRV records added, updated and deleted.", "action")
	m.errors = f.counterVec("srvctl_errors_total", "Failures, by kind (see the README).", "kind")
	m.reloads = f.counterVec("srvctl_config_reloads_total", "Config reloads (SIGHUP), by result: ok or failed.", "result")
	m.reloadSuccess = f.gauge("srvctl_config_last_reload_success", "0 when the last reload failed and the previous config is still running, else 1.")
	m.skipped = f.counter("srvctl_ticks_skipped_total", "Scheduled runs skipped because the previous run was still busy.")
	info := f.gaugeVec("srvctl_build_info", "srvctl's version and Go version; always 1.", "version", "goversion")
	info.WithLabelValues(o.Version, goVersion()).Set(1)

	for _, r := range []string{"ok", "failed"} {
		m.runs.WithLabelValues(r)
		m.reloads.WithLabelValues(r)
	}
	for _, a := range []zones.Action{zones.Add, zones.Update, zones.Delete} {
		m.changes.WithLabelValues(string(a))
	}
	for _, k := range Kinds() {
		m.errors.WithLabelValues(k)
	}
	m.reloadSuccess.Set(1)
	if o.Process {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

type factory struct{ reg prometheus.Registerer }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

// Gatherer returns the registry, for an HTTP handler.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Observe records a run.
func (m *Metrics) Observe(r *Result) {
	end := r.Start.Add(r.Duration)
	result := "ok"
	if !r.OK() {
		result = "failed"
	}
	m.runs.WithLabelValues(result).Inc()
	m.runDuration.Observe(r.Duration.Seconds())
	m.lastRun.Set(float64(end.UnixNano()) / 1e9)
	m.lastRunDuration.Set(r.Duration.Seconds())
	m.lastRunSuccess.Set(b2f(r.OK()))
	for _, f := range r.Failures {
		m.errors.WithLabelValues(f.Kind).Inc()
	}
	for range r.AuditUnknown {
		m.errors.WithLabelValues(KindAudit).Inc()
	}
	if r.Report != nil {
		m.observeAudit(r.Report)
	}
	if r.Plans != nil {
		m.observePlans(r.Plans, end)
	}
}

// observePlans records the zones of a run that ended at end.
func (m *Metrics) observePlans(plans []zones.Plan, end time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := make(map[string]bool, len(plans))
	for _, p := range plans {
		seen[p.Zone] = true
		m.zones[p.Zone] = true
		if p.Err != nil {
			m.zoneSuccess.WithLabelValues(p.Zone).Set(0)
			continue
		}
		m.zoneSuccess.WithLabelValues(p.Zone).Set(1)
		m.zoneLastSuccess.WithLabelValues(p.Zone).Set(float64(end.UnixNano()) / 1e9)
		for _, c := range p.Changes {
			m.changes.WithLabelValues(string(c.Action)).Inc()
		}
	}
	// A zone no longer configured (a reload removed it) has no series.
	for z := range m.zones {
		if !seen[z] {
			m.zoneSuccess.DeleteLabelValues(z)
			m.zoneLastSuccess.DeleteLabelValues(z)
			delete(m.zones, z)
		}
	}
}

func (m *Metrics) observeAudit(rep *auditor.Report) {
	m.auditOnce.Do(func() {
		f := factory{m.reg}
		m.staleRecords = f.gauge("srvctl_stale_records", "Records whose target is stale, in every zone, at the last audit.")
		m.targets = f.gauge("srvctl_targets", "Distinct targets (host and port) the zones name, at the last audit.")
		m.liveTargets = f.gauge("srvctl_live_targets", "Targets that answered as KMS hosts at the last audit.")
	})
	s := rep.Summarize()
	m.staleRecords.Set(float64(s.StaleRecords))
	m.targets.Set(float64(s.Targets))
	m.liveTargets.Set(float64(s.LiveTargets))
}

// SkippedTick counts a scheduled run that was skipped because the
// previous one was still busy.
func (m *Metrics) SkippedTick() { m.skipped.Inc() }

// Reloaded counts a config reload and whether it worked.
func (m *Metrics) Reloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
	} else {
		m.reloads.WithLabelValues("failed").Inc()
		m.errors.WithLabelValues(KindConfig).Inc()
	}
	m.reloadSuccess.Set(b2f(ok))
}

// Write writes the metrics in the Prometheus text format.
func (m *Metrics) Write(w io.Writer) error {
	mfs, err := m.reg.Gather()
	if err != nil {
		return fmt.Errorf("gathering metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("encoding metrics: %w", err)
		}
	}
	return nil
}

// WriteFile writes the metrics to a node_exporter textfile, atomically
// (the collector never sees half a file).
func (m *Metrics) WriteFile(path string) error {
	return auditor.WriteFile(path, m.Write)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func goVersion() string { return runtime.Version() }
