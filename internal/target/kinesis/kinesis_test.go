package kinesis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/plugin"
)

const arnPrefix = "arn:aws:kinesis:us-east-1:123456789012:stream/"

func params(js string) json.RawMessage { return json.RawMessage(js) }

func TestValidate(t *testing.T) {
	good := arnPrefix + "s"
	awstest.CheckValidate(t, Validate, []awstest.ValidateCase{
		{Name: "static key", Target: good, Params: `{"KinesisStreamParameters":{"PartitionKey":"k"}}`},
		{Name: "path key", Target: good, Params: `{"InputTemplate":"x","KinesisStreamParameters":{"PartitionKey":"$.value.id"}}`},
		{Name: "missing member", Target: good, Params: `{}`, Want: []plugin.FieldError{{Field: "TargetParameters.KinesisStreamParameters.PartitionKey", Message: "is required with a Kinesis stream target"}}},
		{Name: "no params", Target: good, Want: []plugin.FieldError{{Field: "TargetParameters.KinesisStreamParameters.PartitionKey", Message: "is required with a Kinesis stream target"}}},
		{Name: "empty key", Target: good, Params: `{"KinesisStreamParameters":{"PartitionKey":""}}`, Want: []plugin.FieldError{{Field: "TargetParameters.KinesisStreamParameters.PartitionKey", Message: "must be 1..256 characters, not 0"}}},
		{Name: "long key", Target: good, Params: `{"KinesisStreamParameters":{"PartitionKey":"` + strings.Repeat("é", 257) + `"}}`, Want: []plugin.FieldError{{Field: "TargetParameters.KinesisStreamParameters.PartitionKey", Message: "must be 1..256 characters, not 257"}}},
		{Name: "bad path", Target: good, Params: `{"KinesisStreamParameters":{"PartitionKey":"$.value[x]"}}`, Want: []plugin.FieldError{{Field: "TargetParameters.KinesisStreamParameters.PartitionKey", Message: "is not a valid JSON path"}}},
		{Name: "unknown member", Target: good, Params: `{"KinesisStreamParameters":{"PartitionKey":"k","Shard":"1"}}`, Want: []plugin.FieldError{{Field: "TargetParameters.KinesisStreamParameters", Message: `has unknown member "Shard"`}}},
		{Name: "wrong type", Target: good, Params: `{"KinesisStreamParameters":{"PartitionKey":7}}`, Want: []plugin.FieldError{{Field: "TargetParameters.KinesisStreamParameters.PartitionKey", Message: "must be a string, not number"}}},
		{Name: "other service", Target: "arn:aws:sqs:us-east-1:123456789012:q", Params: `{"KinesisStreamParameters":{"PartitionKey":"k"}}`, Want: []plugin.FieldError{{Field: "Target", Message: `is an ARN of service "sqs", not "kinesis"`}, {Field: "Target", Message: `resource "q" must be stream/NAME`}}},
		{Name: "bad account", Target: "arn:aws:kinesis:us-east-1:12:stream/s", Params: `{"KinesisStreamParameters":{"PartitionKey":"k"}}`, Want: []plugin.FieldError{{Field: "Target", Message: `ARN "arn:aws:kinesis:us-east-1:12:stream/s": account "12" must be 12 digits`}}},
		{Name: "no stream name", Target: arnPrefix, Params: `{"KinesisStreamParameters":{"PartitionKey":"k"}}`, Want: []plugin.FieldError{{Field: "Target", Message: `resource "stream/" must be stream/NAME`}}},
	})
}

// newStream creates a stream with shards shards in the emulator and returns its ARN.
func newStream(t *testing.T, c *kinesis.Client, shards int32) string {
	t.Helper()
	name := fmt.Sprintf("awsstream-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: &name})
	})
	d, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: &name})
	if err != nil {
		t.Fatalf("DescribeStreamSummary: %v", err)
	}
	return aws.ToString(d.StreamDescriptionSummary.StreamARN)
}

// record is what the tests read back: a record's partition key and data.
type record struct{ Key, Data string }

