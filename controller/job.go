// Package controller is srvctl's unit of scheduled work and the schedule
// around it. A [Job], built from a config, audits every zone (so that stale
// detection has fresh evidence), records the probe history, and then plans
// and applies; a [Controller] runs jobs on the config's cron schedule, one
// at a time, reloads the config on request, and serves the figures of its
// runs as Prometheus metrics with health and readiness endpoints.
//
// The builders the one-shot commands share with it live here too:
// [Backends], [NewAuditor] and [StalePolicy].
package controller

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/srvctl/srvctl/auditor"
	"github.com/srvctl/srvctl/auditor/ad"
	"github.com/srvctl/srvctl/auditor/dnsview"
	"github.com/srvctl/srvctl/auditor/probe"
	"github.com/srvctl/srvctl/auditor/state"
	"github.com/srvctl/srvctl/config"
	"github.com/srvctl/srvctl/publisher"
	"github.com/srvctl/srvctl/publisher/bindfile"
	"github.com/srvctl/srvctl/publisher/gsstsig"
	"github.com/srvctl/srvctl/publisher/rfc2136"
	"github.com/srvctl/srvctl/zones"
)

// ForgetAfter is how long the probe history keeps a target that no zone
// names any more (at least three times audit.stale_after).
const ForgetAfter = 30 * 24 * time.Hour

// Backends builds the publishing backends of the config's zones, keyed by
// backend name as publisher.Options wants them. close releases their
// connections and deletes the GSS-TSIG contexts on the servers (an error
// says which could not be deleted; they expire there).
func Backends(cfg *config.Config) (backends map[string]publisher.Backend, close func() error, err error) {
	keys := make(map[string]*rfc2136.Key, len(cfg.Keys))
	for _, k := range cfg.Keys {
		if k.SecretFile == "" {
			continue // a KMS host's own key, named only in named.conf grants
		}
		key, err := rfc2136.NewKey(k.Name, k.Algorithm, k.Secret.Reveal())
		if err != nil {
			return nil, nil, err
		}
		keys[k.Name] = key
	}
	dyn := make(map[string]rfc2136.Zone, len(cfg.Zones))
	files := make(map[string]bindfile.Zone)
	for _, z := range cfg.Zones {
		switch z.Backend {
		case config.DefaultBackend:
			zc := rfc2136.Zone{Server: z.Server, Key: keys[z.Key]}
			if k := z.Kerberos; z.Auth == config.AuthGSSTSIG && k != nil {
				host := k.ServerName
				if host == "" {
					host, _, _ = net.SplitHostPort(z.Server)
				}
				zc.Key = nil
				zc.GSS = &rfc2136.GSS{HostName: host, Credentials: gsstsig.Credentials{
					Realm: k.Realm, Principal: k.Principal, Keytab: k.Keytab, CCache: k.CCache,
					Password: gsstsig.Secret(k.Password.Reveal()), Krb5Conf: k.Krb5Conf,
				}}
			}
			dyn[z.Name] = zc
		case config.BindfileBackend:
			files[z.Name] = bindfile.Zone{File: z.File, ZoneFile: z.ZoneFile, Check: z.CheckCommand, Reload: z.ReloadCommand}
		}
	}
	source, err := filepath.Abs(cfg.Path)
	if err != nil {
		source = cfg.Path
	}
	bf, err := bindfile.New(bindfile.Options{Zones: files, Source: source})
	if err != nil {
		return nil, nil, err
	}
	rb := rfc2136.New(rfc2136.Options{Zones: dyn, Timeout: cfg.Timeout, MaxIdle: cfg.Concurrency})
	return map[string]publisher.Backend{config.DefaultBackend: rb, config.BindfileBackend: bf}, rb.Close, nil
}

