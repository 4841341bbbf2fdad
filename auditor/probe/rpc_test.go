package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/srvctl/srvctl/internal/kmstest"
)

// TestBindPDU checks the bind against the table of shared/notes/kms-probe.md,
// field by field.
func TestBindPDU(t *testing.T) {
	b := bindPDU(2)
	if len(b) != 72 {
		t.Fatalf("bind of %d bytes, want 72", len(b))
	}
	fields := []struct {
		offset int
		field  string
		want   []byte
	}{
		{0, "rpc_vers", []byte{5}},
		{1, "rpc_vers_minor", []byte{0}},
		{2, "PTYPE (bind)", []byte{11}},
		{3, "pfc_flags (first + last fragment)", []byte{0x03}},
		{4, "packed_drep", []byte{0x10, 0, 0, 0}},
		{8, "frag_length 72", []byte{72, 0}},
		{10, "auth_length", []byte{0, 0}},
		{12, "call_id 2", []byte{2, 0, 0, 0}},
		{16, "max_xmit_frag 5840", []byte{0xd0, 0x16}},
		{18, "max_recv_frag 5840", []byte{0xd0, 0x16}},
		{20, "assoc_group_id", []byte{0, 0, 0, 0}},
		{24, "n_context_elem and reserved", []byte{1, 0, 0, 0}},
		{28, "p_cont_id", []byte{0, 0}},
		{30, "n_transfer_syn and reserved", []byte{1, 0}},
		{32, "abstract syntax: KMS", []byte{0x75, 0x21, 0xc8, 0x51, 0x4e, 0x84, 0x50, 0x47, 0xb0, 0xd8, 0xec, 0x25, 0x55, 0x55, 0xbc, 0x06}},
		{48, "abstract syntax version 1.0", []byte{1, 0, 0, 0}},
		{52, "transfer syntax: NDR", []byte{0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}},
		{68, "transfer syntax version 2", []byte{2, 0, 0, 0}},
	}
	next := 0
	for _, f := range fields {
		if f.offset != next {
			t.Fatalf("table gap before offset %d", f.offset)
		}
		next = f.offset + len(f.want)
		if diff := cmp.Diff(f.want, b[f.offset:next]); diff != "" {
			t.Errorf("offset %d, %s (-want +got):\n%s", f.offset, f.field, diff)
		}
	}
	if next != len(b) {
		t.Errorf("table covers %d bytes of %d", next, len(b))
	}
	// The same UUIDs, read independently by the KMS responder.
	for _, u := range []string{kmsInterfaceUUID, ndrUUID} {
		if want, err := kmstest.UUID(u); err != nil || uuidWire(u) != want {
			t.Errorf("uuidWire(%s) = % x, kmstest.UUID = % x, %v", u, uuidWire(u), want, err)
		}
	}
}

