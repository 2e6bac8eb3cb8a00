package transform

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrMalformedEvent is returned (wrapped) by Render and Lookup when a path walks into a part of the event that is
// not well-formed JSON. An event that is not JSON at all is not an error: its paths are simply missing.
var ErrMalformedEvent = errors.New("event is not well-formed JSON")

// ErrTooLarge is matched (errors.Is) by the *SizeError that RenderLimit returns when the rendered output would be
// longer than its limit.
var ErrTooLarge = errors.New("rendered payload too large")

// SizeError is a rendered output that exceeded the limit given to RenderLimit. Rendering stopped at the limit;
// the event's full output size is not known.
type SizeError struct {
	// Limit is the limit in bytes that was exceeded.
	Limit int
}

// Error implements error.
func (e *SizeError) Error() string {
	return fmt.Sprintf("rendered payload is larger than the %d-byte limit", e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

// Error is a definition-time problem in an input template or a JSON path. It names the position so that a user
// can find the mistake in a long template.
type Error struct {
	// Input is what was parsed: "input template" or "json path".
	Input string
	// Offset is the byte offset of the problem in the parsed text.
	Offset int
	// Line and Column (both from 1, Column counted in characters) locate Offset for people.
	Line, Column int
	// Reason says what is wrong, in lowercase.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: line %d, column %d: %s", e.Input, e.Line, e.Column, e.Reason)
}

// newError locates offset in src and builds an *Error.
func newError(input, src string, offset int, format string, args ...any) *Error {
	if offset > len(src) {
		offset = len(src)
	}
	line, col := 1, 1
	for i := 0; i < offset; {
		r, n := utf8.DecodeRuneInString(src[i:])
		i += n
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &Error{Input: input, Offset: offset, Line: line, Column: col, Reason: fmt.Sprintf(format, args...)}
}
