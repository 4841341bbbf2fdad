package config

import (
	"path/filepath"
	"strings"
)

// credentialFile resolves the path of a credential file named at f (a
// password file, keytab, ccache or krb5.conf): absolute, or relative to the
// config's directory; a secret written as a bare file name is looked up in
// $CREDENTIALS_DIRECTORY when systemd sets it. It returns the path ("" when
// none is written) and the value as written.
func (l *loader) credentialFile(f field, secret bool) (path, written string) {
	s, _ := l.scalar(f)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	written = s
	if secret && isCredentialName(s) {
		if d := l.env["CREDENTIALS_DIRECTORY"]; d != "" {
			s = filepath.Join(d, s)
		}
	}
	path, _ = l.path(f, s)
	return path, written
}

// readPassword reads the password file at path (named at f, written as
// written): its first line, the file readable by its owner only.
func (l *loader) readPassword(f field, path, written string) (Secret, bool) {
	data, msg := readSecretFile(path, written, l.env["CREDENTIALS_DIRECTORY"])
	if msg != "" {
		l.probs.add(f.path, "%s", msg)
		return "", false
	}
	pw, _, _ := strings.Cut(string(data), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		l.probs.add(f.path, "%s holds no password (its first line is empty)", path)
		return "", false
	}
	return Secret(pw), true
}

// checkPrivate checks that the keytab or ccache at path (named at f) is
// readable by its owner only: a keytab holds an account's keys, a ccache
// its ticket and session key.
func (l *loader) checkPrivate(f field, path string) bool {
	if path == "" {
		return true
	}
	if _, msg := readSecretFile(path, "", l.env["CREDENTIALS_DIRECTORY"]); msg != "" {
		l.probs.add(f.path, "%s", msg)
		return false
	}
	return true
}

// countSet returns how many of values are not empty.
func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}
