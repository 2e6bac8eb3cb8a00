// Package kinesis is the Kinesis Data Streams target: each event becomes one record of a PutRecords call
// (at most 500 records and 5 MiB a call, as Pipes batches), with the PartitionKey of
// TargetParameters.KinesisStreamParameters, static or read with a JSON path from the untransformed event.
// Records a call refuses (FailedRecordCount, ErrorCode per record) come back to the runtime as a
// *plugin.PartialError, so it resends from the first refused record on and per-key order holds.
package kinesis

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/transform"
)

const (
	// Member is the TargetParameters member this target owns.
	Member = "KinesisStreamParameters"
	// MaxBatch is PutRecords' limit on records per call.
	MaxBatch = 500
	// maxRecordBytes is Kinesis' limit on one record's data plus partition key; maxRequestBytes on one
	// PutRecords call.
	maxRecordBytes  = 1 << 20
	maxRequestBytes = 5 << 20
	// maxKeyChars is the partition key's limit (Unicode characters); its UTF-8 form takes at most 4 bytes
	// a character, which MaxPayloadBytes leaves room for.
	maxKeyChars = 256
	// MaxPayloadBytes is the most one event's payload may hold: a record's 1 MiB less the longest key.
	MaxPayloadBytes = maxRecordBytes - 4*maxKeyChars
)

// Parameters is TargetParameters.KinesisStreamParameters.
type Parameters struct {
	// PartitionKey picks the shard: a literal, or a JSON path such as "$.value.customerId" read from each
	// untransformed event.
	PartitionKey *string `json:"PartitionKey"`
}

// Validate checks the Target ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME) and
// KinesisStreamParameters. It does no I/O.
func Validate(c plugin.Check) []plugin.FieldError {
	_, _, errs := parse(c)
	return errs
}

func parse(c plugin.Check) (Parameters, *transform.Path, []plugin.FieldError) {
	_, _, errs := awsclient.TargetARN(c.Endpoint, "kinesis", "stream/")
	var p Parameters
	present, perrs := awsclient.DecodeMember(c.Params, Member, &p)
	errs = append(errs, perrs...)
	field := "TargetParameters." + Member + ".PartitionKey"
	switch {
	case len(perrs) > 0:
	case !present || p.PartitionKey == nil:
		errs = append(errs, plugin.FieldError{Field: field, Message: "is required with a Kinesis stream target"})
	case awsclient.IsDynamic(*p.PartitionKey):
		path, err := transform.ParsePath(*p.PartitionKey)
		if err != nil {
			errs = append(errs, plugin.FieldError{Field: field, Message: "is not a valid JSON path: " + err.Error()})
		}
		return p, path, errs
	default:
		if err := checkKey(*p.PartitionKey); err != nil {
			errs = append(errs, plugin.FieldError{Field: field, Message: err.Error()})
		}
	}
	return p, nil, errs
}

// checkKey applies Kinesis' rule to a partition key (Pipes' model allows an empty one; Kinesis refuses
// it, so it is refused here before anything is sent).
func checkKey(k string) error {
	if n := utf8.RuneCountInString(k); n < 1 || n > maxKeyChars {
		return fmt.Errorf("must be 1..%d characters, not %d", maxKeyChars, n)
	}
	return nil
}

// Target puts each batch into one stream.
type Target struct {
	client    *kinesis.Client
	streamARN string
	key       string
	keyPath   *transform.Path
}

// NewWithConfig builds the target with an explicit AWS configuration.
func NewWithConfig(cfg aws.Config, c plugin.Check) (*Target, error) {
	p, path, errs := parse(c)
	if len(errs) > 0 {
		return nil, fmt.Errorf("kinesis target: %s %s", errs[0].Field, errs[0].Message)
	}
	t := &Target{client: kinesis.NewFromConfig(cfg), streamARN: c.Endpoint, keyPath: path}
	if path == nil {
		t.key = *p.PartitionKey
	}
	return t, nil
}

// Deliver puts b's payloads as records, in order, in as few PutRecords calls as the limits allow.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	keys := make([]string, len(b.Payloads))
	n := len(b.Payloads)
	var keyErr error
	for i := range keys {
		k, err := t.partitionKey(b, i)
		if err != nil {
			// Send what comes before the event whose key is unusable; that event and the rest are
			// refused permanently (retrying cannot give it a key).
			n, keyErr = i, plugin.Permanent(err)
			break
		}
		keys[i] = k
	}
	err := awsclient.SendChunks(ctx, n, MaxBatch, maxRequestBytes,
		func(i int) int { return len(b.Payloads[i]) + len(keys[i]) },
		func(ctx context.Context, lo, hi int) ([]awsclient.EntryFailure, error) {
			return t.put(ctx, b, keys, lo, hi)
		})
	if keyErr == nil {
		return err
	}
	var pe *plugin.PartialError
	switch {
	case errors.As(err, &pe):
		pe.Failed = append(pe.Failed, rangeFrom(n, len(b.Payloads))...)
		return pe
	case err != nil:
		return err
	case n == 0:
		return keyErr
	}
	return &plugin.PartialError{Failed: rangeFrom(n, len(b.Payloads)), Err: keyErr}
}

func (t *Target) partitionKey(b plugin.Batch, i int) (string, error) {
	if t.keyPath == nil {
		return t.key, nil
	}
	if i >= len(b.Inputs) {
		return "", fmt.Errorf("event %d: no untransformed event to read PartitionKey %s from", i, t.keyPath)
	}
	k, found, err := t.keyPath.LookupText(b.Inputs[i])
	if err != nil {
		return "", fmt.Errorf("event %d: PartitionKey %s: %w", i, t.keyPath, err)
	}
	if !found {
		return "", fmt.Errorf("event %d: PartitionKey %s is not in the event", i, t.keyPath)
	}
	if err := checkKey(k); err != nil {
		return "", fmt.Errorf("event %d: PartitionKey %s: %w", i, t.keyPath, err)
	}
	return k, nil
}

func (t *Target) put(ctx context.Context, b plugin.Batch, keys []string, lo, hi int) ([]awsclient.EntryFailure, error) {
	in := &kinesis.PutRecordsInput{StreamARN: &t.streamARN, Records: make([]types.PutRecordsRequestEntry, 0, hi-lo)}
	for i := lo; i < hi; i++ {
		in.Records = append(in.Records, types.PutRecordsRequestEntry{Data: b.Payloads[i], PartitionKey: &keys[i]})
	}
	out, err := t.client.PutRecords(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("kinesis PutRecords to %s: %w", t.streamARN, err)
	}
	failed, err := awsclient.Refused(lo, aws.ToInt32(out.FailedRecordCount), len(out.Records), func(j int) (*string, *string) {
		return out.Records[j].ErrorCode, out.Records[j].ErrorMessage
	})
	if err != nil {
		return nil, fmt.Errorf("kinesis PutRecords to %s: %w", t.streamARN, err)
	}
	return failed, nil
}

func rangeFrom(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}
