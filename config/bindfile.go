package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// bindfile decodes the keys of a bindfile zone (file, zone_file,
// check_command, reload_command) into z, or reports them on a zone of
// another backend (other). It returns false after a problem.
func (l *loader) bindfile(z *Zone, m *fields, other bool) bool {
	ok := true
	keys := []string{"file", "zone_file", "check_command", "reload_command"}
	if other {
		for _, k := range keys {
			if f := m.get(k); !f.absent() {
				l.probs.add(f.path, "only backend bindfile uses %s", k)
				ok = false
			}
		}
		return ok
	}
	ff := m.get("file")
	switch file, present := l.scalar(ff); {
	case present && file != "":
		var good bool
		if z.File, good = l.path(ff, file); !good {
			ok = false
		} else if first, dup := l.fragments[z.File]; dup {
			l.probs.add(ff.path, "%s is the fragment of %s too: each zone needs its own", z.File, first)
			ok = false
		} else {
			if l.fragments == nil {
				l.fragments = map[string]string{}
			}
			l.fragments[z.File] = ff.path
		}
	case present || ff.absent():
		l.probs.add(ff.path, "missing: backend bindfile needs the fragment file to write (for $INCLUDE in the zone file)")
		ok = false
	default:
		ok = false // not a single value: reported
	}
	zf := m.get("zone_file")
	if file, present := l.scalar(zf); present && file != "" {
		var good bool
		if z.ZoneFile, good = l.path(zf, file); !good {
			ok = false
		} else if z.ZoneFile == z.File {
			l.probs.add(zf.path, "the zone file is the fragment file itself: the fragment is $INCLUDEd by it")
			ok = false
		}
	} else if !present && !zf.absent() {
		ok = false
	}
	var good bool
	if z.CheckCommand, good = l.command(m.get("check_command"), z.ZoneFile != "", m.get("zone_file").path); !good {
		ok = false
	}
	if z.ReloadCommand, good = l.command(m.get("reload_command"), z.ZoneFile != "", m.get("zone_file").path); !good {
		ok = false
	}
	return ok
}

// path checks a file path from the config, made absolute against the
// config's directory.
func (l *loader) path(f field, p string) (string, bool) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.dir, p)
	}
	p = filepath.Clean(p)
	if msg := checkPath(p); msg != "" {
		l.probs.add(f.path, "%s", msg)
		return "", false
	}
	return p, true
}

// checkPath refuses paths that could break out of the quoted strings they
// are written into ($INCLUDE "<file>", include "<secret_file>";): quotes,
// backslashes, semicolons, braces, control characters and newlines.
func checkPath(p string) string {
	for _, r := range p {
		if unicode.IsControl(r) || strings.ContainsRune("\"\\;{}", r) {
			return fmt.Sprintf("%q: a path here must not contain quotes, backslashes, semicolons, braces or control characters (it is written into named.conf and zone files)", p)
		}
	}
	return ""
}

// placeholder matches the {name} placeholders of commands.
var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// command decodes an argv list (no shell). Placeholders are {zone}, {file}
// and {zone_file}; the last only when the zone has a zone_file
// (hasZoneFile; zoneFilePath names that key).
func (l *loader) command(f field, hasZoneFile bool, zoneFilePath string) ([]string, bool) {
	if f.absent() {
		return nil, true
	}
	items, ok := l.list(f, "command arguments (an argv list, run without a shell)")
	if !ok {
		return nil, false
	}
	if len(items) == 0 {
		l.probs.add(f.path, "an empty command: leave the key out to run nothing")
		return nil, false
	}
	var argv []string
	for i, it := range items {
		arg, present := l.scalar(it)
		if !present {
			if it.absent() {
				l.probs.add(it.path, "empty: want an argument")
			}
			return nil, false
		}
		if strings.ContainsFunc(arg, unicode.IsControl) {
			l.probs.add(it.path, "%q contains a control character", arg)
			return nil, false
		}
		for _, ph := range placeholder.FindAllString(arg, -1) {
			switch ph {
			case "{zone}", "{file}":
			case "{zone_file}":
				if !hasZoneFile {
					l.probs.add(it.path, "{zone_file} is used but %s is not set", zoneFilePath)
					return nil, false
				}
			default:
				l.probs.add(it.path, "unknown placeholder %s (known: {zone}, {file}, {zone_file})", ph)
				return nil, false
			}
		}
		if i == 0 && arg == "" {
			l.probs.add(it.path, "empty program name")
			return nil, false
		}
		argv = append(argv, arg)
	}
	return argv, true
}
