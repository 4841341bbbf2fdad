package bindfile

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// The placeholders of Check and Reload arguments.
const (
	phZone     = "{zone}"      // the zone name without the trailing dot
	phFile     = "{file}"      // Zone.File
	phZoneFile = "{zone_file}" // Zone.ZoneFile
)

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// checkArgv checks a command line: a program to run, and no placeholder
// but the known ones ({zone_file} only when there is a zone file).
func checkArgv(argv []string, haveZoneFile bool) error {
	if len(argv) == 0 {
		return nil
	}
	if argv[0] == "" {
		return errors.New("the program (first word) is empty")
	}
	var errs []error
	for i, a := range argv {
		for _, p := range placeholderRE.FindAllString(a, -1) {
			switch {
			case p == phZoneFile && !haveZoneFile:
				errs = append(errs, fmt.Errorf("argument %d: %s, but the zone has no zone file", i, p))
			case p != phZone && p != phFile && p != phZoneFile:
				errs = append(errs, fmt.Errorf("argument %d: unknown placeholder %s (known: %s, %s, %s)", i, p, phZone, phFile, phZoneFile))
			}
		}
	}
	return errors.Join(errs...)
}

// expand replaces the placeholders in argv.
func expand(argv []string, zone string, zc Zone) []string {
	r := strings.NewReplacer(phZone, strings.TrimSuffix(zone, "."), phFile, zc.File, phZoneFile, zc.ZoneFile)
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = r.Replace(a)
	}
	return out
}

// maxOutputLines bounds the command output an error shows.
const maxOutputLines = 20

// CommandError is a check or reload command that failed. Its message
// names the program, not its arguments (which may hold a secret), and shows
// the last lines of its output.
type CommandError struct {
	Program string // the command's first word
	Err     error  // why it failed: an exit status, a timeout, a missing program
	Output  string // the last lines of its output (stdout and stderr), trimmed
}

func (e *CommandError) Error() string {
	if e.Output == "" {
		return fmt.Sprintf("%s: %v (no output)", e.Program, e.Err)
	}
	return fmt.Sprintf("%s: %v; its output:\n%s", e.Program, e.Err, e.Output)
}

func (e *CommandError) Unwrap() error { return e.Err }

// run runs argv (no shell) with the backend's timeout and returns a
// *CommandError when it fails.
func (b *Backend) run(parent context.Context, argv []string) error {
	ctx, cancel := context.WithTimeout(parent, b.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second // output pipes held open by a child the kill missed
	err := cmd.Run()
	if err == nil {
		return nil
	}
	switch {
	case parent.Err() != nil:
		err = fmt.Errorf("stopped: %w (%w)", parent.Err(), err)
	case ctx.Err() != nil:
		err = fmt.Errorf("timed out after %s (%w)", b.timeout, err)
	}
	return &CommandError{Program: argv[0], Err: err, Output: lastLines(out.String(), maxOutputLines)}
}

// lastLines returns the last n lines of s, trimmed of surrounding blank
// space, with a note when lines were left out.
func lastLines(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return "[earlier lines left out]\n" + strings.Join(lines[len(lines)-n:], "\n")
}

// maxOutput bounds the output kept of a command.
const maxOutput = 64 << 10

// tailBuffer keeps the last maxOutput bytes written to it.
type tailBuffer struct {
	b   []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > maxOutput {
		t.b = append(t.b[:0], t.b[len(t.b)-maxOutput:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if t.cut {
		// The first line is probably cut: leave it out.
		if i := strings.IndexByte(string(t.b), '\n'); i >= 0 {
			return string(t.b[i+1:])
		}
	}
	return string(t.b)
}
