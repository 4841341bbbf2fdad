package gsstsig

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/miekg/dns"
)

// Answer is a server's answer to a message signed with a security context.
type Answer struct {
	Msg *dns.Msg
	// Verification says how its signature was checked; NotVerified when
	// it was not (Err says why: unsigned, a copy of the request, a TSIG
	// error, a signature that does not match).
	Verification Verification
	// Err is why the signature was not verified (ErrUnsigned, a
	// *TSIGError, a signature that does not match); nil when it was.
	Err error
}

// Exchange signs m with the context, sends it to the context's server over
// a new TCP connection (within the negotiator's Timeout and ctx), and
// returns the answer with the outcome of its verification. It is the
// simple way to talk to the server; a backend with its own connections
// uses Sign and VerifyAnswer. The error is for a failure to get an answer
// at all; an answer whose signature does not verify comes back with
// Answer.Err set.
func (c *SecContext) Exchange(ctx context.Context, m *dns.Msg) (*Answer, error) {
	if m.Id == 0 {
		m.Id = dns.Id()
	}
	wire, mac, err := c.Sign(m)
	if err != nil {
		return nil, fmt.Errorf("signing the message to %s with %s: %w", c.server, c.name, err)
	}
	raw, msg, err := exchange(ctx, &net.Dialer{}, c.timeout, c.server, m.Id, wire)
	if err != nil {
		return nil, err
	}
	a := &Answer{Msg: msg}
	a.Verification, a.Err = c.VerifyAnswer(raw, mac)
	return a, nil
}

// exchange sends wire, a message with ID id, to addr over a new TCP
// connection and returns the raw answer and its unpacked form.
func exchange(ctx context.Context, dialer *net.Dialer, timeout time.Duration, addr string, id uint16, wire []byte) ([]byte, *dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, connErr(ctx, addr, timeout, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(wire)), uint16(len(wire)))
	if _, err := c.Write(append(out, wire...)); err != nil {
		return nil, nil, connErr(ctx, addr, timeout, err)
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, nil, connErr(ctx, addr, timeout, err)
	}
	raw := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, raw); err != nil {
		return nil, nil, connErr(ctx, addr, timeout, err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(raw); err != nil {
		return nil, nil, fmt.Errorf("malformed answer from %s: %w", addr, err)
	}
	if m.Id != id {
		return nil, nil, fmt.Errorf("answer from %s with message ID %d, want %d", addr, m.Id, id)
	}
	return raw, m, nil
}

// connErr names the server and says "timeout" for a deadline.
func connErr(ctx context.Context, addr string, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%s: timeout: no answer within %s", addr, timeout)
		}
		return fmt.Errorf("%s: %w", addr, ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: timeout: no answer within %s", addr, timeout)
	}
	return fmt.Errorf("%s: %w", addr, err)
}
