package config

import (
	"fmt"
	"strings"
)

// Error is what Load returns for a config with problems: all of them, in
// the order they were found.
type Error struct {
	Path     string // the config file
	Problems []Problem
}

// Problem is one thing wrong with a config.
type Problem struct {
	// Key is where the problem is: a key path as the YAML spells it
	// ("hosts[1].port", "zones[2].overrides[0].host"), an environment
	// variable ("SRVCTL_TTL") or a flag ("--log-level"). It is empty for
	// problems of the file as a whole, such as a YAML syntax error.
	Key string
	Msg string // what is wrong, never containing a secret
}

// String formats p as "key: msg".
func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	return p.Key + ": " + p.Msg
}

// Error lists the problems, one per line:
//
//	config /etc/srvctl/srvctl.yaml: 2 problems:
//	  hosts[0].port: 0 is out of range 1-65535
//	  zones[0].key: "nokey" is not one of keys
func (e *Error) Error() string {
	var b strings.Builder
	noun := "problems"
	if len(e.Problems) == 1 {
		noun = "problem"
	}
	fmt.Fprintf(&b, "config %s: %d %s:", e.Path, len(e.Problems), noun)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects the problems of one load.
type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}
