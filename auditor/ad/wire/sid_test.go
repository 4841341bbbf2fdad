package wire_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

func TestParseSID(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		want   string
		wantN  int
		field  string // error expected when set
		offset int
	}{
		{name: "everyone", in: sidRaw(1, 0), want: "S-1-1-0", wantN: 12},
		{name: "authenticated users", in: sidRaw(5, 11), want: "S-1-5-11", wantN: 12},
		{name: "builtin administrators", in: sidRaw(5, 32, 544), want: "S-1-5-32-544", wantN: 16},
		{name: "domain account", in: kms1Raw(), want: "S-1-5-21-1000-2000-3000-1104", wantN: 28},
		{name: "max sub-authority", in: sidRaw(5, 21, 4294967295), want: "S-1-5-21-4294967295", wantN: 16},
		{name: "no sub-authority", in: sidRaw(5), want: "S-1-5", wantN: 8},
		{name: "authority of 2^32 is hex", in: sidRaw(1<<32, 7), want: "S-1-0x000100000000-7", wantN: 12},
		{name: "15 sub-authorities", in: sidRaw(5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), want: "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", wantN: 68},
		{name: "trailing bytes ignored", in: cat(sidRaw(1, 0), []byte{0xAA, 0xBB}), want: "S-1-1-0", wantN: 12},

		{name: "empty", in: nil, field: "revision", offset: 0},
		{name: "revision 2", in: []byte{2, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, field: "revision", offset: 0},
		{name: "truncated at count", in: []byte{1}, field: "sub-authority count", offset: 1},
		{name: "16 sub-authorities", in: cat([]byte{1, 16, 0, 0, 0, 0, 0, 5}, make([]byte, 64)), field: "sub-authority count", offset: 1},
		{name: "255 sub-authorities", in: cat([]byte{1, 255, 0, 0, 0, 0, 0, 5}, make([]byte, 64)), field: "sub-authority count", offset: 1},
		{name: "truncated in authority", in: []byte{1, 1, 0, 0, 0}, field: "identifier authority", offset: 2},
		{name: "truncated in first sub-authority", in: sidRaw(5, 11)[:10], field: "sub-authorities", offset: 8},
		{name: "truncated in last sub-authority", in: kms1Raw()[:27], field: "sub-authorities", offset: 8},
		{name: "count overruns", in: cat([]byte{1, 5, 0, 0, 0, 0, 0, 5}, le32(21)), field: "sub-authorities", offset: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := wire.ParseSID(tt.in)
			if tt.field != "" {
				wantFormatError(t, err, tt.field, tt.offset)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want || n != tt.wantN {
				t.Errorf("ParseSID = %s, %d; want %s, %d", got, n, tt.want, tt.wantN)
			}
			if !bytes.Equal(got.Bytes(), tt.in[:n]) {
				t.Errorf("Bytes() = %x, want %x", got.Bytes(), tt.in[:n])
			}
			back, err := wire.ParseSIDString(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("ParseSIDString(String()) differs (-parsed +text):\n%s", diff)
			}
		})
	}
}

func TestParseSIDTruncatedIsErrTruncated(t *testing.T) {
	_, _, err := wire.ParseSID(kms1Raw()[:20])
	if !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("error = %v, want ErrTruncated", err)
	}
	_, _, err = wire.ParseSID([]byte{2, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	if errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("bad revision reported as truncation: %v", err)
	}
}

