package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
)

// DCE/RPC connection-oriented PDUs (C706 chapter 12, MS-RPCE 2.2.2).
const (
	ptypeFault   = 3
	ptypeBind    = 11
	ptypeBindAck = 12
	ptypeBindNak = 13

	pfcFirstFrag = 0x01
	pfcLastFrag  = 0x02

	// drepLE is packed_drep's first octet: little-endian integers, ASCII.
	drepLE = 0x10

	headerLen = 16
	bindLen   = 72
	// maxFrag is max_xmit_frag and max_recv_frag in the bind, as Windows
	// clients send them; no reply may be longer.
	maxFrag = 5840
)

// The interface and transfer syntax the bind names, in their text form.
const (
	kmsInterfaceUUID = "51c82175-844e-4750-b0d8-ec255555bc06" // KMS, version 1.0
	ndrUUID          = "8a885d04-1ceb-11c9-9fe8-08002b104860" // NDR, version 2
)

var (
	kmsInterface = uuidWire(kmsInterfaceUUID)
	ndrSyntax    = uuidWire(ndrUUID)
)

// uuidWire returns the wire form of a UUID (DCE little-endian: time_low,
// time_mid and time_hi_and_version byte-swapped, the rest as written). It
// panics on a malformed constant.
func uuidWire(s string) [16]byte {
	var be [16]byte
	hex := strings.ReplaceAll(s, "-", "")
	if len(s) != 36 || len(hex) != 32 {
		panic("probe: malformed UUID " + s)
	}
	for i := range be {
		if _, err := fmt.Sscanf(hex[2*i:2*i+2], "%02x", &be[i]); err != nil {
			panic("probe: malformed UUID " + s)
		}
	}
	var u [16]byte
	binary.LittleEndian.PutUint32(u[0:], binary.BigEndian.Uint32(be[0:]))
	binary.LittleEndian.PutUint16(u[4:], binary.BigEndian.Uint16(be[4:]))
	binary.LittleEndian.PutUint16(u[6:], binary.BigEndian.Uint16(be[6:]))
	copy(u[8:], be[8:])
	return u
}

// bindPDU is the 72-octet bind a KMS client sends first: one presentation
// context, the KMS interface 1.0 with the NDR transfer syntax 2.
func bindPDU(callID uint32) []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, bindLen)
	b = append(b, 5, 0)                     // rpc_vers 5, rpc_vers_minor 0
	b = append(b, ptypeBind)                // PTYPE
	b = append(b, pfcFirstFrag|pfcLastFrag) // pfc_flags
	b = append(b, drepLE, 0, 0, 0)          // packed_drep
	b = le.AppendUint16(b, bindLen)         // frag_length
	b = le.AppendUint16(b, 0)               // auth_length
	b = le.AppendUint32(b, callID)          // call_id
	b = le.AppendUint16(b, maxFrag)         // max_xmit_frag
	b = le.AppendUint16(b, maxFrag)         // max_recv_frag
	b = le.AppendUint32(b, 0)               // assoc_group_id: a new group
	b = append(b, 1, 0, 0, 0)               // n_context_elem, 3 reserved
	b = le.AppendUint16(b, 0)               // p_cont_id
	b = append(b, 1, 0)                     // n_transfer_syn, reserved
	b = append(b, kmsInterface[:]...)       // abstract syntax
	b = le.AppendUint16(b, 1)               // its version: major 1
	b = le.AppendUint16(b, 0)               // minor 0
	b = append(b, ndrSyntax[:]...)          // transfer syntax
	return le.AppendUint32(b, 2)            // its version 2
}

