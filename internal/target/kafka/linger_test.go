package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/plugin"
)

// TestNoProducerLinger guards the delivery latency: Deliver waits for its records' acknowledgement, so a
// producer linger (franz-go's default is 10 ms) would only add its length to every delivery, which was
// most of a Kafka-target pipe's time per batch.
func TestNoProducerLinger(t *testing.T) {
	ctx := context.Background()
	tg, err := New(ctx, plugin.Env{PipeName: "p"}, "kafka://127.0.0.1:1/out", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.(plugin.Closer).Close(ctx)
	if got := tg.(*Target).cl.OptValue(kgo.ProducerLinger); got != time.Duration(0) {
		t.Errorf("producer linger = %v, want 0", got)
	}
}