func TestParseSIDString(t *testing.T) {
	tests := []struct {
		in      string
		want    wire.SID
		wantErr string
	}{
		{in: "S-1-1-0", want: wire.SID{Authority: 1, SubAuthorities: []uint32{0}}},
		{in: "s-1-5-11", want: wire.AuthenticatedUsers},
		{in: "S-1-5", want: wire.SID{Authority: 5}},
		{in: "S-1-0x000100000000-7", want: wire.SID{Authority: 1 << 32, SubAuthorities: []uint32{7}}},
		{in: "S-1-0xFFFFFFFFFFFF", want: wire.SID{Authority: 1<<48 - 1}},
		{in: "S-1-5-21-1000-2000-3000-1104", want: kms1SID},
		{in: "", wantErr: "want S-1-"},
		{in: "S-1", wantErr: "want S-1-"},
		{in: "S-2-5-11", wantErr: "want S-1-"},
		{in: "X-1-5-11", wantErr: "want S-1-"},
		{in: "S-1-", wantErr: "identifier authority"},
		{in: "S-1-281474976710656", wantErr: "identifier authority"},
		{in: "S-1-0x1000000000000", wantErr: "identifier authority"},
		{in: "S-1-+5", wantErr: "identifier authority"},
		{in: "S-1-5-", wantErr: "sub-authority 1"},
		{in: "S-1-5-21--1", wantErr: "sub-authority 2"},
		{in: "S-1-5-4294967296", wantErr: "sub-authority 1"},
		{in: "S-1-5-abc", wantErr: "sub-authority 1"},
		{in: "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", wantErr: "16 sub-authorities"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := wire.ParseSIDString(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSIDString(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSIDHelpers(t *testing.T) {
	if got := kms1SID.RID(); got != 1104 {
		t.Errorf("RID = %d, want 1104", got)
	}
	if got := kms1SID.Domain().String(); got != "S-1-5-21-1000-2000-3000" {
		t.Errorf("Domain = %s", got)
	}
	if got := kms1SID.Domain().WithRID(wire.RIDDomainAdmins); !got.Equal(daSID) {
		t.Errorf("Domain().WithRID(512) = %s, want %s", got, daSID)
	}
	if !kms1SID.IsDomainSID() || wire.AuthenticatedUsers.IsDomainSID() || wire.BuiltinAdministrators.IsDomainSID() {
		t.Error("IsDomainSID wrong")
	}
	if (wire.SID{Authority: 5}).RID() != 0 || len((wire.SID{Authority: 5}).Domain().SubAuthorities) != 0 {
		t.Error("RID/Domain of a SID without sub-authorities")
	}
	// WithRID must not write into the receiver's backing array.
	base := wire.SID{Authority: 5, SubAuthorities: make([]uint32, 2, 8)}
	a, b := base.WithRID(1), base.WithRID(2)
	if a.RID() != 1 || b.RID() != 2 {
		t.Errorf("WithRID aliases: %s %s", a, b)
	}
	if kms1SID.Equal(kms2SID) || !kms1SID.Equal(sid(kms1SID.String())) || wire.Everyone.Equal(wire.SID{Authority: 1}) {
		t.Error("Equal wrong")
	}
	for name, s := range map[string]wire.SID{
		"Everyone": wire.Everyone, "AuthenticatedUsers": wire.AuthenticatedUsers, "CreatorOwner": wire.CreatorOwner,
		"Self": wire.Self, "OwnerRights": wire.OwnerRights, "LocalSystem": wire.LocalSystem,
	} {
		want := map[string]string{
			"Everyone": "S-1-1-0", "AuthenticatedUsers": "S-1-5-11", "CreatorOwner": "S-1-3-0",
			"Self": "S-1-5-10", "OwnerRights": "S-1-3-4", "LocalSystem": "S-1-5-18",
		}[name]
		if s.String() != want {
			t.Errorf("%s = %s, want %s", name, s, want)
		}
	}
}

func TestSIDInvalidHasNoBytes(t *testing.T) {
	tooMany := wire.SID{Authority: 5, SubAuthorities: make([]uint32, 16)}
	if tooMany.Bytes() != nil || tooMany.Valid() == nil {
		t.Error("a SID with 16 sub-authorities has a binary form")
	}
	bigAuth := wire.SID{Authority: 1 << 48}
	if bigAuth.Bytes() != nil || bigAuth.Valid() == nil {
		t.Error("a SID with a 49-bit authority has a binary form")
	}
}
