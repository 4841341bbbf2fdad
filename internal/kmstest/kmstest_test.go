package kmstest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ioTimeout bounds every read and write of the test clients.
const ioTimeout = 5 * time.Second

// pctx is one presentation context of a bind built by the tests.
type pctx struct {
	abstract string   // interface UUID, version 1.0
	syntaxes []string // transfer syntax UUIDs, version 2
}

// bind builds a bind PDU for the contexts, the layout of
// shared/notes/kms-probe.md generalised to several contexts.
func bind(t *testing.T, callID uint32, contexts ...pctx) []byte {
	t.Helper()
	le := binary.LittleEndian
	b := header(ptypeBind, callID)
	b = le.AppendUint16(b, maxFrag)
	b = le.AppendUint16(b, maxFrag)
	b = le.AppendUint32(b, 0)
	b = append(b, byte(len(contexts)), 0, 0, 0)
	for i, c := range contexts {
		b = le.AppendUint16(b, uint16(i))
		b = append(b, byte(len(c.syntaxes)), 0)
		u, err := UUID(c.abstract)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, u[:]...)
		b = le.AppendUint16(b, 1)
		b = le.AppendUint16(b, 0)
		for _, s := range c.syntaxes {
			u, err := UUID(s)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, u[:]...)
			b = le.AppendUint32(b, 2)
		}
	}
	le.PutUint16(b[8:], uint16(len(b)))
	return b
}

// ack is a bind_ack as the tests read it.
type ack struct {
	PType, Flags      byte
	CallID            uint32
	MaxXmit, MaxRecv  uint16
	AssocGroupNonZero bool
	SecondaryAddr     string
	Results           []ackResult
}

type ackResult struct {
	Result, Reason uint16
	Syntax         string // "" when the syntax is all zero
}

// dial connects to s.
func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	return c
}

// roundTrip writes pdu and reads one whole reply PDU.
func roundTrip(t *testing.T, c net.Conn, pdu []byte) []byte {
	t.Helper()
	if _, err := c.Write(pdu); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, headerLen)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatalf("reading the reply's header: %v", err)
	}
	n := binary.LittleEndian.Uint16(hdr[8:])
	if n < headerLen {
		t.Fatalf("frag_length %d", n)
	}
	reply := append(hdr, make([]byte, n-headerLen)...)
	if _, err := io.ReadFull(c, reply[headerLen:]); err != nil {
		t.Fatalf("reading the reply's body: %v", err)
	}
	return reply
}

// parseAck reads a bind_ack, checking the alignment of the result list.
func parseAck(t *testing.T, b []byte) ack {
	t.Helper()
	le := binary.LittleEndian
	a := ack{
		PType: b[2], Flags: b[3], CallID: le.Uint32(b[12:]),
		MaxXmit: le.Uint16(b[16:]), MaxRecv: le.Uint16(b[18:]),
		AssocGroupNonZero: le.Uint32(b[20:]) != 0,
	}
	if b[4] != 0x10 {
		t.Errorf("drep %#x, want 0x10", b[4])
	}
	n := int(le.Uint16(b[24:]))
	a.SecondaryAddr = string(b[26 : 26+n])
	off := 26 + n
	if off%4 != 0 {
		pad := 4 - off%4
		if got := b[off : off+pad]; string(got) != string(make([]byte, pad)) {
			t.Errorf("padding % x, want zeros", got)
		}
		off += pad
	}
	count := int(b[off])
	off += 4
	var zero [16]byte
	for range count {
		r := ackResult{Result: le.Uint16(b[off:]), Reason: le.Uint16(b[off+2:])}
		if u := [16]byte(b[off+4 : off+20]); u == ndrSyntax && le.Uint32(b[off+20:]) == 2 {
			r.Syntax = "NDR v2"
		} else if u != zero {
			r.Syntax = "other"
		}
		a.Results = append(a.Results, r)
		off += 24
	}
	if off != len(b) {
		t.Errorf("bind_ack of %d bytes, results end at %d", len(b), off)
	}
	return a
}

