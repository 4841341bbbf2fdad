package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/srvctl/srvctl/zones"
)

// algorithms returns the TSIG algorithms srvctl knows, by their short
// names, the recommended ones first.
func algorithms() []string {
	return []string{"hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"}
}

// parseAlgorithm returns the short name of a TSIG algorithm written as in
// named.conf or on the wire: case-insensitive, trailing dot optional,
// "hmac-md5.sig-alg.reg.int" for hmac-md5.
func parseAlgorithm(s string) (string, bool) {
	a := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if a == "hmac-md5.sig-alg.reg.int" {
		a = "hmac-md5"
	}
	return a, slices.Contains(algorithms(), a)
}

// algorithmList is the list of known algorithms for error messages.
func algorithmList() string { return strings.Join(algorithms(), ", ") }

// checkTSIGName reports whether name is a usable TSIG key name: a domain
// name (trailing dot optional) of labels of 1 to 63 letters, digits, hyphens
// and underscores, at most 253 characters. Unlike host names, a key name may
// be a single label ("srvctl-corp"), as tsig-keygen makes them.
func checkTSIGName(name string) error {
	n := strings.TrimSuffix(name, ".")
	switch {
	case n == "":
		return errors.New("empty name")
	case len(n) > 253:
		return errors.New("name longer than 253 characters")
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" {
			return errors.New("empty label")
		}
		if len(l) > 63 {
			return errors.New("label longer than 63 characters")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return errors.New("only letters, digits, hyphens, underscores and dots are allowed")
			}
		}
	}
	return nil
}

// Secret is a TSIG secret (base64). It never prints: every fmt verb, JSON,
// YAML and text marshalling give "[redacted]". Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself, for the code that signs with it.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return redacted }

// Format writes "[redacted]" whatever the verb and flags.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON returns the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]".
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalYAML returns "[redacted]".
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// ParseSecret parses the content of a secret file. It is either a key
// statement as tsig-keygen writes it and named.conf includes it:
//
//	key "srvctl-corp" {
//		algorithm hmac-sha256;
//		secret "base64...";
//	};
//
// with comments (#, //, /* */) allowed, the key name quoted or not, and
// exactly one key statement; ParseSecret returns its name (canonical), its
// algorithm (short name, "" if the statement has none) and its secret. Or it
// is a bare base64 secret, one token with optional surrounding whitespace;
// ParseSecret returns "" for the name and the algorithm. In both forms the
// secret must be non-empty standard base64.
//
// Errors say what is wrong and where (line numbers), never quoting the
// content of the file, so they cannot leak a secret.
func ParseSecret(data []byte) (name, algorithm, secret string, err error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return "", "", "", errors.New("the file is empty")
	}
	if !bytes.ContainsFunc(trimmed, func(r rune) bool { return isSpace(r) || strings.ContainsRune(`{};"`, r) }) {
		// A bare secret. It may start with "//", which is valid base64.
		if err := checkBase64(string(trimmed)); err != nil {
			return "", "", "", err
		}
		return "", "", string(trimmed), nil
	}
	toks, err := lex(data)
	if err != nil {
		return "", "", "", err
	}
	p := parser{toks: toks}
	return p.file()
}