// readAll reads every record of the stream from TRIM_HORIZON, shard by shard, in each shard's order.
func readAll(t *testing.T, c *kinesis.Client, streamARN string) map[string][]record {
	t.Helper()
	ctx := t.Context()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamARN: &streamARN})
	if err != nil {
		t.Fatalf("ListShards: %v", err)
	}
	out := map[string][]record{}
	for _, s := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamARN: &streamARN, ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("GetShardIterator: %v", err)
		}
		iter := it.ShardIterator
		for iter != nil {
			r, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{StreamARN: &streamARN, ShardIterator: iter})
			if err != nil {
				t.Fatalf("GetRecords: %v", err)
			}
			for _, rec := range r.Records {
				out[*s.ShardId] = append(out[*s.ShardId], record{Key: aws.ToString(rec.PartitionKey), Data: string(rec.Data)})
			}
			if len(r.Records) == 0 {
				break
			}
			iter = r.NextShardIterator
		}
	}
	return out
}

func flatten(m map[string][]record) []record {
	var out []record
	for _, rs := range m {
		out = append(out, rs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Data < out[j].Data })
	return out
}

func batch(n int, payload func(i int) string, value func(i int) string) plugin.Batch {
	var b plugin.Batch
	for i := range n {
		b.Payloads = append(b.Payloads, json.RawMessage(payload(i)))
		b.Inputs = append(b.Inputs, awstest.KafkaEvent(value(i)))
	}
	return b
}

