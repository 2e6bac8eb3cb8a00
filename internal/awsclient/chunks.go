package awsclient

import (
	"errors"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Chunks sends n entries as consecutive requests [lo, hi), in order, each holding at most maxCount
// entries (0: no limit) and at most maxBytes bytes counted by size(i) (maxBytes 0: no limit), for the
// batch APIs whose requests are limited in total size as well as in entries (SQS SendMessageBatch and
// SNS PublishBatch 256 KiB, Kinesis PutRecords 5 MiB, Firehose PutRecordBatch 4 MiB, EventBridge
// PutEvents 256 KiB, CloudWatch Logs PutLogEvents 1 MiB). An entry larger than maxBytes on its own is
// sent alone, for the service to refuse.
//
// It stops at the first failure. Since the requests before it were delivered, a failure of a request
// starting at lo > 0 is returned as a *plugin.PartialError whose Failed holds lo..n-1, so that the
// runtime resends from lo on only; a *plugin.PartialError returned by send for its own request (failed
// entries of a batch API, indexes relative to lo) gets its indexes moved by lo and the rest of the
// batch, lo'..n-1 past hi, appended. A failure of the first request is returned as it is.
func Chunks(n, maxCount, maxBytes int, size func(i int) int, send func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		hi, total := lo, 0
		for hi < n && (maxCount <= 0 || hi-lo < maxCount) {
			s := 0
			if maxBytes > 0 {
				s = size(hi)
				if hi > lo && total+s > maxBytes {
					break
				}
			}
			total += s
			hi++
		}
		if err := send(lo, hi); err != nil {
			return shiftFailure(err, lo, hi, n)
		}
		lo = hi
	}
	return nil
}

// shiftFailure turns the failure of request [lo, hi) into the failure of the whole batch of n.
func shiftFailure(err error, lo, hi, n int) error {
	var pe *plugin.PartialError
	if errors.As(err, &pe) {
		if lo == 0 && hi == n {
			return err
		}
		failed := make([]int, 0, len(pe.Failed)+n-hi)
		for _, i := range pe.Failed {
			failed = append(failed, lo+i)
		}
		for i := hi; i < n; i++ {
			failed = append(failed, i)
		}
		return &plugin.PartialError{Failed: failed, Err: pe.Err}
	}
	if lo == 0 {
		return err
	}
	failed := make([]int, 0, n-lo)
	for i := lo; i < n; i++ {
		failed = append(failed, i)
	}
	return &plugin.PartialError{Failed: failed, Err: err}
}
