package kinesis

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// produceOrders writes n records {"customer":"c<i%3>","n":i} to topic's partition 0.
func produceOrders(t *testing.T, c *kafkatest.Cluster, topic string, n int) {
	t.Helper()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"customer":"c%d","n":%d}`, i%3, i)})
	}
	c.Produce(t, recs...)
}

// TestPipeToKinesis is the end-to-end test: records on the real broker go through a pipe (an input
// template, PartitionKey from the untransformed record) into the emulator's stream and are read back
// with GetShardIterator and GetRecords. The first PutRecords call is throttled and the second refuses
// one record, so the test also sees the runtime retry a throttled call and resend from a refused record.
func TestPipeToKinesis(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	client := kinesis.NewFromConfig(awstest.Config(t, ""))
	stream := newStream(t, client, 2)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	fp.Fail("PutRecords", 1, awstest.Throttle("ProvisionedThroughputExceededException"))
	fp.Add(awstest.Refuse(awstest.KinesisPutRecords, 1, "ProvisionedThroughputExceededException", 4))
	produceOrders(t, c, topic, 12)
	awstest.RunPipe(t, c, topic, awstest.PipeSpec{
		Target:    stream,
		BatchSize: 12,
		Endpoint:  fp.URL,
		TargetParameters: map[string]any{
			"InputTemplate":           `{"n": <$.value.n>, "pipe": "<aws.pipes.pipe-name>"}`,
			"KinesisStreamParameters": map[string]any{"PartitionKey": "$.value.customer"},
		},
	})
	// Per customer, the records in the customer's shard: every n at least once, and the last copy of
	// each in order (the resend after the refused record repeats the ones after it).
	want := map[string][]int{"c0": {0, 3, 6, 9}, "c1": {1, 4, 7, 10}, "c2": {2, 5, 8, 11}}
	var got map[string][]int
	kafkatest.Eventually(t, 60*time.Second, func() error {
		got = map[string][]int{}
		for _, rs := range readAll(t, client, stream) {
			for _, r := range rs {
				var v struct {
					N    int
					Pipe string
				}
				if err := json.Unmarshal([]byte(r.Data), &v); err != nil || !strings.HasPrefix(v.Pipe, "awsstream-") {
					return fmt.Errorf("record %q is not the rendered template (%v)", r.Data, err)
				}
				got[r.Key] = append(got[r.Key], v.N)
			}
		}
		for k, ns := range want {
			if d := cmp.Diff(ns, lastCopies(got[k])); d != "" {
				return fmt.Errorf("customer %s: records %v (-want +got last copies):\n%s", k, got[k], d)
			}
		}
		return nil
	})
	calls := fp.Calls("PutRecords")
	if len(calls) < 3 || !calls[0].Answered || !calls[1].Answered {
		t.Errorf("PutRecords calls = %d, want the throttled one, the one refusing a record and the resend", len(calls))
	}
	var resend struct{ Records []json.RawMessage }
	if err := json.Unmarshal(calls[2].Body, &resend); err != nil || len(resend.Records) != 8 {
		t.Errorf("resend carried %d records, want 8 (from the refused record 4 on): %v", len(resend.Records), err)
	}
	if n := len(got["c1"]); n != 4+2 {
		t.Errorf("customer c1 has %d records (%v), want 6: 1, 4 refused, 7, 10 and the resent 4, 7, 10 less the refused", n, got["c1"])
	}
}

// lastCopies keeps the last occurrence of each value, in order of those occurrences.
func lastCopies(ns []int) []int {
	last := map[int]int{}
	for i, n := range ns {
		last[n] = i
	}
	var out []int
	for i, n := range ns {
		if last[n] == i {
			out = append(out, n)
		}
	}
	return out
}