func TestDeliverDynamicPartitionKey(t *testing.T) {
	cfg := awstest.Config(t, "")
	c := kinesis.NewFromConfig(cfg)
	stream := newStream(t, c, 2)
	tg, err := NewWithConfig(cfg, plugin.Check{Endpoint: stream, Params: params(`{"KinesisStreamParameters":{"PartitionKey":"$.value.customer"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	b := batch(6, func(i int) string { return fmt.Sprintf(`{"n":%d}`, i) },
		func(i int) string { return fmt.Sprintf(`{"customer":"c%d"}`, i%3) })
	if err := tg.Deliver(t.Context(), b); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := readAll(t, c, stream)
	want := []record{{"c0", `{"n":0}`}, {"c1", `{"n":1}`}, {"c2", `{"n":2}`}, {"c0", `{"n":3}`}, {"c1", `{"n":4}`}, {"c2", `{"n":5}`}}
	if d := cmp.Diff(want, flatten(got)); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	// Per shard, records keep the batch's order (one key's records are in one shard).
	for shard, rs := range got {
		for i := 1; i < len(rs); i++ {
			if rs[i-1].Data > rs[i].Data {
				t.Errorf("shard %s out of order: %v", shard, rs)
			}
		}
	}
}

func TestDeliverSplitsBySize(t *testing.T) {
	moto := awstest.Config(t, "")
	stream := newStream(t, kinesis.NewFromConfig(moto), 1)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: stream, Params: params(`{"KinesisStreamParameters":{"PartitionKey":"k"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	// Twelve 900 KiB records: five fit in one 5 MiB call, so 5 + 5 + 2.
	big := strings.Repeat("x", 900<<10)
	b := batch(12, func(i int) string { return fmt.Sprintf(`"%02d%s"`, i, big) }, func(int) string { return `{}` })
	if err := tg.Deliver(t.Context(), b); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if d := cmp.Diff([]int{5, 5, 2}, awstest.EntriesPerCall(t, fp, awstest.KinesisPutRecords)); d != "" {
		t.Errorf("records per PutRecords call (-want +got):\n%s", d)
	}
	got := readAll(t, kinesis.NewFromConfig(moto), stream)
	var heads []string
	for _, r := range flatten(got) {
		heads = append(heads, r.Data[:3])
	}
	if len(heads) != 12 || heads[0] != `"00` || heads[11] != `"11` {
		t.Errorf("read back %d records %v, want 12 in order", len(heads), heads)
	}
}

func TestDeliverPartialFailure(t *testing.T) {
	moto := awstest.Config(t, "")
	stream := newStream(t, kinesis.NewFromConfig(moto), 1)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	fp.Add(awstest.Refuse(awstest.KinesisPutRecords, 0, "ProvisionedThroughputExceededException", 2, 4))
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: stream, Params: params(`{"KinesisStreamParameters":{"PartitionKey":"k"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	b := batch(6, func(i int) string { return fmt.Sprintf(`{"n":%d}`, i) }, func(int) string { return `{}` })
	err = tg.Deliver(t.Context(), b)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("Deliver = %v, want a *plugin.PartialError", err)
	}
	if d := cmp.Diff([]int{2, 4}, pe.Failed); d != "" {
		t.Errorf("Failed (-want +got):\n%s", d)
	}
	var th *plugin.ThrottledError
	if !errors.As(pe.Err, &th) || !strings.Contains(pe.Err.Error(), "ProvisionedThroughputExceededException") {
		t.Errorf("PartialError.Err = %v, want a throttled ProvisionedThroughputExceededException", pe.Err)
	}
	// The runtime resends from the first failed entry on; do as it does.
	retry := plugin.Batch{Payloads: b.Payloads[2:], Inputs: b.Inputs[2:]}
	if err := tg.Deliver(t.Context(), retry); err != nil {
		t.Fatalf("Deliver(retry): %v", err)
	}
	var datas []string
	for _, r := range readAll(t, kinesis.NewFromConfig(moto), stream)["shardId-000000000000"] {
		datas = append(datas, r.Data)
	}
	// At least once, in order from the first refused record: 0 1 3 5 (first call), then 2 3 4 5.
	want := []string{`{"n":0}`, `{"n":1}`, `{"n":3}`, `{"n":5}`, `{"n":2}`, `{"n":3}`, `{"n":4}`, `{"n":5}`}
	if d := cmp.Diff(want, datas); d != "" {
		t.Errorf("shard records (-want +got):\n%s", d)
	}
}

func TestDeliverThrottledAndMissingKey(t *testing.T) {
	moto := awstest.Config(t, "")
	stream := newStream(t, kinesis.NewFromConfig(moto), 1)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	fp.Fail("PutRecords", 1, awstest.Throttle("ProvisionedThroughputExceededException"))
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: stream, Params: params(`{"KinesisStreamParameters":{"PartitionKey":"$.value.id"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	b := batch(3, func(i int) string { return fmt.Sprintf(`{"n":%d}`, i) }, func(i int) string {
		if i == 2 {
			return `{"other":1}`
		}
		return fmt.Sprintf(`{"id":"k%d"}`, i)
	})
	err = tg.Deliver(t.Context(), b)
	var th *plugin.ThrottledError
	if !errors.As(err, &th) || plugin.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want a throttled error for the whole batch", err)
	}
	// The second try gets through for the first two; the third event has no id: refused for good.
	err = tg.Deliver(t.Context(), b)
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{2}) || !plugin.IsPermanent(pe.Err) {
		t.Fatalf("Deliver = %#v, want PartialError{Failed: [2]} permanent", err)
	}
	if !strings.Contains(pe.Err.Error(), "$.value.id: the JSON path is not in the event") {
		t.Errorf("error %q does not name the missing path", pe.Err)
	}
	var keys []string
	for _, r := range readAll(t, kinesis.NewFromConfig(moto), stream)["shardId-000000000000"] {
		keys = append(keys, r.Key)
	}
	if d := cmp.Diff([]string{"k0", "k1"}, keys); d != "" {
		t.Errorf("keys (-want +got):\n%s", d)
	}
	if !bytes.Contains(fp.Calls("PutRecords")[1].Body, []byte(`"PartitionKey":"k1"`)) {
		t.Errorf("second call %s lacks PartitionKey k1", fp.Calls("PutRecords")[1].Body)
	}
}

// TestDeliverRegionlessARN: a Target ARN without a region (the default region) names the stream by its
// name in calls, since Kinesis refuses such an ARN.
func TestDeliverRegionlessARN(t *testing.T) {
	cfg := awstest.Config(t, "")
	c := kinesis.NewFromConfig(cfg)
	stream := newStream(t, c, 1)
	regionless := strings.Replace(stream, ":us-east-1:", "::", 1)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: regionless, Params: params(`{"KinesisStreamParameters":{"PartitionKey":"k"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Deliver(t.Context(), batch(1, func(int) string { return `{"n":0}` }, func(int) string { return `{}` })); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	var req struct{ StreamARN, StreamName string }
	if err := json.Unmarshal(fp.Calls("PutRecords")[0].Body, &req); err != nil || req.StreamARN != "" || !strings.HasSuffix(stream, "/"+req.StreamName) {
		t.Errorf("PutRecords named the stream %+v (%v), want its name only", req, err)
	}
	if got := flatten(readAll(t, c, stream)); len(got) != 1 || got[0].Data != `{"n":0}` {
		t.Errorf("records = %v, want the one delivered", got)
	}
}
