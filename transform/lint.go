package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// This file checks, at definition time, that a template which looks like JSON can render to JSON. Pipes accepts
// any text as a template, so a mistake such as a missing closing brace is not an error: the pipe would deliver
// text that is not JSON to a target that probably expects JSON. Lint finds it before the first event does.

// lintValues are what each placeholder outside quotes is replaced by when Lint renders the template's skeleton.
// A JSON string is valid wherever any JSON value is, and also as an object key ({<$.key>: 1} is JSON when the
// path holds a string); a number covers the one place a string cannot go, glued to a number ([-<$.n>], 1.<$.f>).
// Inside quotes every value is written as string content, which cannot break the JSON, so it is replaced by
// nothing. A template is reported only when neither rendering is JSON.
var lintValues = []string{`""`, `1`}

// Lint reports a template that starts like JSON (its first non-blank character is '{' or '[') but cannot
// render to JSON whatever its placeholders hold: an unclosed brace, a missing comma, text after the value.
// The error is an *Error naming the line and column, in the template, of the first problem (the end of the
// template when something is not closed). Lint returns nil for a template that renders to JSON and for a
// free-text template. Pipes accepts any text as a template, so callers report this as a warning.
func (t *Template) Lint() error {
	first := skipWS([]byte(t.src), 0)
	if first >= len(t.src) || (t.src[first] != '{' && t.src[first] != '[') {
		return nil
	}
	var firstErr *Error
	for _, v := range lintValues {
		skel, spans := t.skeleton(v)
		off, reason, ok := jsonError(skel)
		if ok {
			return nil
		}
		if firstErr == nil {
			firstErr = newError("input template", t.src, t.sourceOffset(off, spans),
				"starts like JSON but does not render to JSON: %s", reason)
		}
	}
	return firstErr
}

// span maps one placeholder: it starts at src in the template (at its '<') and at skel in the skeleton,
// where it takes n bytes.
type span struct{ src, skel, n int }

// skeleton renders the template with every placeholder outside quotes replaced by value and every placeholder
// inside quotes by nothing, and records where each placeholder went.
func (t *Template) skeleton(value string) ([]byte, []span) {
	var b bytes.Buffer
	spans := make([]span, 0, len(t.parts))
	src := 0
	for i := range t.parts {
		p := &t.parts[i]
		b.WriteString(p.text)
		src += len(p.text)
		if !p.has {
			continue
		}
		s := span{src: src, skel: b.Len()}
		if p.ctx == ctxValue {
			b.WriteString(value)
			s.n = len(value)
		}
		spans = append(spans, s)
		// The placeholder in the template is '<' name '>', where the name runs to the next '>'.
		src += strings.IndexByte(t.src[src:], '>') + 1
	}
	return b.Bytes(), spans
}

// sourceOffset converts a byte offset in the skeleton back into the template: static text is the same in
// both; an offset within a placeholder's value points at the placeholder.
func (t *Template) sourceOffset(off int, spans []span) int {
	shift := 0 // template offset minus skeleton offset for the static text at off
	for _, s := range spans {
		if off < s.skel {
			break
		}
		if off < s.skel+s.n {
			return s.src
		}
		end := s.src + strings.IndexByte(t.src[s.src:], '>') + 1
		shift = end - (s.skel + s.n)
	}
	return off + shift
}

// jsonError reports whether b is exactly one JSON value and, when it is not, the byte offset of the first
// problem and what it is.
func jsonError(b []byte) (off int, reason string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			// Offset counts the bytes read, the offending one included.
			return int(se.Offset) - 1, se.Error(), false
		case errors.Is(err, io.ErrUnexpectedEOF):
			return len(bytes.TrimRight(b, " \t\r\n")), "an object, array or string is not closed", false
		}
		return 0, err.Error(), false
	}
	end := int(dec.InputOffset())
	if rest := skipWS(b, end); rest < len(b) {
		return rest, "unexpected text after the JSON value", false
	}
	return 0, "", true
}
