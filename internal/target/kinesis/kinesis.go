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
	_, errs := parse(c)
	return errs
}

func parse(c plugin.Check) (awsclient.Param, []plugin.FieldError) {
	_, _, errs := awsclient.TargetARN(c.Endpoint, "kinesis", "stream/")
	var p Parameters
	present, perrs := awsclient.DecodeMember(c, Member, &p)
	errs = append(errs, perrs...)
	field := "TargetParameters." + Member + ".PartitionKey"
	switch {
	case len(perrs) > 0:
	case !present || p.PartitionKey == nil:
		errs = append(errs, plugin.FieldError{Field: field, Message: "is required with a Kinesis stream target"})
	case awsclient.IsDynamic(*p.PartitionKey):
		key, kerrs := awsclient.ParseParam(field, *p.PartitionKey)
		return key, append(errs, kerrs...)
	default:
		if err := checkKey(*p.PartitionKey); err != nil {
			errs = append(errs, plugin.FieldError{Field: field, Message: err.Error()})
		}
		key, _ := awsclient.ParseParam(field, *p.PartitionKey)
		return key, errs
	}
	return awsclient.Param{}, errs
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
	client *kinesis.Client
	stream string // the Target ARN, for messages
	// streamARN or streamName names the stream in calls (the name when the ARN has no region).
	streamARN, streamName *string
	key                   awsclient.Param
}

// NewWithConfig builds the target with an explicit AWS configuration.
func NewWithConfig(cfg aws.Config, c plugin.Check) (*Target, error) {
	key, errs := parse(c)
	if err := awsclient.Invalid("kinesis", errs); err != nil {
		return nil, err
	}
	t := &Target{client: kinesis.NewFromConfig(cfg), stream: c.Endpoint, key: key}
	if id := awsclient.ResourceID(c.Endpoint, "kinesis", "stream/"); id != c.Endpoint {
		t.streamName = &id
	} else {
		t.streamARN = &t.stream
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
	err := awsclient.Chunks(n, MaxBatch, maxRequestBytes,
		func(i int) int { return len(b.Payloads[i]) + len(keys[i]) },
		func(lo, hi int) error { return t.put(ctx, b, keys, lo, hi) })
	switch {
	case keyErr == nil:
		return err
	case err == nil && n == 0:
		return keyErr
	case err == nil:
		return &plugin.PartialError{Failed: rangeFrom(n, len(b.Payloads)), Err: keyErr}
	}
	// A failure among the events before the unusable key stops the delivery there; the events from
	// the unusable key on failed too.
	var pe *plugin.PartialError
	if errors.As(err, &pe) {
		pe.Failed = append(pe.Failed, rangeFrom(n, len(b.Payloads))...)
		return pe
	}
	return err
}

func (t *Target) partitionKey(b plugin.Batch, i int) (string, error) {
	if !t.key.IsPath() {
		return t.key.String(), nil
	}
	if i >= len(b.Inputs) {
		return "", fmt.Errorf("event %d: no untransformed event to read PartitionKey %s from", i, t.key)
	}
	k, err := t.key.Value(b.Inputs[i])
	if err != nil {
		return "", fmt.Errorf("event %d: %w", i, err)
	}
	if err := checkKey(k); err != nil {
		return "", fmt.Errorf("event %d: PartitionKey %s: %w", i, t.key, err)
	}
	return k, nil
}

func (t *Target) put(ctx context.Context, b plugin.Batch, keys []string, lo, hi int) error {
	in := &kinesis.PutRecordsInput{StreamARN: t.streamARN, StreamName: t.streamName, Records: make([]types.PutRecordsRequestEntry, 0, hi-lo)}
	for i := lo; i < hi; i++ {
		in.Records = append(in.Records, types.PutRecordsRequestEntry{Data: b.Payloads[i], PartitionKey: &keys[i]})
	}
	out, err := t.client.PutRecords(ctx, in)
	if err != nil {
		return awsclient.Classify(fmt.Errorf("kinesis PutRecords to %s: %w", t.stream, err))
	}
	return awsclient.Refused("kinesis PutRecords to "+t.stream, aws.ToInt32(out.FailedRecordCount), len(out.Records), func(j int) (*string, *string) {
		return out.Records[j].ErrorCode, out.Records[j].ErrorMessage
	})
}

func rangeFrom(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}
