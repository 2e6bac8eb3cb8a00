// Package plugin holds the seams between the pipe runtime and its parts: the Enricher and Target
// interfaces, the errors they use to tell the runtime how to react, and the registry whose entries (specs)
// own everything kind-specific about a target or enrichment: its parameters and their validation, its
// batch and payload limits, and its constructor. It holds no implementations (spec.go, registry.go).
package plugin

import (
	"context"
	"errors"
	"time"
)

// MaxPayloadBytes is the Pipes payload limit (6 MB): the most one invocation carries, whether a source
// batch, the payload sent to a target or enrichment, or the response an enrichment returns. It is also the
// largest payload one event may have once the input template is applied; a larger one is a permanent
// failure of that record.
const MaxPayloadBytes = 6 << 20

// Closer is implemented by parts holding connections or files.
type Closer interface {
	Close(ctx context.Context) error
}

// PermanentError marks a failure that retrying cannot fix (a 4xx other than 429, a malformed payload).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that IsPermanent reports true.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// ThrottledError marks a failure caused by the far side asking us to slow down (HTTP 429), with the delay
// it asked for (zero when it named none).
type ThrottledError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// RetryAfterError carries a server's Retry-After on a retryable failure (503 with Retry-After).
type RetryAfterError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }
