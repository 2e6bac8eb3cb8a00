package firehose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/plugin"
)

func TestValidate(t *testing.T) {
	awstest.CheckValidate(t, Validate, []awstest.ValidateCase{
		{Name: "delivery stream", Target: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/d"},
		{Name: "no region", Target: "arn:aws:firehose::123456789012:deliverystream/d"},
		{Name: "stream", Target: "arn:aws:firehose:eu-west-1:123456789012:stream/d", Want: []plugin.FieldError{{Field: "Target", Message: `resource "stream/d" must be deliverystream/NAME`}}},
		{Name: "not an arn", Target: "firehose/d", Want: []plugin.FieldError{{Field: "Target", Message: `ARN "firehose/d": prefix must be "arn:"`}}},
	})
}

// newDeliveryStream makes a bucket and a delivery stream writing into it, and returns the stream's ARN
// and the bucket's name.
func newDeliveryStream(t *testing.T, cfg aws.Config) (string, string) {
	t.Helper()
	ctx := t.Context()
	name := fmt.Sprintf("awsstream-%d", time.Now().UnixNano())
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	fh := firehose.NewFromConfig(cfg)
	out, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: &name,
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::" + name),
			RoleARN:   aws.String("arn:aws:iam::123456789012:role/firehose"),
			Prefix:    aws.String("out/"),
		},
	})
	if err != nil {
		t.Fatalf("CreateDeliveryStream: %v", err)
	}
	// t.Context is cancelled before cleanups run; the emulator allows only 50 delivery streams at once, so
	// a stream left behind fails later runs against a long-lived emulator.
	t.Cleanup(func() {
		if _, err := fh.DeleteDeliveryStream(context.Background(), &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: &name}); err != nil {
			t.Errorf("DeleteDeliveryStream %s: %v", name, err)
		}
	})
	return aws.ToString(out.DeliveryStreamARN), name
}

// objects returns the contents of the bucket's objects (the emulator writes one per PutRecordBatch
// call), sorted.
func objects(t *testing.T, cfg aws.Config, bucket string) []string {
	t.Helper()
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	l, err := s3c.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	var out []string
	for _, o := range l.Contents {
		g, err := s3c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: o.Key})
		if err != nil {
			t.Fatalf("GetObject %s: %v", *o.Key, err)
		}
		b, err := io.ReadAll(g.Body)
		g.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(*o.Key, "out/") {
			t.Errorf("object %s is not under the stream's prefix out/", *o.Key)
		}
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

func payloads(n int, f func(i int) string) plugin.Batch {
	var b plugin.Batch
	for i := range n {
		b.Payloads = append(b.Payloads, json.RawMessage(f(i)))
		b.Inputs = append(b.Inputs, json.RawMessage(`{}`))
	}
	return b
}

func TestDeliverToS3(t *testing.T) {
	cfg := awstest.Config(t, "")
	stream, bucket := newDeliveryStream(t, cfg)
	tg, err := NewWithConfig(cfg, plugin.Check{Endpoint: stream})
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Deliver(t.Context(), payloads(3, func(i int) string { return fmt.Sprintf("{\"n\":%d}\n", i) })); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	want := []string{"{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n"}
	if d := cmp.Diff(want, objects(t, cfg, bucket)); d != "" {
		t.Errorf("S3 objects (-want +got):\n%s", d)
	}
}

// proxiedTarget makes a delivery stream writing to a new bucket, and a target delivering to it through a
// fault proxy; moto is the test's own configuration, to read the bucket.
func proxiedTarget(t *testing.T) (moto aws.Config, bucket string, fp *awstest.FaultProxy, tg *Target) {
	t.Helper()
	moto = awstest.Config(t, "")
	stream, bucket := newDeliveryStream(t, moto)
	fp = awstest.NewFaultProxy(t, awstest.Endpoint(t))
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: stream})
	if err != nil {
		t.Fatal(err)
	}
	return moto, bucket, fp, tg
}

func TestDeliverSplitsBySize(t *testing.T) {
	moto, bucket, fp, tg := proxiedTarget(t)
	// Six 900 KiB records: four fit in one 4 MiB call, so 4 + 2.
	big := strings.Repeat("x", 900<<10)
	if err := tg.Deliver(t.Context(), payloads(6, func(i int) string { return fmt.Sprintf("%d%s", i, big) })); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if d := cmp.Diff([]int{4, 2}, awstest.EntriesPerCall(t, fp, awstest.FirehosePutRecordBatch)); d != "" {
		t.Errorf("records per PutRecordBatch call (-want +got):\n%s", d)
	}
	var lens []int
	for _, o := range objects(t, moto, bucket) {
		lens = append(lens, len(o))
	}
	sort.Ints(lens)
	if d := cmp.Diff([]int{2 * (1 + 900<<10), 4 * (1 + 900<<10)}, lens); d != "" {
		t.Errorf("object sizes (-want +got):\n%s", d)
	}
}

func TestDeliverPartialFailureAndThrottling(t *testing.T) {
	moto, bucket, fp, tg := proxiedTarget(t)
	b := payloads(4, func(i int) string { return fmt.Sprintf("%d;", i) })

	fp.Fail("PutRecordBatch", 1, awstest.Throttle("ThrottlingException"))
	err := tg.Deliver(t.Context(), b)
	var th *plugin.ThrottledError
	if !errors.As(err, &th) {
		t.Fatalf("Deliver = %v, want a *plugin.ThrottledError", err)
	}

	fp.Add(awstest.Refuse(awstest.FirehosePutRecordBatch, 0, "ServiceUnavailableException", 1))
	err = tg.Deliver(t.Context(), b)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1}) {
		t.Fatalf("Deliver = %v, want PartialError{Failed: [1]}", err)
	}
	if plugin.IsPermanent(pe.Err) || !strings.Contains(pe.Err.Error(), "ServiceUnavailableException") {
		t.Errorf("PartialError.Err = %v, want a retryable ServiceUnavailableException", pe.Err)
	}
	if err := tg.Deliver(t.Context(), plugin.Batch{Payloads: b.Payloads[1:], Inputs: b.Inputs[1:]}); err != nil {
		t.Fatalf("Deliver(retry): %v", err)
	}
	if d := cmp.Diff([]string{"0;2;3;", "1;2;3;"}, objects(t, moto, bucket)); d != "" {
		t.Errorf("S3 objects (-want +got):\n%s", d)
	}
}
