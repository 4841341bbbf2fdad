package bindfile

import (
	"errors"
	"fmt"
)

// Error is a failure to read or write one zone's files. Every error the
// Backend returns is an *Error.
type Error struct {
	Zone string // canonical zone name
	File string // the file concerned: the fragment, its lock, the zone file or its journal; "" for none
	Line int    // 1-based line in File the error is about; 0 when none
	Err  error  // the cause
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return fmt.Sprintf("zone %s: %v", e.Zone, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("zone %s: %s:%d: %v", e.Zone, e.File, e.Line, e.Err)
	default:
		return fmt.Sprintf("zone %s: %s: %v", e.Zone, e.File, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// ErrDynamic is wrapped when a zone's file has a journal (<zone file>.jnl):
// named takes dynamic updates for the zone and keeps them in the journal,
// so it would overwrite or reject edits of the zone file.
var ErrDynamic = errors.New("the zone is dynamic")

// ErrForeign is wrapped when a fragment holds anything but the SRV records
// of the zone's service owner name, or a directive that brings in records
// srvctl cannot see ($INCLUDE, $GENERATE).
var ErrForeign = errors.New("the fragment may only hold the service's SRV records")

// lineError is an error about one line of a file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// fileError turns err into an *Error for zone and file, taking the line
// from a *lineError in its chain.
func fileError(zone, file string, err error) *Error {
	e := &Error{Zone: zone, File: file, Err: err}
	if le, ok := errors.AsType[*lineError](err); ok {
		e.Line = le.line
	}
	return e
}
