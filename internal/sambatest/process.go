package sambatest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/miekg/dns"
)

// process is one `samba -i -M single` and what it was started with.
type process struct {
	conf  []string // Options.Conf
	cmd   *exec.Cmd
	stdin io.WriteCloser // samba -i exits when this is closed
	addr  string
	log   string        // path of samba.log
	done  chan struct{} // closed when the process has exited
	err   error         // cmd.Wait's result, set before done is closed
}

// start takes a pool address and a DNS port, writes the DC's TLS files,
// smb.conf and krb5.conf, and runs samba until it answers on every
// service, or fails with the tail of its log.
func (dc *DC) start() (err error) {
	addr, lock, err := acquireAddr()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, releaseAddr(lock))
		}
	}()
	port, err := freePort(addr)
	if err != nil {
		return err
	}
	dc.setAddr(addr, port)
	if err := writeTLS(filepath.Join(dc.Dir, "tls"), dc.HostName, addr); err != nil {
		return err
	}
	if err := dc.writeConfs(); err != nil {
		return err
	}
	if err := dc.proc.run(dc); err != nil {
		return err
	}
	dc.addrLock = lock
	return nil
}

// run starts samba with the DC's smb.conf and waits until it is ready.
func (p *process) run(dc *DC) error {
	samba, err := findBinary("samba")
	if err != nil {
		return err
	}
	p.addr = dc.Addr
	p.log = filepath.Join(dc.Dir, "samba.log")
	logf, err := os.Create(p.log)
	if err != nil {
		return fmt.Errorf("sambatest: %w", err)
	}
	defer logf.Close() // samba has its own copy of the descriptor
	// -i: stay in the foreground, log to stdout, and exit on EOF on
	// stdin, which is a pipe only this process writes to: if the test
	// binary dies, samba goes too. -M single: one process.
	cmd := exec.Command(samba, "-i", "-M", "single", "-s", dc.smbConfPath())
	cmd.Dir = dc.Dir
	cmd.Env = toolEnv(nil)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("sambatest: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sambatest: starting %s: %w", samba, err)
	}
	p.cmd, p.stdin, p.done = cmd, stdin, make(chan struct{})
	// The only goroutine that outlives its function: it reaps samba, and
	// process.stop waits for it.
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(dc); err != nil {
		err = fmt.Errorf("%w\nsamba.log (%s), last lines:\n%s", err, p.log, logTail(p.log, 30))
		if !p.exited() {
			err = errors.Join(err, p.stop())
		}
		return err
	}
	return nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop closes samba's stdin and sends SIGTERM to its process group, kills
// the group if samba has not exited after stopTimeout, waits for it, and
// kills whatever is left in the group.
func (p *process) stop() error {
	if p.exited() {
		killGroup(p.cmd.Process.Pid)
		return fmt.Errorf("samba on %s had exited before Stop (%v):\n%s", p.addr, p.err, logTail(p.log, 20))
	}
	_ = p.stdin.Close()
	termGroup(p.cmd.Process.Pid)
	var err error
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		err = fmt.Errorf("samba on %s ignored SIGTERM for %v and was killed:\n%s", p.addr, stopTimeout, logTail(p.log, 20))
	}
	killGroup(p.cmd.Process.Pid)
	<-p.done
	return err
}

// waitReady polls until samba answers on every service the tests use, or
// startTimeout has passed, or samba has exited.
func (p *process) waitReady(dc *DC) error {
	deadline := time.Now().Add(startTimeout)
	tlsConf, err := dc.TLSConfig()
	if err != nil {
		return err
	}
	for {
		err := probe(dc, tlsConf)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sambatest: samba on %s not ready after %v: %w", dc.Addr, startTimeout, err)
		}
		select {
		case <-p.done:
			return fmt.Errorf("sambatest: samba on %s exited during start-up (%v)", dc.Addr, p.err)
		case <-time.After(pollInterval):
		}
	}
}

// probe checks each service once: the RPC endpoint mapper and the KDC
// accept TCP connections, the rootDSE is readable over LDAP, a TLS
// handshake on LDAPS verifies against the CA, and DNS answers the zone's
// SOA with authority.
func probe(dc *DC, tlsConf *tls.Config) error {
	d := net.Dialer{Timeout: time.Second}
	for _, port := range []string{"135", "88"} {
		c, err := d.Dial("tcp", net.JoinHostPort(dc.Addr, port))
		if err != nil {
			return err
		}
		c.Close()
	}
	l, err := ldap.DialURL(dc.LDAPURL, ldap.DialWithDialer(&d))
	if err != nil {
		return err
	}
	l.SetTimeout(time.Second)
	_, err = l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext"}, nil))
	l.Close()
	if err != nil {
		return err
	}
	tc, err := tls.DialWithDialer(&d, "tcp", net.JoinHostPort(dc.Addr, "636"), tlsConf)
	if err != nil {
		return err
	}
	tc.Close()
	m := new(dns.Msg)
	m.SetQuestion(dc.Zone, dns.TypeSOA)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, _, err := (&dns.Client{Net: "tcp", Timeout: time.Second}).ExchangeContext(ctx, m, dc.DNSAddr)
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		return fmt.Errorf("SOA %s: %s, authoritative %v", dc.Zone, dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	return nil
}

// freePort returns a port free on addr for both TCP and UDP, for samba's
// DNS server. Both are closed before it returns: another process could
// take it before samba binds it, and then the readiness probe fails.
func freePort(addr string) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp4", net.JoinHostPort(addr, "0"))
		if err != nil {
			return 0, fmt.Errorf("sambatest: finding a free port on %s: %w", addr, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, uerr := net.ListenPacket("udp4", net.JoinHostPort(addr, strconv.Itoa(port)))
		if uerr == nil {
			uerr = u.Close()
		}
		if err := l.Close(); err != nil {
			return 0, fmt.Errorf("sambatest: finding a free port on %s: %w", addr, err)
		}
		if uerr == nil {
			return port, nil
		}
	}
	return 0, fmt.Errorf("sambatest: no port free for both TCP and UDP on %s in 20 tries", addr)
}
