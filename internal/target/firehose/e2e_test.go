package firehose

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestPipeToFirehose is the end-to-end test: records on the real broker go through a pipe (an input
// template) into the emulator's delivery stream, which writes them to S3, where the test reads them.
// The first PutRecordBatch call is throttled; the runtime retries it.
func TestPipeToFirehose(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	cfg := awstest.Config(t, "")
	stream, bucket := newDeliveryStream(t, cfg)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	fp.Fail("PutRecordBatch", 1, awstest.Throttle("ThrottlingException"))
	var recs []*kgo.Record
	var want strings.Builder
	for i := range 5 {
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"n":%d}`, i)})
		fmt.Fprintf(&want, `{"n":%d}`, i)
	}
	c.Produce(t, recs...)
	awstest.RunPipe(t, c, topic, awstest.PipeSpec{
		Target: stream, BatchSize: 5, Endpoint: fp.URL,
		TargetParameters: map[string]any{"InputTemplate": `{"n":<$.value.n>}`},
	})
	kafkatest.Eventually(t, 60*time.Second, func() error {
		got := strings.Join(objects(t, cfg, bucket), "")
		if got != want.String() {
			return fmt.Errorf("S3 holds %q, want %q", got, want.String())
		}
		return nil
	})
	if calls := fp.Calls("PutRecordBatch"); len(calls) != 2 || !calls[0].Answered {
		t.Errorf("PutRecordBatch calls = %d, want the throttled one and its retry", len(calls))
	}
}
