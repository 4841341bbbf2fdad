package bindtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// startError is why an attempt to start named failed, when another
// attempt may help.
type startError string

func (e startError) Error() string { return string(e) }

const (
	// errPortTaken: named could not bind the port, or another named
	// shares it (SO_REUSEPORT) and answers some of the queries.
	errPortTaken = startError("port taken")
	// errDenied: named could not read its configuration, as when AppArmor
	// confines /usr/sbin/named to /etc/bind and /var/cache/bind.
	errDenied = startError("permission denied")
)

// Readiness polling.
const (
	pollInterval  = 20 * time.Millisecond
	probeTimeout  = time.Second
	probeWorkers  = 16 // concurrent SOA probes while waiting for zones
	sentinelTries = 8  // sentinel queries per transport from fresh sockets
)

// freePort returns a port that is free on 127.0.0.1 for both TCP and UDP:
// bound for TCP by the kernel's choice, then bound for UDP too. Both are
// closed before it returns, so another process may still take the port
// before named binds it; the sentinel check catches that.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("bindtest: finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, uerr := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if uerr == nil {
			uerr = u.Close()
		}
		if err := l.Close(); err != nil {
			return 0, fmt.Errorf("bindtest: finding a free port: %w", err)
		}
		if uerr == nil {
			return port, nil
		}
	}
	return 0, errors.New("bindtest: no port free for both TCP and UDP on 127.0.0.1 in 20 tries")
}

// startNamed runs named on port and waits until it serves every zone of
// cfg, or fails with the tail of named.log.
func startNamed(cfg *layout, named string, port int, deadline time.Time) (*process, error) {
	ctlPort := 0
	if cfg.rndc {
		var err error
		for ctlPort == 0 || ctlPort == port {
			if ctlPort, err = freePort(); err != nil {
				return nil, err
			}
		}
	}
	if err := cfg.writeConf(port, ctlPort); err != nil {
		return nil, err
	}
	logf, err := os.Create(cfg.logFile())
	if err != nil {
		return nil, fmt.Errorf("bindtest: %w", err)
	}
	defer logf.Close() // named has its own copy of the descriptor
	cmd := exec.Command(named, "-g", "-4", "-c", cfg.confFile(), "-p", strconv.Itoa(port))
	cmd.Dir = cfg.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bindtest: starting %s: %w", named, err)
	}
	p := &process{
		cmd:  cmd,
		port: port,
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		log:  cfg.logFile(),
		done: make(chan struct{}),
	}
	// The only goroutine that outlives its function: it reaps named, and
	// process.stop waits for it.
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(cfg, deadline); err != nil {
		err = fmt.Errorf("%w\nnamed.log (%s), last lines:\n%s", err, cfg.logFile(), logTail(cfg.logFile(), 25))
		if !p.exited() {
			err = errors.Join(err, p.stop())
		}
		return nil, err
	}
	return p, nil
}

// waitReady waits for named's "running" log line, then checks that it
// answers for the sentinel zone (so it is this instance: a named that
// shares the port answers REFUSED) and SOA with NOERROR and AA for every
// zone, and finally asks for the sentinel again from many sockets to catch
// another named that got only some of the first queries.
func (p *process) waitReady(cfg *layout, deadline time.Time) error {
	pending := cfg.zones()
	ours := false
	for {
		running, err := p.checkLog()
		if err != nil {
			return err
		}
		if running && !ours {
			if ours, err = p.probeSentinel(cfg.sentinel, 1); err != nil {
				return err
			}
		}
		if ours {
			if pending = p.probeZones(pending); len(pending) == 0 {
				all, err := p.probeSentinel(cfg.sentinel, sentinelTries)
				if err != nil || all {
					return err
				}
			}
		}
		if time.Now().After(deadline) {
			if !running {
				return fmt.Errorf("bindtest: named on %s not running after %v", p.addr, startTimeout)
			}
			return fmt.Errorf("bindtest: named on %s not ready after %v: %d of %d zones not served, e.g. %s",
				p.addr, startTimeout, len(pending), len(cfg.zones()), pending[0])
		}
		select {
		case <-p.done:
			if _, err := p.checkLog(); err != nil {
				return err
			}
			return fmt.Errorf("bindtest: named exited during start-up (%v)", p.err)
		case <-time.After(pollInterval):
		}
	}
}