// probeAddr probes one address: connect, then (ModeKMS) the bind and its
// reply, each step within p.timeout.
func (p *Prober) probeAddr(ctx context.Context, ap netip.AddrPort) AddrResult {
	out := AddrResult{Addr: ap.Addr()}
	start := time.Now()
	verdict := func(s Status, detail string) AddrResult {
		out.Status, out.Detail, out.Latency = s, detail, time.Since(start)
		return out
	}

	dctx, cancel := context.WithTimeout(ctx, p.timeout)
	conn, err := p.dialer.DialContext(dctx, "tcp", ap.String())
	if err != nil {
		s, d := p.failure(ctx, dctx, err, "no connection", 0)
		cancel()
		return verdict(s, d)
	}
	cancel()
	defer conn.Close()
	if p.mode == ModeTCP {
		return verdict(StatusOpen, "")
	}

	bctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	release := closeOnDone(bctx, conn)
	defer release()
	if d, ok := bctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	callID := p.callID.Add(1)
	if _, err := conn.Write(bindPDU(callID)); err != nil {
		s, d := p.failure(ctx, bctx, err, "could not send the bind", 0)
		return verdict(s, d)
	}
	s, d, n, err := readReply(conn, callID)
	if err != nil {
		s, d = p.failure(ctx, bctx, err, "no reply to the bind", n)
	}
	return verdict(s, d)
}

