package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatxn"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Exactly-once (KafkaParameters.ExactlyOnce): the target does not produce with its own client. The Kafka
// source runs in exactly-once mode (source/kafka transact.go) and hands each batch a kafkatxn.Producer in
// its context, which produces into the transaction that also commits the batch's source offsets. A
// failed record dooms that transaction: it is aborted and its records are read and delivered again, so
// the target must not let the runtime retry the batch inside it (the retry would store records twice in
// one transaction). The producer cancels the batch's context when it dooms the transaction; the target
// waits for that and returns the context's error, which makes the runtime abandon the batch instead of
// retrying or dead-lettering it.

// errNoTransaction is returned when an exactly-once target is handed a batch outside a transaction: the
// pipe's source is not in exactly-once mode (a wiring error, never a delivery failure).
var errNoTransaction = errors.New("ExactlyOnce: the batch carries no Kafka transaction (the pipe's source must run in exactly-once mode)")

// produceSync produces recs with the target's producer, or in exactly-once mode into the batch's
// transaction.
func (t *Target) produceSync(ctx context.Context, recs []*kgo.Record) (kgo.ProduceResults, error) {
	if !t.exactlyOnce {
		return t.cl.ProduceSync(ctx, recs...), nil
	}
	p := kafkatxn.FromContext(ctx)
	if p == nil {
		return nil, plugin.Permanent(fmt.Errorf("kafka target %s of pipe %s: %w", t.addr.Topic, t.pipeName, errNoTransaction))
	}
	res := p.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		// The transaction is doomed and the batch's context about to be cancelled (kafkatxn.Producer).
		wait := time.NewTimer(deliveryTimeout)
		defer wait.Stop()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("producing to kafka target %s in a transaction: %w (the transaction is aborted and the batch read again: %w)",
				t.addr.Topic, err, context.Cause(ctx))
		case <-wait.C:
		}
	}
	return res, nil
}