// checkBase64 reports whether s is a non-empty standard base64 string. Its
// error does not quote s.
func checkBase64(s string) error {
	if s == "" {
		return errors.New("the secret is empty")
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return errors.New("the secret is not valid base64")
	}
	if len(raw) == 0 {
		return errors.New("the secret is empty")
	}
	return nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

// token kinds.
const (
	tWord   = 'w' // an unquoted word
	tString = 's' // a quoted string, without its quotes
)

// token is one token of a named.conf key statement: a word, a string or one
// of the punctuation characters { } ;.
type token struct {
	kind byte
	text string
	line int
}

// lex splits named.conf text into tokens, dropping whitespace and comments.
// Comments start where a token could: "#" and "//" to the end of the line,
// "/* ... */" across lines. Strings are double-quoted, with backslash
// escaping the next character.
func lex(data []byte) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\n':
			line++
			i++
		case isSpace(rune(c)):
			i++
		case c == '#' || c == '/' && i+1 < len(data) && data[i+1] == '/':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(data) && data[i+1] == '*':
			start := line
			end := bytes.Index(data[i+2:], []byte("*/"))
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated /* comment", start)
			}
			line += bytes.Count(data[i:i+2+end], []byte("\n"))
			i += 2 + end + 2
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, token{kind: c, line: line})
			i++
		case c == '"':
			start := line
			var b strings.Builder
			i++
			for {
				if i >= len(data) {
					return nil, fmt.Errorf("line %d: unterminated string", start)
				}
				c := data[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' && i+1 < len(data) {
					i++
					c = data[i]
				}
				if c == '\n' {
					line++
				}
				b.WriteByte(c)
				i++
			}
			toks = append(toks, token{kind: tString, text: b.String(), line: start})
		default:
			j := i
			for j < len(data) && !isSpace(rune(data[j])) && !strings.ContainsRune(`{};"`, rune(data[j])) {
				j++
			}
			toks = append(toks, token{kind: tWord, text: string(data[i:j]), line: line})
			i = j
		}
	}
	return toks, nil
}

// parser reads one key statement from tokens.
type parser struct {
	toks []token
	i    int
}

// next returns the next token, or a token of kind 0 at the end.
func (p *parser) next() token {
	if p.i >= len(p.toks) {
		line := 1
		if len(p.toks) > 0 {
			line = p.toks[len(p.toks)-1].line
		}
		return token{line: line}
	}
	t := p.toks[p.i]
	p.i++
	return t
}

// describe names a token kind for error messages without quoting its text.
func (t token) describe() string {
	switch t.kind {
	case 0:
		return "the end of the file"
	case tWord:
		return "a word"
	case tString:
		return "a string"
	default:
		return fmt.Sprintf("%q", t.kind)
	}
}

func (p *parser) expect(kind byte, what string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, fmt.Errorf("line %d: expected %s, found %s", t.line, what, t.describe())
	}
	return t, nil
}

// file parses exactly one key statement.
func (p *parser) file() (name, algorithm, secret string, err error) {
	if len(p.toks) == 0 {
		return "", "", "", errors.New("no key statement (only comments)")
	}
	found := false
	for p.i < len(p.toks) {
		t := p.next()
		if t.kind != tWord || !strings.EqualFold(t.text, "key") {
			return "", "", "", fmt.Errorf("line %d: expected a key statement, found %s", t.line, t.describe())
		}
		if found {
			return "", "", "", fmt.Errorf("line %d: a second key statement (want exactly one)", t.line)
		}
		found = true
		if name, algorithm, secret, err = p.key(); err != nil {
			return "", "", "", err
		}
	}
	return name, algorithm, secret, nil
}

// key parses a key statement after its "key" keyword.
func (p *parser) key() (name, algorithm, secret string, err error) {
	t := p.next()
	if t.kind != tWord && t.kind != tString {
		return "", "", "", fmt.Errorf("line %d: expected the key name after \"key\", found %s", t.line, t.describe())
	}
	if err := checkTSIGName(t.text); err != nil {
		return "", "", "", fmt.Errorf("line %d: the key name is not a valid domain name: %w", t.line, err)
	}
	name = zones.Canonical(t.text)
	if _, err := p.expect('{', `"{" after the key name`); err != nil {
		return "", "", "", err
	}
	var haveAlg, haveSecret bool
	for {
		t := p.next()
		if t.kind == '}' {
			break
		}
		if t.kind != tWord {
			return "", "", "", fmt.Errorf("line %d: expected algorithm, secret or \"}\", found %s", t.line, t.describe())
		}
		clause := strings.ToLower(t.text)
		v := p.next()
		if v.kind != tWord && v.kind != tString {
			return "", "", "", fmt.Errorf("line %d: expected a value after %s, found %s", v.line, clauseName(clause), v.describe())
		}
		switch clause {
		case "algorithm":
			if haveAlg {
				return "", "", "", fmt.Errorf("line %d: a second algorithm", t.line)
			}
			haveAlg = true
			a, ok := parseAlgorithm(v.text)
			if !ok {
				return "", "", "", fmt.Errorf("line %d: the algorithm is not a TSIG algorithm (%s)", v.line, algorithmList())
			}
			algorithm = a
		case "secret":
			if haveSecret {
				return "", "", "", fmt.Errorf("line %d: a second secret", t.line)
			}
			haveSecret = true
			// A quoted secret may be split across lines or spaces.
			secret = strings.Join(strings.Fields(v.text), "")
			if err := checkBase64(secret); err != nil {
				return "", "", "", fmt.Errorf("line %d: %w", v.line, err)
			}
		default:
			return "", "", "", fmt.Errorf("line %d: unknown clause in the key statement (want algorithm or secret)", t.line)
		}
		if _, err := p.expect(';', fmt.Sprintf(`";" after the %s`, clause)); err != nil {
			return "", "", "", err
		}
	}
	if !haveSecret {
		return "", "", "", fmt.Errorf("line %d: the key statement has no secret", t.line)
	}
	// named.conf wants "};"; accept a missing ";" at the end.
	if p.i < len(p.toks) && p.toks[p.i].kind == ';' {
		p.i++
	}
	return name, algorithm, secret, nil
}

// clauseName names a clause keyword for an error message; unknown words are
// not quoted, as they could be a misplaced secret.
func clauseName(clause string) string {
	if clause == "algorithm" || clause == "secret" {
		return clause
	}
	return "a word"
}