// NewAuditor builds the auditor the config's audit section describes.
func NewAuditor(cfg *config.Config, log *zap.Logger) (*auditor.Auditor, error) {
	// The prober settles the resolver (audit.resolver, else the first
	// nameserver of /etc/resolv.conf, read once); the viewer asks the same.
	prober, err := probe.New(probe.Options{Resolver: cfg.Audit.Resolver, Timeout: cfg.Audit.Timeout, Mode: probe.Mode(cfg.Audit.Probe), Concurrency: 2 * cfg.Concurrency})
	if err != nil {
		return nil, fmt.Errorf("audit.resolver: %w", err)
	}
	viewer, err := dnsview.New(dnsview.Options{Resolver: prober.Resolver(), Timeout: cfg.Audit.Timeout, Concurrency: 4 * cfg.Concurrency})
	if err != nil {
		return nil, fmt.Errorf("audit.resolver: %w", err)
	}
	severity := make(map[auditor.Kind]auditor.Level, len(cfg.Audit.Severity))
	kinds := auditor.Kinds()
	var probs []string
	adKinds := ad.Kinds()
	for k, v := range cfg.Audit.Severity {
		dnsKind := slices.Contains(kinds, auditor.Kind(k))
		if !dnsKind && !slices.Contains(adKinds, ad.Kind(k)) {
			all := joinKinds(kinds)
			for _, a := range adKinds {
				all += ", " + string(a)
			}
			probs = append(probs, fmt.Sprintf("audit.severity.%s: not a kind of finding (%s)", k, all))
			continue
		}
		lvl, err := auditor.ParseLevel(v)
		if err != nil {
			probs = append(probs, fmt.Sprintf("audit.severity.%s: %v", k, err))
			continue
		}
		if dnsKind {
			severity[auditor.Kind(k)] = lvl
		}
	}
	if len(probs) > 0 {
		slices.Sort(probs)
		return nil, fmt.Errorf("config %s: %s", cfg.Path, strings.Join(probs, "; "))
	}
	return auditor.New(auditor.Options{
		Viewer:   viewer,
		Prober:   prober,
		Policy:   state.Policy{After: cfg.Audit.StaleAfter, Runs: cfg.Audit.StaleRuns},
		Prune:    cfg.Prune,
		Severity: severity,
		Logger:   log.Named("auditor"),
	}), nil
}

func joinKinds(kinds []auditor.Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// AuditRequests returns what the auditor should ask for zs: each zone with
// its configured audit servers.
func AuditRequests(cfg *config.Config, zs []zones.Zone) []auditor.Request {
	servers := make(map[string][]string, len(cfg.Zones))
	for _, z := range cfg.Zones {
		servers[z.Name] = z.AuditServers
	}
	reqs := make([]auditor.Request, len(zs))
	for i, z := range zs {
		reqs[i] = auditor.Request{Zone: z, Servers: servers[z.Name]}
	}
	return reqs
}

// StalePolicy returns the deletion policy of plan and apply: the config's
// prune policy with st's evidence of which targets are stale and which
// answer. A nil st is no evidence: nothing is stale, nothing known live.
func StalePolicy(cfg *config.Config, st *state.State, force bool, now time.Time) zones.Policy {
	pol := zones.Policy{Prune: cfg.Prune, Force: force}
	if st == nil {
		return pol
	}
	sp := state.Policy{After: cfg.Audit.StaleAfter, Runs: cfg.Audit.StaleRuns}
	pol.Stale = func(r zones.Record) (string, bool) {
		v := st.Verdict(state.Key{Host: r.Target, Port: r.Port}, now, sp)
		return v.Reason, v.Stale
	}
	pol.Live = func(r zones.Record) bool {
		v := st.Verdict(state.Key{Host: r.Target, Port: r.Port}, now, sp)
		return v.Known && !v.Failing && !v.Outdated
	}
	return pol
}

// StateHint adds what to do to an error about the state file at path.
func StateHint(err error, path string) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w (create %s writable by srvctl, or set audit.state_file or --state-file)", err, filepath.Dir(path))
	}
	return err
}

// Job is one config's work: audit every zone, then apply. A Job may run
// many times; Close it when it will not run again.
type Job struct {
	cfg      *config.Config
	log      *zap.Logger
	zones    []zones.Zone
	auditor  *auditor.Auditor
	backends map[string]publisher.Backend
	close    func() error

	mu     sync.Mutex
	refs   int  // runs in flight, plus one until Close
	closed bool // Close was called
}

// NewJob builds the job of cfg: its auditor and backends. It fails when
// they cannot be built (a bad resolver or severity, a bindfile zone that
// cannot be set up); it touches no server.
func NewJob(cfg *config.Config, log *zap.Logger) (*Job, error) {
	if log == nil {
		log = zap.NewNop()
	}
	a, err := NewAuditor(cfg, log)
	if err != nil {
		return nil, err
	}
	b, closeBackends, err := Backends(cfg)
	if err != nil {
		return nil, err
	}
	return &Job{cfg: cfg, log: log, zones: cfg.Desired(), auditor: a, backends: b, close: closeBackends, refs: 1}, nil
}

