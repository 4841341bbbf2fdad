package probe

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Peers: real TCP servers on loopback, each playing one kind of server a
// KMS target may turn out to be.

// peerLife bounds how long a peer's connection may stay open, so that a
// broken probe cannot keep a test's cleanup waiting for ever.
const peerLife = 30 * time.Second

// peer is a TCP server written for one test: handle serves each connection
// (which is closed when handle returns).
type peer struct {
	addr netip.AddrPort
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

// startPeer listens on addr ("host:port", port 0 for a free one) and
// serves connections with handle until the test ends.
func startPeer(t testing.TB, addr string, handle func(c net.Conn)) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{addr: ln.Addr().(*net.TCPAddr).AddrPort(), ln: ln, open: map[net.Conn]struct{}{}}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(peerLife))
			p.mu.Lock()
			p.open[c] = struct{}{}
			p.mu.Unlock()
			p.wg.Go(func() {
				defer func() {
					p.mu.Lock()
					delete(p.open, c)
					p.mu.Unlock()
					c.Close()
				}()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.open {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// localPeer is startPeer on 127.0.0.1, a free port.
func localPeer(t testing.TB, handle func(c net.Conn)) *peer {
	t.Helper()
	return startPeer(t, "127.0.0.1:0", handle)
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

// drain reads until the client closes the connection.
func drain(c net.Conn) { io.Copy(io.Discard, c) }

// silent accepts and never replies.
func silent(c net.Conn) { drain(c) }

// banner sends a greeting at once, as SSH and SMTP servers do.
func banner(s string) func(net.Conn) {
	return func(c net.Conn) {
		c.Write([]byte(s))
		drain(c)
	}
}

// httpServer answers whatever arrives with a 400, as nginx does to a
// request line that is not HTTP, and closes.
func httpServer(c net.Conn) {
	if _, err := c.Read(make([]byte, 1024)); err != nil {
		return
	}
	c.Write([]byte("HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
}

// rpcServer reads the 72-octet bind and writes reply(bind), then waits for
// the client to close.
func rpcServer(reply func(bind []byte) []byte) func(net.Conn) {
	return func(c net.Conn) {
		bind := make([]byte, bindLen)
		if _, err := io.ReadFull(c, bind); err != nil {
			return
		}
		c.Write(reply(bind))
		drain(c)
	}
}

// closeAfterBind reads the bind and closes the connection without a word.
func closeAfterBind(c net.Conn) {
	io.ReadFull(c, make([]byte, bindLen))
}

// resetter resets every connection at once.
func resetter(c net.Conn) {
	c.(*net.TCPConn).SetLinger(0)
}

// callID is the bind's call_id.
func callID(bind []byte) uint32 { return binary.LittleEndian.Uint32(bind[12:]) }

// byteOrder reads and appends.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// rpcPDU builds a PDU of ptype with body in the byte order order.
func rpcPDU(order byteOrder, ptype byte, callID uint32, body []byte) []byte {
	drep := byte(drepLE)
	if order == byteOrder(binary.BigEndian) {
		drep = 0
	}
	b := []byte{5, 0, ptype, pfcFirstFrag | pfcLastFrag, drep, 0, 0, 0}
	b = order.AppendUint16(b, uint16(headerLen+len(body)))
	b = order.AppendUint16(b, 0)
	b = order.AppendUint32(b, callID)
	return append(b, body...)
}

// bindAck builds a bind_ack with one result, secondary address "1688".
func bindAck(order byteOrder, callID uint32, result, reason uint16) []byte {
	b := order.AppendUint16(nil, maxFrag)
	b = order.AppendUint16(b, maxFrag)
	b = order.AppendUint32(b, 0x1234)
	b = order.AppendUint16(b, 5)
	b = append(b, "1688\x00"...)
	b = append(b, 0)          // padding: the header's 16 octets + 15 so far
	b = append(b, 1, 0, 0, 0) // n_results
	b = order.AppendUint16(b, result)
	b = order.AppendUint16(b, reason)
	if result == 0 {
		b = append(b, ndrSyntax[:]...)
		b = order.AppendUint32(b, 2)
	} else {
		b = append(b, make([]byte, 20)...)
	}
	return rpcPDU(order, ptypeBindAck, callID, b)
}

// bindNak builds a bind_nak with reason and no protocol versions.
func bindNak(callID uint32, reason uint16) []byte {
	b := binary.LittleEndian.AppendUint16(nil, reason)
	b = append(b, 0) // n_protocols
	return rpcPDU(binary.LittleEndian, ptypeBindNak, callID, b)
}
