package rfc2136

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/srvctl/srvctl/publisher/gsstsig"
)

// pool keeps idle TCP connections to one server for reuse. Each exchange
// frames and signs its messages itself, so no TSIG state is carried from one
// exchange to the next (miekg/dns's Conn would chain the signatures).
type pool struct {
	addr string
	idle chan net.Conn
}

func newPool(addr string, size int) *pool {
	return &pool{addr: addr, idle: make(chan net.Conn, size)}
}

// get returns an idle connection (reused = true) or dials a new one; with
// fresh it always dials.
func (p *pool) get(ctx context.Context, dialer *net.Dialer, fresh bool) (c net.Conn, reused bool, err error) {
	if !fresh {
		select {
		case c := <-p.idle:
			return c, true, nil
		default:
		}
	}
	c, err = dialer.DialContext(ctx, "tcp", p.addr)
	return c, false, err
}

// put returns a healthy connection to the pool, or closes it if the pool is
// full.
func (p *pool) put(c net.Conn) {
	select {
	case p.idle <- c:
	default:
		c.Close()
	}
}

func (p *pool) close() {
	for {
		select {
		case c := <-p.idle:
			c.Close()
		default:
			return
		}
	}
}

// pools maps server addresses to their pools.
type pools struct {
	mu   sync.Mutex
	size int
	m    map[string]*pool
}

func (ps *pools) get(addr string) *pool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = make(map[string]*pool)
	}
	p, ok := ps.m[addr]
	if !ok {
		p = newPool(addr, ps.size)
		ps.m[addr] = p
	}
	return p
}

func (ps *pools) close() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.m {
		p.close()
	}
	ps.m = nil
}

// answer is a reply read off the wire, with its raw form for TSIG checks.
type answer struct {
	msg *dns.Msg
	raw []byte
	mac string              // MAC of the signed request, to verify the answer against
	sc  *gsstsig.SecContext // the GSS-TSIG context that signed the request, if any
	// principal is the account sc signs as, for messages.
	principal string
}

// exchange sends the already packed requests on one connection (pipelined)
// and returns their answers matched by message ID, in request order. A
// reused connection that turns out to be closed by the server (it sat idle
// longer than the server's idle timeout) is replaced by a newly dialled one
// once, and the other idle connections, as old, are dropped.
func (b *Backend) exchange(ctx context.Context, addr string, ids []uint16, wires [][]byte) ([]answer, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	p := b.pools.get(addr)
	for try := 0; ; try++ {
		c, reused, err := p.get(ctx, &b.dialer, try > 0)
		if err != nil {
			return nil, err
		}
		answers, err := roundTrip(ctx, c, ids, wires)
		if err == nil {
			p.put(c)
			return answers, nil
		}
		c.Close()
		if reused && try == 0 && staleConn(err) {
			p.close()
			continue
		}
		return nil, err
	}
}

// staleConn reports whether err is what a connection the server closed
// while it sat idle looks like.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func roundTrip(ctx context.Context, c net.Conn, ids []uint16, wires [][]byte) ([]answer, error) {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	// Give up at once when the context is cancelled, not only at the deadline.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var out []byte
	for _, w := range wires {
		out = binary.BigEndian.AppendUint16(out, uint16(len(w)))
		out = append(out, w...)
	}
	if _, err := c.Write(out); err != nil {
		return nil, connErr(ctx, err)
	}
	answers := make([]answer, len(ids))
	for range ids {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return nil, connErr(ctx, err)
		}
		raw := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, raw); err != nil {
			return nil, connErr(ctx, err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(raw); err != nil {
			return nil, fmt.Errorf("malformed answer: %w", err)
		}
		i := indexOf(ids, m.Id)
		if i < 0 || answers[i].msg != nil {
			return nil, fmt.Errorf("answer with unexpected message ID %d", m.Id)
		}
		answers[i] = answer{msg: m, raw: raw}
	}
	return answers, nil
}

func indexOf(ids []uint16, id uint16) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// connErr turns a deadline into a timeout error the caller can recognise.
func connErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errTimeout
		}
		return ctx.Err()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errTimeout
	}
	return err
}

var errTimeout = errors.New("timeout")
