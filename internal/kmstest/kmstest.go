// Package kmstest runs a KMS responder on loopback for tests, the demo and
// the benchmarks: a real TCP server that speaks just enough connection-
// oriented DCE/RPC (C706 chapter 12) to answer a bind the way a KMS host
// does. It never activates anything.
//
// For every bind it receives it answers a bind_ack: each presentation
// context that names the KMS interface (InterfaceUUID, version 1.0) with
// the NDR transfer syntax is accepted; a context for another interface is
// rejected with provider rejection, abstract syntax not supported; one for
// the KMS interface without NDR with provider rejection, proposed transfer
// syntaxes not supported. A request is answered with a fault (operation
// out of range): the responder implements no operation. The connection
// stays open for further PDUs until the client closes it; anything that
// is not a well-formed bind or request PDU closes it.
//
// This implementation is independent of auditor/probe's on purpose: the
// probe's bytes are checked by a second reading of the same specification.
package kmstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// InterfaceUUID is the KMS RPC interface, version 1.0.
const InterfaceUUID = "51c82175-844e-4750-b0d8-ec255555bc06"

// NDRUUID is the NDR (32-bit) transfer syntax, version 2.
const NDRUUID = "8a885d04-1ceb-11c9-9fe8-08002b104860"

// DCE/RPC connection-oriented packet types and constants (C706 12.6).
const (
	ptypeRequest = 0
	ptypeFault   = 3
	ptypeBind    = 11
	ptypeBindAck = 12

	pfcFirstFrag = 0x01
	pfcLastFrag  = 0x02

	headerLen = 16
	// maxFrag is the largest fragment the responder accepts or sends, as
	// Windows: 5840 octets.
	maxFrag = 5840

	// drepLE is the first octet of packed_drep: little-endian integers,
	// ASCII characters (then IEEE floating point in the next octet, 0).
	drepLE = 0x10

	// Presentation context results and provider reasons.
	resultAcceptance        = 0
	resultProviderRejection = 2
	reasonAbstractSyntax    = 1 // abstract syntax not supported
	reasonTransferSyntaxes  = 2 // proposed transfer syntaxes not supported

	// faultOpRangeError is nca_s_op_rng_error: no such operation.
	faultOpRangeError = 0x1c010002
)

// Server behaviour.
const (
	firstAssocGroup = 0x00015a3c      // association groups are numbered from here
	idleTimeout     = time.Minute     // a connection silent this long is closed
	closeTimeout    = 5 * time.Second // Close reports connections still open after this
)

var (
	kmsInterface = mustUUID(InterfaceUUID)
	ndrSyntax    = mustUUID(NDRUUID)
)

// Server is a running KMS responder. Its methods may be called
// concurrently.
type Server struct {
	Addr string // "127.0.0.1:PORT" (or as Listen was given, with the port chosen)
	Port uint16 // PORT

	ln        net.Listener
	binds     atomic.Int64
	requests  atomic.Int64
	assoc     atomic.Uint32
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closing   bool
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start listens on 127.0.0.1 on a free port and closes the server when the
// test or benchmark ends. A failure to listen is fatal.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("kmstest: %v", err)
		}
	})
	return s
}

// Listen starts a responder on addr ("host:port"; port 0 picks a free
// one), outside a test. The caller must call Close.
//
// The server's goroutines (one accepting, one per connection) outlive
// Listen by design; Close stops and waits for all of them.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("kmstest: listening on %s: %w", addr, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	s := &Server{
		Addr:  ln.Addr().String(),
		Port:  uint16(tcp.Port),
		ln:    ln,
		conns: make(map[net.Conn]struct{}),
	}
	s.assoc.Store(firstAssocGroup)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Binds returns how many bind PDUs the server has answered.
func (s *Server) Binds() int64 { return s.binds.Load() }

// Requests returns how many request PDUs (calls of an operation, such as
// an activation request) the server has received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Close stops listening, closes every open connection and waits for the
// server's goroutines. It is idempotent: later calls return the first
// call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		err := s.ln.Close()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		done := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeTimeout):
			err = errors.Join(err, fmt.Errorf("connections on %s still open %v after Close", s.Addr, closeTimeout))
			<-done
		}
		if err != nil {
			s.closeErr = fmt.Errorf("kmstest: closing %s: %w", s.Addr, err)
		}
	})
	return s.closeErr
}

// accept serves connections until the listener is closed.
func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed by Close
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// serve answers PDUs on c until the client closes it, it sends something
// the responder does not understand, or it stays silent for idleTimeout.
func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	for {
		c.SetDeadline(time.Now().Add(idleTimeout))
		pdu, err := readPDU(c)
		if err != nil {
			return
		}
		var reply []byte
		switch pdu[2] {
		case ptypeBind:
			if reply, err = s.bindAck(pdu); err != nil {
				return
			}
			s.binds.Add(1)
		case ptypeRequest:
			s.requests.Add(1)
			reply = fault(binary.LittleEndian.Uint32(pdu[12:]))
		default:
			return
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}

// readPDU reads one whole PDU: the common header, checked, then the rest
// of frag_length.
func readPDU(r io.Reader) ([]byte, error) {
	hdr := make([]byte, headerLen, maxFrag)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	if err := checkHeader(hdr); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint16(hdr[8:]))
	pdu := hdr[:n]
	if _, err := io.ReadFull(r, pdu[headerLen:]); err != nil {
		return nil, err
	}
	return pdu, nil
}