// checkLog reads named.log: running is whether named has logged that it
// runs (all zones loaded), err a failure that waiting will not cure.
func (p *process) checkLog() (running bool, err error) {
	log, err := os.ReadFile(p.log)
	if err != nil {
		return false, fmt.Errorf("bindtest: %w", err)
	}
	switch {
	case bytes.Contains(log, []byte("address in use")),
		bytes.Contains(log, []byte("unable to listen on any configured interfaces")):
		return false, fmt.Errorf("bindtest: named cannot bind %s: %w", p.addr, errPortTaken)
	case bytes.Contains(log, []byte("permission denied")) && p.exited():
		return false, fmt.Errorf("bindtest: named cannot read its files (AppArmor?): %w", errDenied)
	case bytes.Contains(log, []byte("not loaded due to errors")):
		return false, errors.New("bindtest: a zone did not load (bad Records?)")
	case bytes.Contains(log, []byte("exiting (due to fatal error")):
		return false, errors.New("bindtest: named failed to start")
	}
	return bytes.Contains(log, []byte(" running\n")), nil
}

// probeSentinel queries the sentinel SOA n times over UDP and n times over
// TCP, each from a fresh socket so that SO_REUSEPORT spreads them over
// every named on the port. It reports whether all were answered by this
// instance; any other answer is errPortTaken, silence is false.
func (p *process) probeSentinel(sentinel string, n int) (bool, error) {
	for _, network := range []string{"udp", "tcp"} {
		for range n {
			ok, answered := p.soa(network, sentinel)
			if !answered {
				return false, nil
			}
			if !ok {
				return false, fmt.Errorf("bindtest: another named answers on %s: %w", p.addr, errPortTaken)
			}
		}
	}
	return true, nil
}

// probeZones queries the SOA of every zone, from probeWorkers UDP sockets
// at once, and returns the zones not served yet.
func (p *process) probeZones(zones []string) []string {
	var (
		mu      sync.Mutex
		pending []string
		next    = make(chan string)
		wg      sync.WaitGroup
	)
	for range min(probeWorkers, len(zones)) {
		wg.Go(func() {
			c := &dns.Client{Net: "udp", Timeout: probeTimeout}
			var conn *dns.Conn
			for z := range next {
				ok := false
				if conn == nil {
					conn, _ = c.Dial(p.addr)
				}
				if conn != nil {
					var answered bool
					ok, answered = exchangeSOA(c, conn, z)
					if !answered { // a late answer could confuse the next query
						conn.Close()
						conn = nil
					}
				}
				if !ok {
					mu.Lock()
					pending = append(pending, z)
					mu.Unlock()
				}
			}
			if conn != nil {
				conn.Close()
			}
		})
	}
	for _, z := range zones {
		next <- z
	}
	close(next)
	wg.Wait()
	return pending
}

// soa queries zone's SOA from a new socket: answered is false when nothing
// came back, ok whether the answer was NOERROR, authoritative, with the
// SOA.
func (p *process) soa(network, zone string) (ok, answered bool) {
	c := &dns.Client{Net: network, Timeout: probeTimeout}
	conn, err := c.Dial(p.addr)
	if err != nil {
		return false, false
	}
	defer conn.Close()
	return exchangeSOA(c, conn, zone)
}

// exchangeSOA queries zone's SOA on conn, like soa.
func exchangeSOA(c *dns.Client, conn *dns.Conn, zone string) (ok, answered bool) {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	m.RecursionDesired = false
	r, _, err := c.ExchangeWithConn(m, conn)
	if err != nil {
		return false, false
	}
	return r.Rcode == dns.RcodeSuccess && r.Authoritative && len(r.Answer) > 0, true
}

// copyBinary copies the executable src to dst, for a named that AppArmor
// does not confine.
func copyBinary(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("bindtest: copying named: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o700)
	if err != nil {
		return "", fmt.Errorf("bindtest: copying named: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", fmt.Errorf("bindtest: copying named: %w", err)
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("bindtest: copying named: %w", err)
	}
	return dst, nil
}
