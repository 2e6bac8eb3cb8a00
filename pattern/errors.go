package pattern

import "errors"

// Error is a validation error in an event pattern. Path names the place in the pattern, as the dotted field names
// leading to it (with "[i]" for the i-th element of a value list or a $or branch); Reason says what is wrong.
type Error struct {
	Path   string
	Reason string
}

// Error returns "path: reason", or the reason alone for problems of the pattern as a whole.
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// ErrInvalidEvent is returned (wrapped) by the match functions when the event is not valid JSON.
var ErrInvalidEvent = errors.New("event is not valid JSON")
