package awsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
	"github.com/sluicehq/sluice/internal/plugin"
)

// EntryFailure is one entry a batch API refused (Kinesis PutRecords, Firehose PutRecordBatch): its index
// in the whole Deliver batch and the service's error code and message for it.
type EntryFailure struct {
	Index   int
	Code    string
	Message string
}

// SendChunks delivers n entries through a batch API whose calls carry at most maxCount entries and
// maxBytes bytes (size(i) is entry i's share of the request). send makes one call for entries [lo, hi)
// and returns the entries that call refused (ascending), or an error when the call failed as a whole.
//
// It stops at the first call that did not deliver everything, because the runtime resends from the first
// failed entry on (keeping per-key order): entries of later calls are reported failed without being sent.
// The result is nil, the classified error when nothing was delivered, or a *plugin.PartialError whose
// Failed lists the refused entries and every entry after the failing call.
func SendChunks(ctx context.Context, n, maxCount, maxBytes int, size func(i int) int,
	send func(ctx context.Context, lo, hi int) ([]EntryFailure, error)) error {
	for lo := 0; lo < n; {
		hi, bytes := lo, 0
		for hi < n && hi-lo < maxCount && (hi == lo || bytes+size(hi) <= maxBytes) {
			bytes += size(hi)
			hi++
		}
		failed, err := send(ctx, lo, hi)
		if err != nil {
			err = Classify(err)
			if lo == 0 {
				return err
			}
			return &plugin.PartialError{Failed: indexRange(nil, lo, n), Err: err}
		}
		if len(failed) > 0 {
			first := entryError(failed[0])
			if lo == 0 && len(failed) == hi && hi == n {
				return first // nothing was delivered: the whole batch failed
			}
			idx := make([]int, 0, len(failed)+n-hi)
			for _, f := range failed {
				idx = append(idx, f.Index)
			}
			return &plugin.PartialError{Failed: indexRange(idx, hi, n), Err: first}
		}
		lo = hi
	}
	return nil
}

// entryError turns an entry's error code into a classified error (a throttling code counts as overload
// like a throttled call does).
func entryError(f EntryFailure) error {
	err := fmt.Errorf("entry %d refused: %w", f.Index, &smithy.GenericAPIError{Code: f.Code, Message: f.Message})
	c := Classify(errors.Unwrap(err))
	var th *plugin.ThrottledError
	switch {
	case errors.As(c, &th):
		return &plugin.ThrottledError{Err: err}
	case plugin.IsPermanent(c):
		return plugin.Permanent(err)
	}
	return err
}

func indexRange(dst []int, lo, hi int) []int {
	for i := lo; i < hi; i++ {
		dst = append(dst, i)
	}
	return dst
}

// Refused lists the entries of one batch call that the service refused. count is the call's failed
// count (FailedRecordCount, FailedPutCount); entry j of its n response entries, which is entry lo+j of
// the Deliver batch, was refused when code(j) returns a code. A count with no codes is an error of the
// whole call.
func Refused(lo int, count int32, n int, code func(j int) (code, message *string)) ([]EntryFailure, error) {
	if count == 0 {
		return nil, nil
	}
	var failed []EntryFailure
	for j := range n {
		if c, m := code(j); c != nil {
			msg := ""
			if m != nil {
				msg = *m
			}
			failed = append(failed, EntryFailure{Index: lo + j, Code: *c, Message: msg})
		}
	}
	if len(failed) == 0 {
		return nil, fmt.Errorf("%d entries failed without an error code", count)
	}
	return failed, nil
}

// EachEvent delivers n events one call each (the targets Pipes cannot batch: ECS, Batch, Redshift Data,
// SageMaker pipelines), in order, stopping at the first failure: the classified error when it is the
// first event, else a *plugin.PartialError from that event on.
func EachEvent(ctx context.Context, n int, call func(ctx context.Context, i int) error) error {
	for i := range n {
		if err := call(ctx, i); err != nil {
			err = Classify(err)
			if i == 0 {
				return err
			}
			return &plugin.PartialError{Failed: indexRange(nil, i, n), Err: err}
		}
	}
	return nil
}
