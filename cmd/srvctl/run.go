package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/controller"
)

// stopTimeout bounds how long srvctl run waits, after SIGTERM, for the
// zones in flight. Each is bounded by the config's timeout already; this
// is the backstop, below the units' TimeoutStopSec.
const stopTimeout = 90 * time.Second

type runOptions struct {
	once           bool
	prometheusFile string
}

func newRunCmd(g *globals) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Audit and apply on the config's schedule (the controller)",
		Long: `run is the long-running controller: at start and then on the config's schedule
(schedule:, cron syntax or @every; default @every 1h), after a random delay of
up to jitter:, it audits every zone (so stale detection has fresh evidence)
and then applies, like srvctl audit followed by srvctl apply. One run at a
time: a tick that comes while a run is busy is skipped and counted.

SIGHUP reloads the config (an invalid one is logged and counted, and the old
one keeps running). SIGTERM or SIGINT stops scheduling, lets the zones in
flight finish, and exits 0. With listen: set, it serves /metrics
(Prometheus), /healthz and /readyz on that address.

--once does one run and exits: 0 when every zone is in the desired state and
the probe history was saved, 1 otherwise. This is what srvctl-apply.timer
runs.`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.BoolVar(&o.once, "once", false, "one run, then exit")
	f.StringVar(&o.prometheusFile, "prometheus-file", "", "after each run, write its figures to this node_exporter textfile (atomically)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return g.runController(cmd, o) }
	return cmd
}

func (g *globals) runController(cmd *cobra.Command, o *runOptions) error {
	// SIGHUP's default action kills the process: take it over before
	// anything else, so a reload sent while srvctl starts is not fatal. A
	// one-shot has nothing to reload and ignores it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, log, err := g.load(cmd, false)
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	defer log.Sync()
	first := cfg
	metrics := controller.NewMetrics(controller.MetricsOptions{Version: version, Process: !o.once})
	c, err := controller.New(controller.Options{
		Load: func() (*config.Config, error) {
			if first != nil {
				cfg := first
				first = nil
				return cfg, nil
			}
			return g.loadConfig(cmd, false)
		},
		Logger:  log,
		Metrics: metrics,
		OnConfig: func(cfg *config.Config) {
			if err := setLevel(g.level, cfg.LogLevel); err != nil {
				log.Warn("log level not changed", zap.Error(err))
			}
		},
		AfterRun: func(*controller.Result) {
			if o.prometheusFile == "" || o.once {
				return // --once writes it below, and fails if it cannot
			}
			if err := metrics.WriteFile(o.prometheusFile); err != nil {
				log.Error("metrics textfile not written", zap.Error(err))
			}
		},
	})
	if err != nil {
		return &exitStatus{code: exitError, err: err}
	}
	ctx := cmd.Context()

	if o.once {
		res := c.RunOnce(ctx)
		if o.prometheusFile != "" {
			if err := metrics.WriteFile(o.prometheusFile); err != nil {
				return &exitStatus{code: exitError, err: err}
			}
		}
		if res == nil || !res.OK() {
			why := "skipped"
			if res != nil {
				why = res.Summary()
			}
			return &exitStatus{code: exitError, err: fmt.Errorf("the run failed: %s", why)}
		}
		return nil
	}

	if addr := c.Config().Listen; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return &exitStatus{code: exitError, err: fmt.Errorf("listen %s: %w", addr, err)}
		}
		srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(log.Named("http"))}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", zap.Error(err))
			}
		}()
		if ip := net.ParseIP(hostOf(ln.Addr().String())); ip != nil && !ip.IsLoopback() {
			log.Warn("serving /metrics beyond loopback: anyone who reaches the address sees the zone names", zap.String("listen", ln.Addr().String()))
		}
		log.Info("serving /metrics, /healthz and /readyz", zap.String("listen", ln.Addr().String()))
	}

	stopped := make(chan error, 1)
	go func() { stopped <- c.Run(ctx) }()
	for {
		select {
		case <-hup:
			log.Info("SIGHUP: reloading the config")
			_ = c.Reload() // logged and counted
		case err := <-stopped:
			if err != nil {
				return &exitStatus{code: exitError, err: err}
			}
			return nil
		case <-ctx.Done():
			select {
			case err := <-stopped:
				if err != nil {
					return &exitStatus{code: exitError, err: err}
				}
				return nil
			case <-time.After(stopTimeout):
				return &exitStatus{code: exitError, err: fmt.Errorf("stopped after waiting %s for the zones in flight; they may still be applied", stopTimeout)}
			}
		}
	}
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
