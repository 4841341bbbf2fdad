package bindfile

import "errors"

// token is one word of a zone file: its bytes as written (quotes and
// escapes included) and where it is.
type token struct {
	text       string
	start, end int // byte offsets in the file
	line       int // 1-based
}

// entry is one logical line of a zone file (RFC 1035 5.1): a directive or a
// resource record, which parentheses may continue over several lines.
type entry struct {
	tokens []token
	// owner reports whether the first token starts at the beginning of a
	// line: it is then an owner name or a directive ($ORIGIN, $TTL,
	// $INCLUDE, $GENERATE); otherwise the entry has the previous owner.
	owner bool
}

func (e entry) line() int { return e.tokens[0].line }

// directive returns the entry's directive in upper case ("$INCLUDE"), or ""
// for a resource record.
func (e entry) directive() string {
	if !e.owner || e.tokens[0].text == "" || e.tokens[0].text[0] != '$' {
		return ""
	}
	return upper(e.tokens[0].text)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// entries splits a zone file into its entries the way BIND's and miekg/dns's
// lexers do: ";" starts a comment up to the end of the line, "\" escapes the
// next character (but not a newline), quotes group words, and a newline ends
// an entry unless it is inside parentheses. Entries without tokens (blank
// lines, comments) are left out.
func entries(data []byte) ([]entry, error) {
	var (
		out     []entry
		cur     entry
		tok     []byte
		start   int
		line    = 1
		tokLine int
		depth   int // parentheses
		parLine int // line of the outermost open parenthesis
		quote   bool
		qLine   int
		escape  bool
		comment bool
		bol     = true // at the beginning of a line, before any character
		tokBOL  bool
	)
	flush := func(end int) {
		if tok == nil {
			return
		}
		if len(cur.tokens) == 0 {
			cur.owner = tokBOL
		}
		cur.tokens = append(cur.tokens, token{text: string(tok), start: start, end: end, line: tokLine})
		tok = nil
	}
	add := func(i int, c byte) {
		if tok == nil {
			start, tokLine, tokBOL = i, line, bol
			tok = []byte{}
		}
		tok = append(tok, c)
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			escape, comment = false, false
			if quote {
				add(i, c)
				line++
				bol = true
				continue
			}
			flush(i)
			if depth == 0 && len(cur.tokens) > 0 {
				out = append(out, cur)
				cur = entry{}
			}
			line++
			bol = true
			continue
		case comment:
		case escape:
			add(i, c)
			escape = false
		case c == '\\':
			add(i, c)
			escape = true
		case quote:
			add(i, c)
			if c == '"' {
				quote = false
			}
		case c == '"':
			add(i, c)
			quote, qLine = true, line
		case c == ';':
			flush(i)
			comment = true
		case c == ' ' || c == '\t' || c == '\r':
			flush(i)
		case c == '(':
			flush(i)
			if depth == 0 {
				parLine = line
			}
			depth++
		case c == ')':
			flush(i)
			if depth == 0 {
				return nil, &lineError{line: line, err: errors.New(`")" without "("`)}
			}
			depth--
		default:
			add(i, c)
		}
		bol = false
	}
	switch {
	case quote:
		return nil, &lineError{line: qLine, err: errors.New("a quote is not closed")}
	case depth > 0:
		return nil, &lineError{line: parLine, err: errors.New(`"(" is not closed`)}
	}
	flush(len(data))
	if len(cur.tokens) > 0 {
		out = append(out, cur)
	}
	return out, nil
}
