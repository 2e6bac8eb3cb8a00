// Package firehose is the Amazon Data Firehose target: each event becomes one record of a PutRecordBatch
// call (at most 500 records and 4 MiB a call), its data the payload exactly as rendered (Pipes adds no
// delimiter; give the InputTemplate a trailing newline to get one). Firehose takes no TargetParameters
// member. Records a call refuses (FailedPutCount, ErrorCode per record) come back to the runtime as a
// *plugin.PartialError.
package firehose

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

const (
	// MaxBatch is PutRecordBatch's limit on records per call.
	MaxBatch = 500
	// MaxPayloadBytes is Firehose's limit on one record, 1,000 KiB.
	MaxPayloadBytes = 1000 << 10
	// maxRequestBytes is PutRecordBatch's limit on one call.
	maxRequestBytes = 4 << 20
)

// Validate checks the Target ARN, arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME. It does no I/O.
func Validate(c plugin.Check) []plugin.FieldError {
	_, _, errs := awsclient.TargetARN(c.Endpoint, "firehose", "deliverystream/")
	return errs
}

// Target puts each batch into one delivery stream.
type Target struct {
	client *firehose.Client
	name   string
	arn    string
}

// NewWithConfig builds the target with an explicit AWS configuration.
func NewWithConfig(cfg aws.Config, c plugin.Check) (*Target, error) {
	_, name, errs := awsclient.TargetARN(c.Endpoint, "firehose", "deliverystream/")
	if err := awsclient.Invalid("firehose", errs); err != nil {
		return nil, err
	}
	return &Target{client: firehose.NewFromConfig(cfg), name: name, arn: c.Endpoint}, nil
}

// Deliver puts b's payloads as records, in order, in as few PutRecordBatch calls as the limits allow.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	return awsclient.Chunks(len(b.Payloads), MaxBatch, maxRequestBytes,
		func(i int) int { return len(b.Payloads[i]) },
		func(lo, hi int) error {
			in := &firehose.PutRecordBatchInput{DeliveryStreamName: &t.name, Records: make([]types.Record, 0, hi-lo)}
			for _, p := range b.Payloads[lo:hi] {
				in.Records = append(in.Records, types.Record{Data: p})
			}
			out, err := t.client.PutRecordBatch(ctx, in)
			if err != nil {
				return awsclient.Classify(fmt.Errorf("firehose PutRecordBatch to %s: %w", t.arn, err))
			}
			return awsclient.Refused("firehose PutRecordBatch to "+t.arn, aws.ToInt32(out.FailedPutCount), len(out.RequestResponses), func(j int) (*string, *string) {
				return out.RequestResponses[j].ErrorCode, out.RequestResponses[j].ErrorMessage
			})
		})
}
