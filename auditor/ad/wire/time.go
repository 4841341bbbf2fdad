package wire

import (
	"math"
	"time"
)

// secondsFrom1601To1970 is the distance between the Windows epoch
// (1601-01-01 UTC) and the Unix epoch.
const secondsFrom1601To1970 = 11644473600

// TimeFromHours converts a count of hours since 1601-01-01 UTC (a dnsRecord
// TimeStamp, an aging interval start) to a time. 0 gives the zero
// time.Time: in a dnsRecord it marks a static record.
func TimeFromHours(h uint32) time.Time {
	if h == 0 {
		return time.Time{}
	}
	return time.Unix(int64(h)*3600-secondsFrom1601To1970, 0).UTC()
}

// HoursFromTime converts t to whole hours since 1601-01-01 UTC, rounding
// down. The zero time.Time gives 0; times before 1601 give 0 and times
// after the range of 32 bits give math.MaxUint32.
func HoursFromTime(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	s := t.Unix() + secondsFrom1601To1970
	switch {
	case s < 0:
		return 0
	case s/3600 > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(s / 3600)
}

// TimeFromFiletime converts a FILETIME (100-nanosecond intervals since
// 1601-01-01 UTC) to a time. Every FILETIME has one: 0 is 1601-01-01.
func TimeFromFiletime(ft uint64) time.Time {
	secs := int64(ft / 1e7)
	return time.Unix(secs-secondsFrom1601To1970, int64(ft%1e7)*100).UTC()
}

// FiletimeFromTime converts t to a FILETIME, truncating to 100 ns. Times
// before 1601 (the zero time.Time included) give 0; times beyond the
// FILETIME range give math.MaxUint64.
func FiletimeFromTime(t time.Time) uint64 {
	s := t.Unix() + secondsFrom1601To1970
	if s < 0 {
		return 0
	}
	if uint64(s) > (math.MaxUint64-uint64(t.Nanosecond()/100))/1e7 {
		return math.MaxUint64
	}
	return uint64(s)*1e7 + uint64(t.Nanosecond()/100)
}