// checkHeader validates the common header of a PDU the responder accepts:
// version 5.0, little-endian ASCII IEEE data representation, one whole
// fragment, no authentication, and a frag_length between the header's and
// maxFrag.
func checkHeader(h []byte) error {
	le := binary.LittleEndian
	switch n := le.Uint16(h[8:]); {
	case h[0] != 5 || h[1] != 0:
		return fmt.Errorf("RPC version %d.%d, want 5.0", h[0], h[1])
	case h[3]&(pfcFirstFrag|pfcLastFrag) != pfcFirstFrag|pfcLastFrag:
		return fmt.Errorf("pfc_flags %#02x: fragmented PDUs are not supported", h[3])
	case h[4] != drepLE || h[5] != 0:
		return fmt.Errorf("data representation % x: only little-endian ASCII IEEE is supported", h[4:8])
	case n < headerLen || n > maxFrag:
		return fmt.Errorf("frag_length %d out of range [%d, %d]", n, headerLen, maxFrag)
	case le.Uint16(h[10:]) != 0:
		return errors.New("authentication is not supported")
	}
	return nil
}

// presentation context results, one per context of a bind.
type result struct {
	result, reason uint16
	syntax         [16]byte // accepted transfer syntax; zero when rejected
	version        uint32
}

// bindAck parses the bind pdu and builds its bind_ack.
func (s *Server) bindAck(pdu []byte) ([]byte, error) {
	le := binary.LittleEndian
	body := pdu[headerLen:]
	if len(body) < 12 {
		return nil, errors.New("bind too short")
	}
	maxXmit, maxRecv, assoc := le.Uint16(body), le.Uint16(body[2:]), le.Uint32(body[4:])
	n := int(body[8])
	rest := body[12:]
	results := make([]result, 0, n)
	for range n {
		if len(rest) < 24 {
			return nil, errors.New("bind: context list truncated")
		}
		nts := int(rest[2])
		abstract, absVersion := [16]byte(rest[4:20]), le.Uint32(rest[20:])
		rest = rest[24:]
		if len(rest) < 20*nts {
			return nil, errors.New("bind: transfer syntaxes truncated")
		}
		r := result{result: resultProviderRejection, reason: reasonAbstractSyntax}
		if abstract == kmsInterface && absVersion == 1 {
			r.reason = reasonTransferSyntaxes
			for i := range nts {
				ts := rest[20*i:]
				if [16]byte(ts[:16]) == ndrSyntax && le.Uint32(ts[16:]) == 2 {
					r = result{result: resultAcceptance, syntax: ndrSyntax, version: 2}
					break
				}
			}
		}
		results = append(results, r)
		rest = rest[20*nts:]
	}
	if assoc == 0 {
		assoc = s.assoc.Add(1)
	}
	return encodeBindAck(le.Uint32(pdu[12:]), min(maxXmit, maxFrag), min(maxRecv, maxFrag), assoc, strconv.Itoa(int(s.Port)), results), nil
}

// encodeBindAck builds a bind_ack (C706 12.6.4.4): the common header,
// max_xmit_frag, max_recv_frag, assoc_group_id, the secondary address
// (the port as a NUL-terminated decimal string, as Windows sends it),
// padding to a 4-octet boundary, then the result list.
func encodeBindAck(callID uint32, maxXmit, maxRecv uint16, assoc uint32, port string, results []result) []byte {
	le := binary.LittleEndian
	b := header(ptypeBindAck, callID)
	b = le.AppendUint16(b, maxXmit)
	b = le.AppendUint16(b, maxRecv)
	b = le.AppendUint32(b, assoc)
	b = le.AppendUint16(b, uint16(len(port)+1))
	b = append(b, port...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, byte(len(results)), 0, 0, 0)
	for _, r := range results {
		b = le.AppendUint16(b, r.result)
		b = le.AppendUint16(b, r.reason)
		b = append(b, r.syntax[:]...)
		b = le.AppendUint32(b, r.version)
	}
	le.PutUint16(b[8:], uint16(len(b)))
	return b
}

// fault builds a fault PDU (C706 12.6.4.7) with status "operation out of
// range" for the request with callID.
func fault(callID uint32) []byte {
	le := binary.LittleEndian
	b := header(ptypeFault, callID)
	b = le.AppendUint32(b, 0) // alloc_hint
	b = le.AppendUint16(b, 0) // p_cont_id
	b = append(b, 0, 0)       // cancel_count, reserved
	b = le.AppendUint32(b, faultOpRangeError)
	b = le.AppendUint32(b, 0) // reserved
	le.PutUint16(b[8:], uint16(len(b)))
	return b
}

// header starts a PDU of ptype with its common header; frag_length is
// filled in by the caller once the PDU is complete.
func header(ptype byte, callID uint32) []byte {
	b := make([]byte, 0, 128)
	b = append(b, 5, 0, ptype, pfcFirstFrag|pfcLastFrag, drepLE, 0, 0, 0)
	b = binary.LittleEndian.AppendUint16(b, 0) // frag_length, set at the end
	b = binary.LittleEndian.AppendUint16(b, 0) // auth_length
	return binary.LittleEndian.AppendUint32(b, callID)
}

// UUID returns the wire form (DCE little-endian: the first three fields
// byte-swapped) of a UUID in its text form.
func UUID(s string) ([16]byte, error) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("kmstest: %q is not a UUID", s)
	}
	hex := s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	var be [16]byte
	for i := range be {
		v, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		if err != nil {
			return u, fmt.Errorf("kmstest: %q is not a UUID", s)
		}
		be[i] = byte(v)
	}
	binary.LittleEndian.PutUint32(u[0:], binary.BigEndian.Uint32(be[0:]))
	binary.LittleEndian.PutUint16(u[4:], binary.BigEndian.Uint16(be[4:]))
	binary.LittleEndian.PutUint16(u[6:], binary.BigEndian.Uint16(be[6:]))
	copy(u[8:], be[8:])
	return u, nil
}

func mustUUID(s string) [16]byte {
	u, err := UUID(s)
	if err != nil {
		panic(err)
	}
	return u
}
