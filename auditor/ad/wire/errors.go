package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrTruncated is wrapped by every FormatError that reports a value ending
// before a field it must hold (errors.Is(err, ErrTruncated)).
var ErrTruncated = errors.New("truncated")

// FormatError reports a malformed value: which structure, which field, at
// which byte offset of the slice given to the parser, and what is wrong.
type FormatError struct {
	// Structure is what was being decoded: "SID", "GUID", "ACL",
	// "security descriptor", "dnsRecord" or "dNSProperty".
	Structure string
	// Field names the malformed part, e.g. "DACL ACE 2 SID sub-authority count".
	Field string
	// Offset is the field's byte offset in the parser's input.
	Offset int
	// Problem says what is wrong with it.
	Problem string
	// Err is ErrTruncated when the value ends too early, nil otherwise.
	Err error
}

// Error implements error.
func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: %s at offset %d: %s", e.Structure, e.Field, e.Offset, e.Problem)
}

// Unwrap returns ErrTruncated for truncation errors.
func (e *FormatError) Unwrap() error { return e.Err }

// span is a window of the input: b holds the bytes the structure may use,
// base is where b starts in the parser's input (for error offsets).
type span struct {
	structure string
	b         []byte
	base      int
}

// sub returns the window b[off:end] (relative offsets).
func (s span) sub(off, end int) span {
	return span{structure: s.structure, b: s.b[off:end], base: s.base + off}
}

func (s span) errorf(off int, field, format string, args ...any) *FormatError {
	return &FormatError{Structure: s.structure, Field: field, Offset: s.base + off, Problem: fmt.Sprintf(format, args...)}
}

// need reports a truncation error unless n bytes are available at off.
func (s span) need(off, n int, field string) error {
	if off >= 0 && n >= 0 && off <= len(s.b) && len(s.b)-off >= n {
		return nil
	}
	have := len(s.b) - off
	if have < 0 {
		have = 0
	}
	e := s.errorf(off, field, "needs %d bytes, %d left", n, have)
	e.Err = ErrTruncated
	return e
}

func (s span) u8(off int, field string) (uint8, error) {
	if err := s.need(off, 1, field); err != nil {
		return 0, err
	}
	return s.b[off], nil
}

func (s span) u32(off int, field string) (uint32, error) {
	if err := s.need(off, 4, field); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(s.b[off:]), nil
}

func (s span) u16be(off int, field string) (uint16, error) {
	if err := s.need(off, 2, field); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(s.b[off:]), nil
}

// clone returns a copy of b, nil for an empty slice.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
