package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/zones"
)

// Options configure a Controller.
type Options struct {
	// Load reads and checks the config: once in New, again at each
	// Reload. Required.
	Load func() (*config.Config, error)
	// Logger gets the controller's logs; nil discards them.
	Logger *zap.Logger
	// Metrics records every run, skipped tick and reload; nil makes new
	// ones (see Controller.Metrics).
	Metrics *Metrics
	// OnConfig, when set, is called with every config that is loaded
	// (the first and each reloaded one) before it is used, for the
	// settings only the caller can apply: the log level.
	OnConfig func(*config.Config)
	// AfterRun, when set, is called after every run with its result
	// (srvctl run --prometheus-file writes the textfile here).
	AfterRun func(*Result)
}

// Controller runs a Job on the config's schedule, one run at a time, and
// replaces the job when the config is reloaded. Its methods are safe for
// concurrent use.
type Controller struct {
	load     func() (*config.Config, error)
	log      *zap.Logger
	metrics  *Metrics
	onConfig func(*config.Config)
	afterRun func(*Result)

	busy atomic.Bool // a run is in progress

	mu      sync.Mutex
	job     *Job
	sched   *cron.Cron   // nil until Run
	entry   cron.EntryID // the job's entry in sched
	runCtx  context.Context
	last    *Result // the last run's result, nil before the first
	started time.Time
}

// New loads the config and builds its job. It fails, touching no server,
// when the config is invalid.
func New(o Options) (*Controller, error) {
	if o.Load == nil {
		return nil, errors.New("controller: no Load function")
	}
	c := &Controller{load: o.Load, log: o.Logger, metrics: o.Metrics, onConfig: o.OnConfig, afterRun: o.AfterRun, started: time.Now()}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.metrics == nil {
		c.metrics = NewMetrics(MetricsOptions{})
	}
	cfg, err := c.load()
	if err != nil {
		return nil, err
	}
	if c.onConfig != nil {
		c.onConfig(cfg)
	}
	job, err := NewJob(cfg, c.log)
	if err != nil {
		return nil, err
	}
	c.job = job
	return c, nil
}

// Metrics returns the metrics the controller records to.
func (c *Controller) Metrics() *Metrics { return c.metrics }

// Config returns the config in use.
func (c *Controller) Config() *config.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.job.Config()
}

// RunOnce runs the job now, without jitter, unless a run is already in
// progress (then it returns nil and counts a skipped tick).
func (c *Controller) RunOnce(ctx context.Context) *Result {
	if !c.busy.CompareAndSwap(false, true) {
		c.metrics.SkippedTick()
		c.log.Warn("run skipped: the previous run is still busy")
		return nil
	}
	defer c.busy.Store(false)
	return c.run(ctx)
}

func (c *Controller) run(ctx context.Context) *Result {
	c.mu.Lock()
	job := c.job
	job.retain() // a reload meanwhile closes it only after this run
	c.mu.Unlock()
	defer job.release()
	zs := len(job.zones)
	c.log.Info("run started", zap.Int("zones", zs))
	res := job.Run(ctx)
	c.metrics.Observe(&res)
	c.mu.Lock()
	c.last = &res
	c.mu.Unlock()

	s := zones.Summarize(res.Plans)
	fields := []zap.Field{zap.Bool("ok", res.OK()), zap.Duration("duration", res.Duration), zap.Int("zones", zs),
		zap.Int("zones_with_changes", s.Changed), zap.Int("failed", s.Failed),
		zap.Int("add", s.Add), zap.Int("update", s.Update), zap.Int("delete", s.Delete)}
	if res.Report != nil {
		a := res.Report.Summarize()
		fields = append(fields, zap.Stringer("audit", res.Report.Level), zap.Int("targets", a.Targets),
			zap.Int("live_targets", a.LiveTargets), zap.Int("stale_records", a.StaleRecords))
	}
	if res.OK() {
		c.log.Info("run done", fields...)
	} else {
		c.log.Error("run failed", append(fields, zap.String("failures", res.Summary()))...)
	}
	if c.afterRun != nil {
		c.afterRun(&res)
	}
	return &res
}

