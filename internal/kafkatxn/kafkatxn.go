// Package kafkatxn is the seam between the Kafka source and the Kafka target of an exactly-once pipe
// (TargetParameters.KafkaParameters.ExactlyOnce): the source owns the one Kafka client that consumes,
// produces and commits in transactions (kgo.GroupTransactSession), and hands the target, through the
// context of the batch being handled, a Producer that produces into the transaction that will also carry
// the batch's source offsets. A context travels with the batch through the runtime (retries, the
// execution limit) without the runtime knowing about transactions.
package kafkatxn

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer produces records into the open transaction of the batch being handled.
type Producer interface {
	// ProduceSync produces rs and waits until the broker acknowledged every one (or one failed). A failed
	// record dooms the whole transaction: it is aborted and every record in it read again, so the caller
	// must not produce the batch again itself (retries would store its records twice in one transaction);
	// the producer refuses further records of a doomed transaction, and the context of the batches it
	// belongs to is cancelled.
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

type ctxKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Producer) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the Producer ctx carries, nil when none (the batch is not handled in a transaction).
func FromContext(ctx context.Context) Producer {
	p, _ := ctx.Value(ctxKey{}).(Producer)
	return p
}
