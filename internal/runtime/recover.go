package runtime

import (
	"fmt"
	"reflect"
	goruntime "runtime"

	"github.com/sluicehq/sluice/internal/plugin"
)

// A pipe runs plugin code (targets, enrichments, templates, filters) on the source's partition
// goroutines, which no caller can guard: a panic there would end the process and every other pipe with
// it. The runtime therefore recovers where it calls that code and turns the panic into an error of the
// pipe, keeping the record guarantee (a record is delivered, dead-lettered, or stays uncommitted):
//   - a panic inside an execution (enrichment template, enrichment, target template, target) is a
//     permanent failure of that execution: the retry policy and dead letters apply as for any permanent
//     failure (with a DeadLetterConfig the record is isolated and dead-lettered; without one the batch is
//     retried at the backoff cap, blocking its partition, as Pipes does for a record that keeps failing);
//   - a panic elsewhere in handling a batch (filtering, bookkeeping) fails the batch's handler, which
//     stops the source with the batch uncommitted: Run returns the error and the pipe's supervisor
//     records it (internal/api: the pipe becomes START_FAILED with an "internal error" reason);
//   - a panic writing dead letters is retried like a failing dead-letter destination.
// The stack goes to the pipe's log; the error carries only the panic value.

// PanicError is a panic recovered from code a pipe runs. It does not unwrap to the panic value (which
// may itself be an error): a panic is a defect, never a transient condition to retry as such.
type PanicError struct {
	// Where names the call that panicked ("target file:///x", "filtering a batch").
	Where string
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack.
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error: %s panicked: %v", e.Where, e.Value)
}

// Recovered turns a recover() result into a *PanicError with the current stack, or nil for nil.
func Recovered(where string, v any) *PanicError {
	if v == nil {
		return nil
	}
	buf := make([]byte, 16<<10)
	buf = buf[:goruntime.Stack(buf, false)]
	return &PanicError{Where: where, Value: v, Stack: buf}
}

// logPanic writes a recovered panic with its stack to the pipe's log.
func (p *Pipe) logPanic(pe *PanicError) {
	p.log.Error("recovered a panic; see the error for what it means for the records", "where", pe.Where,
		"panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
}

// guardStages runs the enrichment and target stages, turning a panic into a permanent failure of the
// execution (see the comment above).
func (p *Pipe) guardStages(f func() error) (err error) {
	defer func() {
		if pe := Recovered("the enrichment or target stage", recover()); pe != nil {
			p.logPanic(pe)
			err = plugin.Permanent(pe)
		}
	}()
	return f()
}

// guard runs f, turning a panic into a *PanicError.
func (p *Pipe) guard(where string, f func() error) (err error) {
	defer func() {
		if pe := Recovered(where, recover()); pe != nil {
			p.logPanic(pe)
			err = pe
		}
	}()
	return f()
}

// isNil reports whether a plugin factory's result is nil, including a nil pointer in a non-nil
// interface (a factory written as `return Open(c)` where Open returns (*T)(nil) and an error).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
