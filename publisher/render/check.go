package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/srvctl/srvctl/zones"
)

// CheckTimeout bounds CheckNamedConf when its context has no deadline.
const CheckTimeout = 30 * time.Second

// CheckNamedConf checks snippet, the output of WriteNamedConf for zones,
// with the real named-checkconf (without -z: zone files are not loaded).
// It writes a temporary named.conf that is the snippet with each of its
// zone-level statements (update-policy, allow-update) wrapped, on the same
// line, into a minimal zone block for its zone, with a dummy file path, so
// that named-checkconf's line numbers are the snippet's; zones without such
// a statement (bindfile) get a minimal zone block at the end. The
// commented-out options block WriteNamedConf prints for GSS-TSIG (lines
// "//options {" to "//};") is uncommented, so that its statements are
// checked too (named-checkconf does not open the keytab). The
// statements are matched with the rfc2136 zones in the order WriteNamedConf
// prints them (by name). Included files (tsig-keygen keys) are read by
// named-checkconf: they must exist and be readable, and a relative path is
// relative to the working directory.
//
// When named-checkconf fails, the error holds its output, the temporary
// file named "snippet" and the secrets of key statements replaced by
// "[redacted]". named-checkconf is looked up in PATH, then in /usr/sbin,
// /usr/bin and /usr/local/sbin; it runs under ctx, or CheckTimeout when
// ctx has no deadline.
func CheckNamedConf(ctx context.Context, snippet []byte, zones []Zone) error {
	checkconf, err := checkconfPath()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "srvctl-checkconf-")
	if err != nil {
		return fmt.Errorf("checking named.conf: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := checkQuotable(dir); err != nil {
		return fmt.Errorf("checking named.conf: temporary directory %q: %w", dir, err)
	}
	conf, secrets, err := assemble(uncommentOptions(snippet), zones, func(zone string) string {
		return filepath.Join(dir, "db."+zone)
	})
	if err != nil {
		return fmt.Errorf("checking named.conf: %w", err)
	}
	path := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		return fmt.Errorf("checking named.conf: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CheckTimeout)
		defer cancel()
	}
	out, err := exec.CommandContext(ctx, checkconf, path).CombinedOutput()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("checking named.conf with %s: %w", checkconf, ctx.Err())
	}
	return fmt.Errorf("named-checkconf rejected the named.conf statements (%w):\n%s", err, checkconfOutput(out, path, secrets))
}

// checkconfOutput is named-checkconf's output for an error: the temporary
// file at path called "snippet", and secrets replaced by "[redacted]".
func checkconfOutput(out []byte, path string, secrets []string) string {
	msg := strings.ReplaceAll(strings.TrimSpace(string(out)), path, "snippet")
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// checkconfPath finds named-checkconf: in PATH, else where Debian and a
// source build install it (often not in a user's PATH).
func checkconfPath() (string, error) {
	if p, err := exec.LookPath("named-checkconf"); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, "named-checkconf")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("named-checkconf (BIND 9) is not installed; install it with `apt-get install bind9-utils`")
}

// assemble turns a snippet into named.conf: each zone-level statement
// wrapped into a zone block on its own lines, and a zone block at the end
// for every zone without one; file gives each zone's file. It also
// returns the secrets of the snippet's key statements.
func assemble(snippet []byte, zs []Zone, file func(zone string) string) ([]byte, []string, error) {
	withPolicy, without, err := zoneOrder(zs)
	if err != nil {
		return nil, nil, err
	}
	stmts, secrets, err := statements(snippet)
	if err != nil {
		return nil, nil, err
	}
	var zoneLevel []stmt
	for _, s := range stmts {
		if s.first == "update-policy" || s.first == "allow-update" {
			zoneLevel = append(zoneLevel, s)
		}
	}
	if len(zoneLevel) != len(withPolicy) {
		return nil, nil, fmt.Errorf("the statements hold %d update-policy or allow-update statements for %d rfc2136 zones", len(zoneLevel), len(withPolicy))
	}
	var b bytes.Buffer
	prev := 0
	for i, s := range zoneLevel {
		f := file(withPolicy[i])
		if err := checkQuotable(f); err != nil {
			return nil, nil, fmt.Errorf("zone %s: file %q: %w", withPolicy[i], f, err)
		}
		b.Write(snippet[prev:s.start])
		fmt.Fprintf(&b, "zone %s { type primary; file %s; ", quote(withPolicy[i]), quote(f))
		b.Write(snippet[s.start:s.end])
		b.WriteString(" };")
		prev = s.end
	}
	b.Write(snippet[prev:])
	if len(snippet) > 0 && snippet[len(snippet)-1] != '\n' {
		b.WriteString("\n")
	}
	for _, z := range without {
		f := file(z)
		if err := checkQuotable(f); err != nil {
			return nil, nil, fmt.Errorf("zone %s: file %q: %w", z, f, err)
		}
		fmt.Fprintf(&b, "zone %s { type primary; file %s; };\n", quote(z), quote(f))
	}
	return b.Bytes(), secrets, nil
}

// uncommentOptions returns snippet with the "//" taken off the lines of its
// commented-out options blocks: from a line "//options {" to the next line
// "//};", every line of which starts with "//". Line numbers stay.
func uncommentOptions(snippet []byte) []byte {
	lines := bytes.SplitAfter(snippet, []byte("\n"))
	out := make([]byte, 0, len(snippet))
	for i := 0; i < len(lines); i++ {
		if string(bytes.TrimRight(lines[i], "\r\n")) != "//options {" {
			out = append(out, lines[i]...)
			continue
		}
		end := -1
		for j := i + 1; j < len(lines) && bytes.HasPrefix(lines[j], []byte("//")); j++ {
			if string(bytes.TrimRight(lines[j], "\r\n")) == "//};" {
				end = j
				break
			}
		}
		if end < 0 {
			out = append(out, lines[i]...)
			continue
		}
		for ; i <= end; i++ {
			out = append(out, lines[i][2:]...)
		}
		i--
	}
	return out
}

// zoneOrder returns the names (no trailing dot) of the rfc2136 zones,
// which have an update-policy or allow-update statement, and of the
// others, each sorted as WriteNamedConf prints them.
func zoneOrder(zs []Zone) (withPolicy, without []string, err error) {
	seen := map[string]bool{}
	for _, z := range zs {
		if err := zones.CheckZoneName(z.Name); err != nil {
			return nil, nil, fmt.Errorf("zone name: %w", err)
		}
		name := strings.TrimSuffix(zones.Canonical(z.Name), ".")
		if seen[name] {
			return nil, nil, fmt.Errorf("zone %s: given twice", name)
		}
		seen[name] = true
		switch z.Backend {
		case "", backendRFC2136:
			withPolicy = append(withPolicy, name)
		case backendBindfile:
			without = append(without, name)
		default:
			return nil, nil, fmt.Errorf("zone %s: backend %q: want %q or %q", name, z.Backend, backendRFC2136, backendBindfile)
		}
	}
	slices.Sort(withPolicy)
	slices.Sort(without)
	return withPolicy, without, nil
}

// stmt is a top-level named.conf statement: its bytes are
// snippet[start:end], up to and including the ";"; first is its first word.
type stmt struct {
	start, end int
	first      string
}

// statements splits named.conf text into its top-level statements the way
// named's lexer reads it: comments (//, #, /* */) are skipped, strings are
// quoted with backslash escapes, braces nest, and ";" at depth 0 ends a
// statement. It also returns the strings that follow the word "secret".
func statements(src []byte) ([]stmt, []string, error) {
	var (
		out        []stmt
		secrets    []string
		depth      int
		cur        *stmt
		prevSecret bool
		line       = 1
	)
	begin := func(at int, word string) {
		if cur == nil {
			cur = &stmt{start: at, first: word}
		}
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' || c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return nil, nil, fmt.Errorf("line %d: unterminated /* comment", line)
			}
			line += bytes.Count(src[i:i+2+end+2], []byte("\n"))
			i += 2 + end + 2
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, nil, fmt.Errorf("line %d: unterminated string", line)
			}
			begin(i, "")
			if prevSecret {
				secrets = append(secrets, string(src[i+1:j]))
			}
			prevSecret = false
			line += bytes.Count(src[i:j], []byte("\n"))
			i = j + 1
		case c == '{':
			begin(i, "")
			depth++
			prevSecret = false
			i++
		case c == '}':
			if depth == 0 {
				return nil, nil, fmt.Errorf("line %d: unbalanced }", line)
			}
			depth--
			prevSecret = false
			i++
		case c == ';':
			i++
			prevSecret = false
			if depth == 0 {
				if cur == nil {
					return nil, nil, fmt.Errorf("line %d: empty statement", line)
				}
				cur.end = i
				out = append(out, *cur)
				cur = nil
			}
		default:
			j := i
			for j < len(src) && !bytes.ContainsRune([]byte(" \t\r\n{};\"#"), rune(src[j])) &&
				!(src[j] == '/' && j+1 < len(src) && (src[j+1] == '/' || src[j+1] == '*')) {
				j++
			}
			word := string(src[i:j])
			begin(i, word)
			prevSecret = word == "secret"
			i = j
		}
	}
	if depth != 0 || cur != nil {
		return nil, nil, fmt.Errorf("line %d: the last statement is not terminated", line)
	}
	return out, secrets, nil
}