// Run runs the job at once and then on the config's schedule until ctx is
// done; each scheduled run waits a random delay of up to the config's
// jitter first. A tick that comes while a run is busy is skipped and
// counted. When ctx is done Run stops scheduling, waits for the run in
// progress (which starts no new zone and finishes the zones in flight),
// and returns.
func (c *Controller) Run(ctx context.Context) error {
	sched := cron.New(cron.WithLogger(cronLogger{c.log.Named("cron")}), cron.WithChain(cron.Recover(cronLogger{c.log.Named("cron")})))
	c.mu.Lock()
	if c.sched != nil {
		c.mu.Unlock()
		return errors.New("controller: Run called twice")
	}
	c.sched, c.runCtx = sched, ctx
	spec := c.job.Config().Schedule
	err := c.scheduleLocked(spec)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	c.log.Info("controller started", zap.String("schedule", spec), zap.Duration("jitter", c.Config().Jitter))

	first := make(chan struct{})
	go func() {
		defer close(first)
		c.RunOnce(ctx)
	}()
	sched.Start()
	<-ctx.Done()
	c.log.Info("stopping: no new runs; waiting for the run in progress")
	<-sched.Stop().Done()
	<-first
	c.mu.Lock()
	c.job.Close()
	c.mu.Unlock()
	c.log.Info("controller stopped")
	return nil
}

// scheduleLocked replaces the job's schedule entry. c.mu is held.
func (c *Controller) scheduleLocked(spec string) error {
	id, err := c.sched.AddFunc(spec, c.tick)
	if err != nil {
		return fmt.Errorf("schedule %q: %w", spec, err)
	}
	if c.entry != 0 {
		c.sched.Remove(c.entry)
	}
	c.entry = id
	return nil
}

// tick is a scheduled run: after the jitter, unless the controller stops.
func (c *Controller) tick() {
	c.mu.Lock()
	ctx, jitter := c.runCtx, c.job.Config().Jitter
	c.mu.Unlock()
	if !c.busy.CompareAndSwap(false, true) {
		c.metrics.SkippedTick()
		c.log.Warn("scheduled run skipped: the previous run is still busy (or waiting out its jitter)")
		return
	}
	defer c.busy.Store(false)
	if jitter > 0 {
		d := rand.N(jitter)
		c.log.Debug("jitter", zap.Duration("delay", d))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if ctx.Err() != nil {
		return
	}
	c.run(ctx)
}

// Reload loads the config again and, if it is valid, makes the next run use
// it (the run in progress, if any, finishes with the old one). An invalid
// config is logged and counted, and the old one keeps running. A changed
// listen address needs a restart: Reload says so in the log.
func (c *Controller) Reload() error {
	cfg, err := c.load()
	if err == nil {
		var job *Job
		if job, err = NewJob(cfg, c.log); err == nil {
			c.install(cfg, job)
			c.metrics.Reloaded(true)
			c.log.Info("config reloaded", zap.String("config", cfg.Path), zap.Int("zones", len(cfg.Zones)), zap.String("schedule", cfg.Schedule))
			return nil
		}
	}
	c.metrics.Reloaded(false)
	c.log.Error("config reload failed: the previous config keeps running", zap.Error(err))
	return err
}

func (c *Controller) install(cfg *config.Config, job *Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.job.Config()
	if c.sched != nil && cfg.Schedule != old.Schedule {
		if err := c.scheduleLocked(cfg.Schedule); err != nil {
			// Checked by config.Load; keep the old schedule if not.
			c.log.Error("schedule not changed", zap.Error(err))
		}
	}
	if cfg.Listen != old.Listen {
		c.log.Warn("listen changed: restart srvctl to serve on the new address", zap.String("old", old.Listen), zap.String("new", cfg.Listen))
	}
	if c.onConfig != nil {
		c.onConfig(cfg)
	}
	c.job.Close() // once the run in progress, if any, is done with it
	c.job = job
}

// Ready reports whether the controller is ready: its last run succeeded, or
// no run has finished yet. The reason says which, for /readyz.
func (c *Controller) Ready() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		return true, fmt.Sprintf("config %s loaded, no run has finished yet", c.job.Config().Path)
	}
	end := c.last.Start.Add(c.last.Duration).UTC().Format(time.RFC3339)
	if c.last.OK() {
		return true, fmt.Sprintf("the last run (%s) succeeded", end)
	}
	return false, fmt.Sprintf("the last run (%s) failed: %s", end, c.last.Summary())
}

// Handler serves /metrics (Prometheus), /healthz (the process is alive)
// and /readyz (200 when Ready, 503 otherwise, with the reason).
func (c *Controller) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.metrics.Gatherer(), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := c.Ready()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %s\n", why)
			return
		}
		fmt.Fprintf(w, "ready: %s\n", why)
	})
	return mux
}

// cronLogger passes cron's logs to zap (cron's default logger writes to
// stdout, where srvctl writes only reports).
type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.Debug(msg, zap.Any("cron", kvMap(kv)))
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error(msg, zap.Error(err), zap.Any("cron", kvMap(kv)))
}

func kvMap(kv []any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return m
}