const (
	otherInterface = "12345778-1234-abcd-ef00-0123456789ac" // SAMR
	ndr64          = "71710533-beba-4937-8319-b5dbef9ccc36"
	featureNeg     = "6cb71c2c-9812-4540-0300-000000000000"
)

func TestBindAck(t *testing.T) {
	s := Start(t)
	port := strconv.Itoa(int(s.Port)) + "\x00"
	accepted := ackResult{Result: 0, Reason: 0, Syntax: "NDR v2"}
	tests := []struct {
		name     string
		contexts []pctx
		want     []ackResult
	}{
		{
			name:     "KMS with NDR is accepted",
			contexts: []pctx{{InterfaceUUID, []string{NDRUUID}}},
			want:     []ackResult{accepted},
		},
		{
			name:     "another interface: provider rejection, abstract syntax not supported",
			contexts: []pctx{{otherInterface, []string{NDRUUID}}},
			want:     []ackResult{{Result: 2, Reason: 1}},
		},
		{
			name:     "KMS without NDR: provider rejection, transfer syntaxes not supported",
			contexts: []pctx{{InterfaceUUID, []string{ndr64}}},
			want:     []ackResult{{Result: 2, Reason: 2}},
		},
		{
			name: "three contexts as Windows 8 offers them",
			contexts: []pctx{
				{InterfaceUUID, []string{NDRUUID}},
				{InterfaceUUID, []string{ndr64}},
				{InterfaceUUID, []string{featureNeg}},
			},
			want: []ackResult{accepted, {Result: 2, Reason: 2}, {Result: 2, Reason: 2}},
		},
		{
			name:     "NDR second among the transfer syntaxes of one context",
			contexts: []pctx{{InterfaceUUID, []string{ndr64, NDRUUID}}},
			want:     []ackResult{accepted},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s)
			callID := uint32(100 + i)
			got := parseAck(t, roundTrip(t, c, bind(t, callID, tt.contexts...)))
			want := ack{
				PType: ptypeBindAck, Flags: 3, CallID: callID,
				MaxXmit: maxFrag, MaxRecv: maxFrag, AssocGroupNonZero: true,
				SecondaryAddr: port, Results: tt.want,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("bind_ack (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := s.Binds(), int64(len(tests)); got != want {
		t.Errorf("Binds() = %d, want %d", got, want)
	}
}

// TestBindAckBytes pins the whole bind_ack for one bind, byte by byte.
func TestBindAckBytes(t *testing.T) {
	got := encodeBindAck(2, 5840, 5840, 0x1234, "1688", []result{{syntax: ndrSyntax, version: 2}})
	want := []byte{
		0x05, 0x00, 0x0c, 0x03, 0x10, 0x00, 0x00, 0x00, // version, bind_ack, first+last, drep
		0x3c, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, // frag_length 60, auth_length, call_id 2
		0xd0, 0x16, 0xd0, 0x16, 0x34, 0x12, 0x00, 0x00, // max_xmit, max_recv, assoc_group
		0x05, 0x00, '1', '6', '8', '8', 0x00, 0x00, // secondary address "1688\0", 1 octet of padding
		0x01, 0x00, 0x00, 0x00, // one result
		0x00, 0x00, 0x00, 0x00, // acceptance, reason 0
		0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, // NDR
		0x02, 0x00, 0x00, 0x00, // version 2
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bind_ack bytes (-want +got):\n%s", diff)
	}
}

func TestUUID(t *testing.T) {
	tests := []struct {
		in      string
		want    [16]byte
		wantErr bool
	}{
		{in: InterfaceUUID, want: [16]byte{0x75, 0x21, 0xc8, 0x51, 0x4e, 0x84, 0x50, 0x47, 0xb0, 0xd8, 0xec, 0x25, 0x55, 0x55, 0xbc, 0x06}},
		{in: "51C82175-844E-4750-B0D8-EC255555BC06", want: [16]byte{0x75, 0x21, 0xc8, 0x51, 0x4e, 0x84, 0x50, 0x47, 0xb0, 0xd8, 0xec, 0x25, 0x55, 0x55, 0xbc, 0x06}},
		{in: "51c82175844e4750b0d8ec255555bc06", wantErr: true},
		{in: "51c82175-844e-4750-b0d8-ec255555bcxx", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := UUID(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("UUID(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("UUID(%q) = % x, want % x", tt.in, got, tt.want)
		}
	}
}

// TestConnection: several PDUs on one connection, requests answered with a
// fault and counted, garbage closing the connection.
func TestConnection(t *testing.T) {
	s := Start(t)
	c := dial(t, s)
	kms := pctx{InterfaceUUID, []string{NDRUUID}}
	for i := range 3 {
		a := parseAck(t, roundTrip(t, c, bind(t, uint32(i+1), kms)))
		if a.CallID != uint32(i+1) || len(a.Results) != 1 || a.Results[0].Result != 0 {
			t.Fatalf("bind %d on one connection: %+v", i+1, a)
		}
	}
	// A request for opnum 0 (an activation request would be one): a fault,
	// nca_s_op_rng_error.
	le := binary.LittleEndian
	req := header(ptypeRequest, 9)
	req = le.AppendUint32(req, 0) // alloc_hint
	req = le.AppendUint16(req, 0) // p_cont_id
	req = le.AppendUint16(req, 0) // opnum
	le.PutUint16(req[8:], uint16(len(req)))
	f := roundTrip(t, c, req)
	if diff := cmp.Diff([]uint32{ptypeFault, 9, faultOpRangeError}, []uint32{uint32(f[2]), le.Uint32(f[12:]), le.Uint32(f[24:])}); diff != "" {
		t.Errorf("fault (ptype, call_id, status) (-want +got):\n%s", diff)
	}
	if got := s.Binds(); got != 3 {
		t.Errorf("Binds() = %d, want 3", got)
	}
	if got := s.Requests(); got != 1 {
		t.Errorf("Requests() = %d, want 1", got)
	}

	garbage := []struct {
		name string
		pdu  []byte
	}{
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"RPC version 4", append([]byte{4, 0}, bind(t, 1, kms)[2:]...)},
		{"big-endian data representation", func() []byte { b := bind(t, 1, kms); b[4] = 0; return b }()},
		{"frag_length shorter than the header", func() []byte { b := bind(t, 1, kms); b[8], b[9] = 8, 0; return b }()},
		{"frag_length beyond max_recv_frag", func() []byte { b := bind(t, 1, kms); b[8], b[9] = 0xff, 0xff; return b }()},
		{"a bind_ack sent to the server", encodeBindAck(1, maxFrag, maxFrag, 1, "1", nil)},
		{"truncated context list", func() []byte {
			b := bind(t, 1, kms)[:40]
			le.PutUint16(b[8:], 40)
			return b
		}()},
	}
	for _, g := range garbage {
		t.Run(g.name, func(t *testing.T) {
			c := dial(t, s)
			if _, err := c.Write(g.pdu); err != nil {
				t.Fatal(err)
			}
			n, err := io.ReadFull(c, make([]byte, 1))
			if n != 0 || !errors.Is(err, io.EOF) && !isReset(err) {
				t.Errorf("after %s: read %d bytes, %v; want the connection closed", g.name, n, err)
			}
		})
	}
	if got := s.Binds(); got != 3 {
		t.Errorf("Binds() = %d after garbage, want still 3", got)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// TestClose: Close returns with a client still connected, closes its
// connection, stops listening and is idempotent.
func TestClose(t *testing.T) {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	parseAck(t, roundTrip(t, c, bind(t, 1, pctx{InterfaceUUID, []string{NDRUUID}})))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("read %d bytes after Close, want the connection closed", n)
	}
	if c, err := net.DialTimeout("tcp", s.Addr, ioTimeout); err == nil {
		c.Close()
		t.Errorf("connected to %s after Close", s.Addr)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestListenError(t *testing.T) {
	s := Start(t)
	if _, err := Listen(s.Addr); err == nil {
		t.Errorf("Listen(%s) on a port in use: no error", s.Addr)
	}
}