// Config returns the config the job was built from.
func (j *Job) Config() *config.Config { return j.cfg }

// Close releases the job's connections once no run is using them.
func (j *Job) Close() {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return
	}
	j.closed = true
	j.mu.Unlock()
	j.release()
}

func (j *Job) retain() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return false
	}
	j.refs++
	return true
}

func (j *Job) release() {
	j.mu.Lock()
	j.refs--
	last := j.refs == 0
	j.mu.Unlock()
	if last {
		if err := j.close(); err != nil {
			j.log.Warn("GSS-TSIG contexts not deleted on the server (they expire there)", zap.Error(err))
		}
	}
}

// Run audits every zone of the config, records what the probes saw in the
// history (audit.state_file), and then applies with the prune policy that
// the fresh history supports. Cancelling ctx abandons the audit (its
// observations are then not recorded: a cancelled probe is no evidence),
// starts no new zone, and lets the zones whose update was sent finish.
//
// A history that cannot be locked or saved (another srvctl audit holds it,
// a permission problem) is a failure of the run, but the audit and the
// apply still happen, with the history as last saved.
func (j *Job) Run(ctx context.Context) (res Result) {
	if !j.retain() {
		return Result{Start: time.Now(), Failures: []Failure{{Kind: KindInternal, Err: errors.New("the job was closed (config reloaded)")}}}
	}
	defer j.release()

	res.Start = time.Now()
	defer func() { res.Duration = time.Since(res.Start) }()
	cfg := j.cfg
	path := cfg.Audit.StateFile
	var fresh *state.State

	hist, err := state.Lock(path)
	if err != nil {
		res.fail(KindState, "", StateHint(err, path))
		j.log.Error("probe history not updated this run", zap.String("state_file", path), zap.Error(StateHint(err, path)))
		// Judge with the history as last saved (another srvctl audit
		// holds it, say): stale records stay stale in the report.
		var ro auditor.History
		if st, err := state.Load(path); err == nil {
			ro = readOnly{st}
			fresh = st
		}
		res.Report = j.auditor.Audit(ctx, AuditRequests(cfg, j.zones), ro)
	} else {
		res.Report = j.auditor.Audit(ctx, AuditRequests(cfg, j.zones), hist)
		if ctx.Err() == nil {
			hist.Forget(time.Now().Add(-max(ForgetAfter, 3*cfg.Audit.StaleAfter)))
			if err := hist.Save(); err != nil {
				res.fail(KindState, "", err)
				j.log.Error("probe history not saved", zap.String("state_file", path), zap.Error(err))
			}
			fresh = hist.State()
		}
		hist.Close()
	}
	if err := ctx.Err(); err != nil {
		res.Report = nil // half an audit: its figures would mislead
		res.fail(KindInterrupted, "", fmt.Errorf("stopped during the audit: %w", err))
		return res
	}
	for _, z := range res.Report.Zones {
		if z.Level == auditor.Unknown {
			res.AuditUnknown = append(res.AuditUnknown, z.Zone)
		}
	}

	r := publisher.New(publisher.Options{
		Backends:    j.backends,
		Policy:      StalePolicy(cfg, fresh, false, time.Now()),
		MaxDeletes:  cfg.Audit.MaxDeletes,
		Concurrency: cfg.Concurrency,
		Logger:      j.log.Named("publisher"),
	})
	res.addPlans(r.Apply(ctx, j.zones))
	// GSS-TSIG contexts live for one run: delete them on the servers.
	if rb, ok := j.backends[config.DefaultBackend].(*rfc2136.Backend); ok {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*cfg.Timeout) // each account: 2 timeouts
		if err := rb.EndRun(dctx); err != nil {
			j.log.Warn("GSS-TSIG contexts not deleted on the server (they expire there)", zap.Error(err))
		}
		cancel()
	}
	return res
}

// readOnly is a history that is read, not written: the last saved one,
// when another srvctl holds the lock.
type readOnly struct{ st *state.State }

func (readOnly) Record(state.Key, state.Observation) {}
func (r readOnly) State() *state.State               { return r.st }
