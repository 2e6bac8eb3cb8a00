package awsclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Batch APIs (SQS SendMessageBatch, SNS PublishBatch, EventBridge PutEvents, CloudWatch Logs
// PutLogEvents) take a list of entries, limit a call by count and by bytes, and may refuse some entries
// of a call while accepting the others. SendEntries is what the targets built on them share: it cuts
// one Deliver batch into calls, sends them in order, and turns what the service refused into the
// plugin's errors, so that the runtime retries from the first undelivered entry.

// EntryFailure is one entry a batch API refused.
type EntryFailure struct {
	// Index is the entry's index in the Deliver batch (not in the call).
	Index int
	// Code and Message are the service's ("InternalError", "ThrottlingException", ...).
	Code, Message string
	// Sender says the service blamed the request (SQS and SNS SenderFault); such an entry is not
	// retried unless its code says otherwise.
	Sender bool
}

// Entries describes one Deliver batch for SendEntries.
type Entries struct {
	// Op names the batch call in errors ("SendMessageBatch").
	Op string
	// N is the number of entries (the batch's events).
	N int
	// MaxCount and MaxBytes limit one call (MaxBytes 0: no byte limit).
	MaxCount, MaxBytes int
	// Prepare readies entry i and returns its size as the service counts it toward MaxBytes. An error
	// means entry i cannot be sent at all (a dynamic parameter the service requires is missing, a
	// character it refuses): the entries before it are still delivered, and the error (not retried,
	// unless it says otherwise) is reported for i and those after it.
	Prepare func(i int) (size int, err error)
	// Cut, when not nil, says that entry i must not join the call that starts at entry lo (CloudWatch
	// Logs: the events of one call in chronological order, spanning at most 24 hours).
	Cut func(lo, i int) bool
	// Send makes one call with entries [lo, hi) and returns the entries the service refused (Index
	// within [lo, hi)), or an error when the call as a whole failed.
	Send func(ctx context.Context, lo, hi int) ([]EntryFailure, error)
}

// SendEntries delivers e's entries in order, in calls within e's limits (cut by Chunks, and further
// where Cut says so), and stops at the first call that did not deliver all of its entries. It returns
// nil when every entry was delivered; the error of the batch when none was (classified: throttled,
// permanent or retryable); else a *plugin.PartialError whose Failed lists the refused entries of the
// failing call and every entry after it.
//
// A service may refuse a whole call for one bad entry (SQS answers InvalidParameterValue to a batch
// holding one message longer than the queue's MaximumMessageSize). When a call of several entries fails
// with an error that may be an entry's fault (an invalid parameter value or message, a missing
// parameter, a request too long), SendEntries sends those entries again one per call, so that
// the good ones before the bad one are delivered and the failure is reported for the entry at fault.
func SendEntries(ctx context.Context, e Entries) error {
	n, sizes, prepErr := e.N, make([]int, 0, e.N), error(nil)
	for i := 0; i < e.N; i++ {
		size, err := e.Prepare(i)
		if err != nil {
			n, prepErr = i, fmt.Errorf("%s entry %d: %w", e.Op, i, err)
			if !plugin.IsPermanent(err) {
				prepErr = plugin.Permanent(prepErr)
			}
			break
		}
		sizes = append(sizes, size)
	}
	err := Chunks(n, e.MaxCount, e.MaxBytes, func(i int) int { return sizes[i] }, func(lo, hi int) error {
		return sendRun(ctx, e, lo, hi)
	})
	var pe *plugin.PartialError
	switch {
	case err == nil && prepErr == nil:
		return nil
	case err == nil && n == 0:
		return prepErr
	case err == nil:
		return &plugin.PartialError{Failed: span(n, e.N), Err: prepErr}
	case errors.As(err, &pe) && n < e.N:
		return &plugin.PartialError{Failed: append(pe.Failed, span(n, e.N)...), Err: pe.Err}
	}
	return err
}

// sendRun sends entries [lo, hi), which Chunks let share a call, in as many calls as Cut asks for. A
// failure is returned as Chunks expects: a *plugin.PartialError with indexes relative to lo when some
// entries were delivered, else the error.
func sendRun(ctx context.Context, e Entries, lo, hi int) error {
	for a := lo; a < hi; {
		b := a + 1
		for b < hi && (e.Cut == nil || !e.Cut(a, b)) {
			b++
		}
		failed, err := sendCall(ctx, e, a, b)
		if err != nil {
			failed = append(failed, span(b, hi)...)
			if len(failed) == hi-lo {
				return err
			}
			for k := range failed {
				failed[k] -= lo
			}
			return &plugin.PartialError{Failed: failed, Err: err}
		}
		a = b
	}
	return nil
}

// sendCall makes the call of entries [lo, hi). On failure it returns the indexes in [lo, hi) that were
// not delivered, ascending (at least one), and the first one's error.
func sendCall(ctx context.Context, e Entries, lo, hi int) ([]int, error) {
	refused, err := e.Send(ctx, lo, hi)
	if err != nil {
		blame := entryBlame(err)
		err = Classify(err)
		if hi-lo > 1 && blame && ctx.Err() == nil {
			// One entry may have spoilt the call: find it.
			for i := lo; i < hi; i++ {
				if failed, err := sendCall(ctx, e, i, i+1); err != nil {
					return append(failed, span(i+1, hi)...), err
				}
			}
			return nil, nil
		}
		return span(lo, hi), fmt.Errorf("%s of entries %d to %d: %w", e.Op, lo, hi-1, err)
	}
	if len(refused) == 0 {
		return nil, nil
	}
	first := refused[0]
	bad := make(map[int]bool, len(refused))
	for _, f := range refused {
		bad[f.Index] = true
		if f.Index < first.Index {
			first = f
		}
	}
	var failed []int
	for i := lo; i < hi; i++ {
		if bad[i] {
			failed = append(failed, i)
		}
	}
	return failed, fmt.Errorf("%s refused entry %d: %w", e.Op, first.Index, EntryError(first))
}

// entryBlame reports whether a call's error may be the fault of one of its entries (a message too long,
// a parameter value refused), rather than of the call (credentials, a missing queue) or of the moment.
func entryBlame(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch code := ErrorCode(api); code {
	case "InvalidParameterValue", "InvalidParameter", "InvalidParameterException", "InvalidMessageContents",
		"InvalidArgument", "InvalidArgumentException", "MissingParameter", "ValidationException",
		"BatchRequestTooLong", "RequestEntityTooLargeException":
		return true
	}
	return false
}

func span(lo, hi int) []int {
	out := make([]int, 0, max(hi-lo, 0))
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// EntryError is the classified error of one refused entry, as if the service had answered a call of that
// entry alone with its code.
func EntryError(f EntryFailure) error {
	err := ClassifyCode(f.Code, fmt.Errorf("%s: %s", f.Code, f.Message))
	var throttled *plugin.ThrottledError
	if f.Sender && !plugin.IsPermanent(err) && !errors.As(err, &throttled) {
		// SenderFault: the same entry would be refused again.
		err = plugin.Permanent(err)
	}
	return err
}

// NameRule returns a name check for TargetName: the name is at most max characters and, without suffix
// (".fifo" of a FIFO queue, ":*" of a log group ARN as the console shows it), 1 or more ASCII letters,
// digits and characters of extra. what names the thing in the message ("queue name").
func NameRule(what string, max int, extra, suffix string) func(name string) string {
	return func(name string) string {
		base := name
		if suffix != "" {
			base = strings.TrimSuffix(name, suffix)
		}
		ok := base != "" && len(name) <= max && strings.TrimFunc(base, func(r rune) bool {
			return strings.ContainsRune(extra, r) || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		}) == ""
		if ok {
			return ""
		}
		msg := fmt.Sprintf("%s %q is not 1 to %d letters, digits and %s", what, name, max, extra)
		if suffix != "" {
			msg += " (then " + suffix + ")"
		}
		return msg
	}
}

// TargetName is TargetARN (the account required, the region optional: the default region) with the
// resource's name after prefix also checked by check, which returns what is wrong with it or "".
func TargetName(target, service, prefix string, check func(name string) string) (ARN, string, []plugin.FieldError) {
	a, name, errs := TargetARN(target, service, prefix)
	if name != "" {
		if msg := check(name); msg != "" {
			errs = append(errs, plugin.Errorf("Target", "%s", msg))
		}
	}
	return a, name, errs
}

// IDFailures maps the failed-entry list of a batch API whose entry Ids are the entries' indexes in the
// Deliver batch, as decimal text (SQS, SNS), to EntryFailures. get returns one item's Id, Code, Message
// and SenderFault. An Id outside [lo, hi) is an error: the answer is not about this call.
func IDFailures[T any](op string, lo, hi int, failed []T, get func(T) (id, code, message *string, sender bool)) ([]EntryFailure, error) {
	out := make([]EntryFailure, 0, len(failed))
	for _, f := range failed {
		id, code, message, sender := get(f)
		i, err := strconv.Atoi(aws.ToString(id))
		if err != nil || i < lo || i >= hi {
			return nil, fmt.Errorf("%s reported a failure of entry %q, which it was not sent", op, aws.ToString(id))
		}
		out = append(out, EntryFailure{Index: i, Code: aws.ToString(code), Message: aws.ToString(message), Sender: sender})
	}
	return out, nil
}

// BatchTarget describes an AWS target for Spec.
type BatchTarget[C any] struct {
	// What names the target in errors ("SQS target").
	What string
	// Kind, Member ("" for none), MaxBatch and MaxPayloadBytes are the spec's.
	Kind, Member              string
	MaxBatch, MaxPayloadBytes int
	// Parse checks a pipe without I/O: its configuration C, the region its calls go to (the ARN's), and
	// every problem.
	Parse func(c plugin.Check) (cfg C, region string, problems []plugin.FieldError)
	// Build makes the target from a checked configuration and the AWS configuration of its region.
	Build func(cfg C, ac aws.Config) plugin.Target
}

// Spec returns the plugin.TargetSpec of t: Validate reports Parse's problems; New parses again (it may be
// given a pipe that was not validated), refuses a pipe with problems, gets the AWS configuration of the
// region from the pipe's Env and builds the target. New makes no call.
func (t BatchTarget[C]) Spec() plugin.TargetSpec {
	var members []string
	if t.Member != "" {
		members = []string{t.Member}
	}
	return plugin.TargetSpec{
		Kinds: []string{t.Kind}, Members: members, MaxBatch: t.MaxBatch, MaxPayloadBytes: t.MaxPayloadBytes,
		Validate: func(c plugin.Check) []plugin.FieldError {
			_, _, errs := t.Parse(c)
			return errs
		},
		New: func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
			what := t.What + " " + c.Endpoint
			cfg, region, errs := t.Parse(c)
			if len(errs) > 0 {
				return nil, fmt.Errorf("%s: %s: %s", what, errs[0].Field, errs[0].Message)
			}
			if env.AWS == nil {
				return nil, errors.New(what + ": this host has no AWS configuration")
			}
			ac, err := env.AWS(ctx, region)
			if err != nil {
				return nil, fmt.Errorf("%s: AWS configuration for region %s: %w", what, region, err)
			}
			return t.Build(cfg, ac), nil
		},
	}
}

// EventTime reads a time from the JSON value a dynamic parameter found (EventBridge's Time, CloudWatch
// Logs' Timestamp): a number, or a string of digits, is milliseconds since the Unix epoch (the Kafka
// record's timestamp is); another string is RFC 3339. It reports false for anything else.
func EventTime(v json.RawMessage) (time.Time, bool) {
	var s string
	if json.Unmarshal(v, &s) != nil {
		s = string(v)
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -1e15 && f < 1e15 {
		return time.UnixMilli(int64(f)), true // a JSON number with a fraction or an exponent
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