// failure classifies a network error of one step of a probe. ctx is the
// caller's context, step the step's (with p.timeout); what names the step
// for a timeout; received counts the octets of a partial reply.
func (p *Prober) failure(ctx, step context.Context, err error, what string, received int) (Status, string) {
	switch {
	case ctx.Err() != nil:
		return StatusCanceled, "canceled: " + context.Cause(ctx).Error()
	case errors.Is(step.Err(), context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		d := fmt.Sprintf("%s within %v", what, p.timeout)
		if received > 0 {
			d += fmt.Sprintf(" (an incomplete reply of %d bytes)", received)
		}
		return StatusTimeout, d
	case errors.Is(err, syscall.ECONNREFUSED):
		return StatusRefused, "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return StatusRefused, "connection reset"
	default:
		return StatusUnreachable, netError(err).Error()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// netError reduces a network error to its system error ("no route to
// host") when it has one, dropping the operation and addresses the caller
// already names.
func netError(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// readReply reads the reply to the bind with callID until it can be
// judged: the first octets when they are not DCE/RPC, else one whole PDU.
// err is a network error (a timeout, a reset) before a verdict; n the
// octets read by then.
func readReply(r io.Reader, callID uint32) (s Status, detail string, n int, err error) {
	buf := make([]byte, 0, maxFrag)
	for {
		m, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if s, detail, ok := judge(buf, callID); ok {
			return s, detail, len(buf), nil
		}
		switch {
		case rerr == io.EOF && len(buf) == 0:
			return StatusNotKMS, "closed without reply", 0, nil
		case rerr == io.EOF:
			return StatusNotKMS, fmt.Sprintf("closed after an incomplete DCE/RPC reply of %d bytes", len(buf)), len(buf), nil
		case rerr != nil:
			return "", "", len(buf), rerr
		}
	}
}

// judge decides on the reply so far: ok is false while more octets are
// needed.
func judge(b []byte, callID uint32) (s Status, detail string, ok bool) {
	switch {
	case len(b) == 0:
		return "", "", false
	case b[0] != 5 || len(b) >= 2 && b[1] > 1:
		return StatusNotKMS, "not DCE/RPC, starts with " + quoteStart(b), true
	case len(b) < headerLen:
		return "", "", false
	}
	var order binary.ByteOrder = binary.BigEndian
	if b[4]&0xf0 == drepLE {
		order = binary.LittleEndian
	}
	n := int(order.Uint16(b[8:]))
	switch {
	case n < headerLen || n > maxFrag:
		return StatusNotKMS, fmt.Sprintf("malformed DCE/RPC reply: frag_length %d", n), true
	case len(b) < n:
		return "", "", false
	}
	s, detail = parsePDU(b[:n], order, callID)
	return s, detail, true
}

// quoteStart quotes the first line of b, at most 32 octets of it.
func quoteStart(b []byte) string {
	if i := strings.IndexAny(string(b), "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) > 32 {
		return fmt.Sprintf("%q...", b[:32])
	}
	return fmt.Sprintf("%q", b)
}

// parsePDU judges one whole DCE/RPC PDU sent in reply to the bind.
func parsePDU(b []byte, order binary.ByteOrder, callID uint32) (Status, string) {
	ptype := b[2]
	if got := order.Uint32(b[12:]); ptype != ptypeFault && got != callID {
		return StatusNotKMS, fmt.Sprintf("%s for call_id %d, not the bind's %d", ptypeName(ptype), got, callID)
	}
	switch ptype {
	case ptypeBindAck:
		return parseBindAck(b, order)
	case ptypeBindNak:
		if len(b) < headerLen+2 {
			return StatusNotKMS, "bind_nak without a reason"
		}
		reason := order.Uint16(b[headerLen:])
		return StatusNotKMS, fmt.Sprintf("bind_nak reason %d (%s)", reason, lookup(rejectReasons, reason))
	case ptypeFault:
		if len(b) < 28 {
			return StatusNotKMS, "fault without a status"
		}
		return StatusNotKMS, fmt.Sprintf("fault, status %#08x", order.Uint32(b[24:]))
	default:
		return StatusNotKMS, "unexpected DCE/RPC reply: " + ptypeName(ptype)
	}
}

// parseBindAck reads the first presentation context result of a bind_ack:
// after the header, max_xmit_frag, max_recv_frag, assoc_group_id, the
// secondary address (length, octets), padding to 4 octets, then n_results,
// 3 reserved, and per result: result, reason, transfer syntax (20 octets).
func parseBindAck(b []byte, order binary.ByteOrder) (Status, string) {
	const secAddrAt = headerLen + 8
	if len(b) < secAddrAt+2 {
		return StatusNotKMS, fmt.Sprintf("bind_ack truncated (%d bytes)", len(b))
	}
	off := secAddrAt + 2 + int(order.Uint16(b[secAddrAt:]))
	off = (off + 3) &^ 3
	if len(b) < off+4 || b[off] == 0 {
		return StatusNotKMS, "bind_ack without a result"
	}
	off += 4
	if len(b) < off+24 {
		return StatusNotKMS, fmt.Sprintf("bind_ack truncated (%d bytes)", len(b))
	}
	result, reason := order.Uint16(b[off:]), order.Uint16(b[off+2:])
	if result == 0 {
		return StatusKMS, ""
	}
	return StatusNotKMS, fmt.Sprintf("bind_ack rejected: %s, %s", lookup(contextResults, result), lookup(providerReasons, reason))
}

var ptypes = map[uint16]string{
	0: "request", 2: "response", 3: "fault", 11: "bind", 12: "bind_ack", 13: "bind_nak",
	14: "alter_context", 15: "alter_context_resp", 16: "auth3", 17: "shutdown", 18: "co_cancel", 19: "orphaned",
}

func ptypeName(t byte) string {
	if s, ok := ptypes[uint16(t)]; ok {
		return s
	}
	return fmt.Sprintf("packet type %d", t)
}

// contextResults are p_cont_def_result_t (C706 12.6.3.1).
var contextResults = map[uint16]string{
	0: "acceptance", 1: "user rejection", 2: "provider rejection", 3: "negotiate_ack",
}

// providerReasons are p_provider_reason_t (C706 12.6.3.1).
var providerReasons = map[uint16]string{
	0: "reason not specified",
	1: "abstract syntax not supported",
	2: "proposed transfer syntaxes not supported",
	3: "local limit exceeded",
}

// rejectReasons are the bind_nak reasons (C706 12.6.3.1, MS-RPCE 2.2.2.5).
var rejectReasons = map[uint16]string{
	0: "reason not specified",
	1: "temporary congestion",
	2: "local limit exceeded",
	3: "called presentation address unknown",
	4: "protocol version not supported",
	5: "default context not supported",
	6: "user data not readable",
	7: "no presentation service access point available",
	8: "authentication type not recognized",
	9: "invalid checksum",
}

func lookup(m map[uint16]string, v uint16) string {
	if s, ok := m[v]; ok {
		return s
	}
	return fmt.Sprintf("code %d", v)
}
