package supervisor

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by the Manager's lifecycle calls once Close has begun (the server is shutting
// down).
var ErrClosed = errors.New("the server is shutting down")

// ErrBusy is matched (errors.Is) by a BusyError.
var ErrBusy = errors.New("pipe is changing state")

// BusyError is returned by UpdatePipe, StartPipe, StopPipe and DeletePipe (Manager.Update, Start, Stop,
// Delete) on a pipe in a transitional state that cannot be taken over (see Manager): the caller must
// wait until the pipe leaves State.
type BusyError struct {
	Name, State string
}

// Error returns the message the API sends with its ConflictException.
func (e *BusyError) Error() string {
	return fmt.Sprintf("Pipe %s is in state %s; wait until it leaves it.", e.Name, e.State)
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }
