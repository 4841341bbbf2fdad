package wire_test

import (
	"math"
	"testing"
	"time"

	"github.com/srvctl/srvctl/auditor/ad/wire"
)

func TestHours(t *testing.T) {
	if got := wire.TimeFromHours(jan2024Hours); !got.Equal(jan2024) || got.Location() != time.UTC {
		t.Errorf("TimeFromHours(%d) = %v, want %v", jan2024Hours, got, jan2024)
	}
	if got := wire.TimeFromHours(0); !got.IsZero() {
		t.Errorf("TimeFromHours(0) = %v, want the zero time (static)", got)
	}
	if got := wire.TimeFromHours(1); !got.Equal(time.Date(1601, 1, 1, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("TimeFromHours(1) = %v", got)
	}
	if got := wire.TimeFromHours(math.MaxUint32); got.Year() != 491568 {
		t.Errorf("TimeFromHours(max) = %v", got)
	}
	tests := []struct {
		in   time.Time
		want uint32
	}{
		{jan2024, jan2024Hours},
		{jan2024.Add(59*time.Minute + 59*time.Second), jan2024Hours},
		{jan2024.In(time.FixedZone("CET", 3600)), jan2024Hours},
		{time.Time{}, 0},
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(500000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxUint32},
	}
	for _, tt := range tests {
		if got := wire.HoursFromTime(tt.in); got != tt.want {
			t.Errorf("HoursFromTime(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFiletime(t *testing.T) {
	if got := wire.TimeFromFiletime(jan2024FT); !got.Equal(jan2024) {
		t.Errorf("TimeFromFiletime(%d) = %v, want %v", jan2024FT, got, jan2024)
	}
	if got := wire.TimeFromFiletime(0); !got.Equal(time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("TimeFromFiletime(0) = %v", got)
	}
	for _, ft := range []uint64{0, 1, jan2024FT, jan2024FT + 9_999_999, math.MaxUint64} {
		if back := wire.FiletimeFromTime(wire.TimeFromFiletime(ft)); back != ft {
			t.Errorf("FILETIME %d round-trips to %d", ft, back)
		}
	}
	tests := []struct {
		in   time.Time
		want uint64
	}{
		{jan2024.Add(150 * time.Nanosecond), jan2024FT + 1},
		{time.Time{}, 0},
		{time.Date(1600, 12, 31, 23, 59, 59, 0, time.UTC), 0},
		{time.Date(100000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxUint64},
	}
	for _, tt := range tests {
		if got := wire.FiletimeFromTime(tt.in); got != tt.want {
			t.Errorf("FiletimeFromTime(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