// TestJudge feeds replies to the parser, whole and octet by octet, as a
// slow peer would send them.
func TestJudge(t *testing.T) {
	le, be := byteOrder(binary.LittleEndian), byteOrder(binary.BigEndian)
	const id = 7
	truncatedAck := bindAck(le, id, 0, 0)[:30]
	le.PutUint16(truncatedAck[8:], 30)
	noResult := bindAck(le, id, 0, 0)
	noResult[32] = 0
	tests := []struct {
		name       string
		reply      []byte
		wantStatus Status
		wantDetail string
	}{
		{"accepting bind_ack", bindAck(le, id, 0, 0), StatusKMS, ""},
		{"accepting bind_ack, big-endian", bindAck(be, id, 0, 0), StatusKMS, ""},
		{"provider rejection", bindAck(le, id, 2, 1), StatusNotKMS, "bind_ack rejected: provider rejection, abstract syntax not supported"},
		{"user rejection, unknown reason", bindAck(le, id, 1, 99), StatusNotKMS, "bind_ack rejected: user rejection, code 99"},
		{"bind_ack for another call", bindAck(le, id+1, 0, 0), StatusNotKMS, "bind_ack for call_id 8, not the bind's 7"},
		{"bind_ack truncated", truncatedAck, StatusNotKMS, "bind_ack without a result"},
		{"bind_ack with no result", noResult, StatusNotKMS, "bind_ack without a result"},
		{"bind_nak", bindNak(id, 2), StatusNotKMS, "bind_nak reason 2 (local limit exceeded)"},
		{"bind_nak, protocol version", bindNak(id, 4), StatusNotKMS, "bind_nak reason 4 (protocol version not supported)"},
		{"fault", rpcPDU(le, ptypeFault, id, le.AppendUint32(make([]byte, 8), 0x1c010003)), StatusNotKMS, "fault, status 0x1c010003"},
		{"a response", rpcPDU(le, 2, id, make([]byte, 8)), StatusNotKMS, "unexpected DCE/RPC reply: response"},
		{"frag_length too short", func() []byte { b := bindAck(le, id, 0, 0); b[8] = 4; return b }(), StatusNotKMS, "malformed DCE/RPC reply: frag_length 4"},
		{"frag_length too long", func() []byte { b := bindAck(le, id, 0, 0); b[8], b[9] = 0xff, 0xff; return b }(), StatusNotKMS, "malformed DCE/RPC reply: frag_length 65535"},
		{"HTTP", []byte("HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n"), StatusNotKMS, `not DCE/RPC, starts with "HTTP/1.1 400 Bad Request"`},
		{"SSH", []byte("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5 with a long tail\r\n"), StatusNotKMS, `not DCE/RPC, starts with "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ub"...`},
		{"RPC version 4", []byte{4, 0, 12, 3}, StatusNotKMS, `not DCE/RPC, starts with "\x04\x00\f\x03"`},
		{"05 then not 00 or 01", []byte{5, 9}, StatusNotKMS, `not DCE/RPC, starts with "\x05\t"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, d, ok := judge(tt.reply, id)
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantDetail, true}, []any{s, d, ok}); diff != "" {
				t.Errorf("judge(whole reply) (-want +got):\n%s", diff)
			}
			// Octet by octet: undecided until the verdict's octet, then the
			// same verdict (for what is not DCE/RPC, quoting what came).
			for n := 0; n <= len(tt.reply); n++ {
				if s, d, ok := judge(tt.reply[:n], id); ok {
					if tt.reply[0] != 5 || tt.reply[1] > 1 {
						tt.wantDetail = "not DCE/RPC, starts with " + quoteStart(tt.reply[:n])
					}
					if s != tt.wantStatus || d != tt.wantDetail {
						t.Errorf("judge(first %d bytes) = %s %q, want %s %q", n, s, d, tt.wantStatus, tt.wantDetail)
					}
					break
				}
				if n == len(tt.reply) {
					t.Errorf("judge undecided after all %d bytes", n)
				}
			}
		})
	}
}

// TestProbeAddr probes one address of each kind of peer, without DNS.
func TestProbeAddr(t *testing.T) {
	const short = 300 * time.Millisecond // for peers that must time out
	kms := kmstest.Start(t)
	kmsAddr := netip.MustParseAddrPort(kms.Addr)
	le := binary.LittleEndian
	tests := []struct {
		name    string
		mode    Mode
		timeout time.Duration // default 10 s: a verdict comes from the peer
		addr    netip.AddrPort
		want    AddrResult
		// wantAny lists acceptable statuses when the network decides
		// (e.g. unreachable or timeout); Detail is then not compared.
		wantAny []Status
	}{
		{name: "KMS host", addr: kmsAddr, want: AddrResult{Status: StatusKMS}},
		{name: "closed port", addr: closedPort(t), want: AddrResult{Status: StatusRefused, Detail: "connection refused"}},
		{name: "HTTP server", addr: localPeer(t, httpServer).addr,
			want: AddrResult{Status: StatusNotKMS, Detail: `not DCE/RPC, starts with "HTTP/1.1 400 Bad Request"`}},
		{name: "SSH server", addr: localPeer(t, banner("SSH-2.0-OpenSSH_9.6\r\n")).addr,
			want: AddrResult{Status: StatusNotKMS, Detail: `not DCE/RPC, starts with "SSH-2.0-OpenSSH_9.6"`}},
		{name: "accepts and never replies", timeout: short, addr: localPeer(t, silent).addr,
			want: AddrResult{Status: StatusTimeout, Detail: "no reply to the bind within 300ms"}},
		{name: "an incomplete reply, then nothing", timeout: short,
			addr: localPeer(t, rpcServer(func(b []byte) []byte { return bindAck(le, callID(b), 0, 0)[:20] })).addr,
			want: AddrResult{Status: StatusTimeout, Detail: "no reply to the bind within 300ms (an incomplete reply of 20 bytes)"}},
		{name: "an incomplete reply, then close",
			addr: localPeer(t, func(c net.Conn) {
				b := make([]byte, bindLen)
				if _, err := io.ReadFull(c, b); err == nil {
					c.Write(bindAck(le, callID(b), 0, 0)[:20])
				}
			}).addr,
			want: AddrResult{Status: StatusNotKMS, Detail: "closed after an incomplete DCE/RPC reply of 20 bytes"}},
		{name: "bind_nak", addr: localPeer(t, rpcServer(func(b []byte) []byte { return bindNak(callID(b), 2) })).addr,
			want: AddrResult{Status: StatusNotKMS, Detail: "bind_nak reason 2 (local limit exceeded)"}},
		{name: "rejecting bind_ack", addr: localPeer(t, rpcServer(func(b []byte) []byte { return bindAck(le, callID(b), 2, 1) })).addr,
			want: AddrResult{Status: StatusNotKMS, Detail: "bind_ack rejected: provider rejection, abstract syntax not supported"}},
		{name: "accepting bind_ack, big-endian", addr: localPeer(t, rpcServer(func(b []byte) []byte { return bindAck(binary.BigEndian, callID(b), 0, 0) })).addr,
			want: AddrResult{Status: StatusKMS}},
		{name: "closes without reply", addr: localPeer(t, closeAfterBind).addr,
			want: AddrResult{Status: StatusNotKMS, Detail: "closed without reply"}},
		{name: "resets the connection", addr: localPeer(t, resetter).addr,
			want: AddrResult{Status: StatusRefused, Detail: "connection reset"}},
		{name: "TCP mode, a peer that never replies", mode: ModeTCP, addr: localPeer(t, silent).addr, want: AddrResult{Status: StatusOpen}},
		{name: "TCP mode, closed port", mode: ModeTCP, addr: closedPort(t), want: AddrResult{Status: StatusRefused, Detail: "connection refused"}},
		{name: "an address nothing routes to", timeout: short, addr: netip.MustParseAddrPort("[2001:db8::1]:1688"),
			wantAny: []Status{StatusUnreachable, StatusTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			p, err := New(Options{Resolver: "127.0.0.1:53", Mode: tt.mode, Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			got := p.probeAddr(context.Background(), tt.addr)
			if got.Latency <= 0 {
				t.Errorf("latency %v, want > 0", got.Latency)
			}
			if tt.wantAny != nil {
				if !slices.Contains(tt.wantAny, got.Status) {
					t.Errorf("status %s (%s), want one of %v", got.Status, got.Detail, tt.wantAny)
				}
				return
			}
			tt.want.Addr = tt.addr.Addr()
			if diff := cmp.Diff(tt.want, got, ignoreLatency); diff != "" {
				t.Errorf("probeAddr(%s) (-want +got):\n%s", tt.addr, diff)
			}
		})
	}
	if got := kms.Requests(); got != 0 {
		t.Errorf("the KMS responder received %d requests, want 0: a probe sends the bind only", got)
	}
}

// ignoreLatency compares results but their latency, which varies.
var ignoreLatency = cmp.Options{cmpopts.IgnoreFields(AddrResult{}, "Latency"), cmpopts.EquateComparable(netip.Addr{})}

// TestProbeAddrCanceled: canceling the context ends a probe stuck in the
// bind's round trip at once, long before its timeout.
func TestProbeAddrCanceled(t *testing.T) {
	accepted := make(chan struct{}, 1)
	pr := localPeer(t, func(c net.Conn) {
		accepted <- struct{}{}
		drain(c)
	})
	p, err := New(Options{Resolver: "127.0.0.1:53", Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	probed := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-accepted:
			cancel(errors.New("the test is done"))
		case <-probed:
		}
	})
	got := p.probeAddr(ctx, pr.addr)
	close(probed)
	wg.Wait()
	want := AddrResult{Addr: pr.addr.Addr(), Status: StatusCanceled, Detail: "canceled: the test is done"}
	if diff := cmp.Diff(want, got, ignoreLatency); diff != "" {
		t.Errorf("probeAddr (-want +got):\n%s", diff)
	}
}
