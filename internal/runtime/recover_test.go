package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/internal/runtime"
)

// closeCounter is a target whose nil pointer panics in Close, as the file target's did.
type closeCounter struct{ closed int }

func (c *closeCounter) Deliver(context.Context, plugin.Batch) error { return nil }
func (c *closeCounter) Close(context.Context) error                 { c.closed++; return nil }

// TestTypedNilPartsAreNotClosed guards the runtime against the nil-pointer panic that pipes which cannot be
// built used to cause: a factory that returns a typed nil (with its error, or alone) makes New fail with that
// error, never panic in the cleanup's Close.
func TestTypedNilPartsAreNotClosed(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	for _, tc := range []struct {
		name, nilKind, want string
		err                 error
	}{
		{"target: typed nil with an error", "target", "cannot open", errors.New("cannot open")},
		{"target: typed nil without an error", "target", "returned no target", nil},
		{"dead-letter destination: typed nil with an error", "dlq", "cannot open", errors.New("cannot open")},
		{"dead-letter destination: typed nil without an error", "dlq", "returned no destination", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := plugin.NewRegistry()
			reg.AddTarget(plugin.TargetSpec{Kinds: []string{"file"}, New: func(_ context.Context, _ plugin.Env, c plugin.Check) (plugin.Target, error) {
				if (c.Endpoint == "file:///dlq") != (tc.nilKind == "dlq") {
					return &closeCounter{}, nil
				}
				var nilTarget *closeCounter
				return nilTarget, tc.err
			}})
			def := definition(t, c, topic, spec{target: "file:///target"})
			def.SourceParameters.SelfManagedKafkaParameters.DeadLetterConfig = &pipe.DeadLetterConfig{Arn: "file:///dlq"}
			p, err := runtime.New(context.Background(), def, deps(t, reg))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error containing %q", p, err, tc.want)
			}
		})
	}
}

// TestPanickingTargetDeadLettered: a target that panics on one record fails that execution
// permanently: with a DeadLetterConfig the record is isolated and dead-lettered, the rest delivered,
// the pipe goes on and the process does not crash.
func TestPanickingTargetDeadLettered(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	dlqTopic := c.CreateTopic(t, 1)
	var recs []*kgoRecord
	for i := range 20 {
		v := fmt.Sprintf(`{"i":%d}`, i)
		if i == 7 {
			v = `{"i":7,"poison":true}`
		}
		recs = append(recs, &kgoRecord{value: v})
	}
	produce(t, c, topic, recs)
	var mu sync.Mutex
	var delivered []string
	tgt := targetFunc(func(ctx context.Context, events []json.RawMessage) error {
		for _, e := range events {
			if strings.Contains(string(e), "poison") {
				var m map[string]int
				m["boom"]++ //lint:ignore SA5000 the plugin bug under test: assignment to a nil map
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			delivered = append(delivered, string(e))
		}
		return nil
	})
	reg := plugin.NewRegistry()
	kafkaSpec, _ := plugin.Default.TargetSpec("kafka://x/y")
	reg.AddTarget(kafkaSpec)
	reg.AddTarget(fileSpec(tgt))
	def := definition(t, c, topic, spec{batchSize: 10, target: "file:///unused", targetTemplate: `{"v": <$.value>}`})
	maxRetries := 1
	smk := def.SourceParameters.SelfManagedKafkaParameters
	smk.MaximumRetryAttempts = &maxRetries
	smk.DeadLetterConfig = &pipe.DeadLetterConfig{Arn: "kafka://" + strings.Join(c.Bootstrap, ",") + "/" + dlqTopic}
	start(t, def, deps(t, reg))
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 20})

	mu.Lock()
	n := len(delivered)
	for _, e := range delivered {
		if strings.Contains(e, "poison") {
			t.Errorf("the poison record was delivered: %s", e)
		}
	}
	mu.Unlock()
	if n < 19 {
		t.Errorf("delivered %d events, want the 19 good ones", n)
	}
	cl := c.Client(t, kgo.ConsumeTopics(dlqTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var letters []retry.DeadLetter
	kafkatest.Eventually(t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var dl retry.DeadLetter
			if err := json.Unmarshal(r.Value, &dl); err != nil {
				t.Errorf("dead letter %q: %v", r.Value, err)
			}
			letters = append(letters, dl)
		})
		if len(letters) == 0 {
			return errors.New("no dead letter yet")
		}
		return nil
	})
	if len(letters) != 1 || letters[0].Offset != 7 || letters[0].Reason != retry.ReasonPermanent ||
		!strings.Contains(letters[0].Error, "internal error") || !strings.Contains(letters[0].Error, "panicked") {
		t.Errorf("dead letters = %+v, want offset 7, permanent, an internal-error panic", letters)
	}
}

// TestPanickingTargetRetried: without a DeadLetterConfig a panicking delivery is retried (the record
// stays uncommitted meanwhile) and delivered once the target stops panicking.
func TestPanickingTargetRetried(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	produce(t, c, topic, []*kgoRecord{{value: `{"n":1}`}})
	var mu sync.Mutex
	calls := 0
	var delivered []string
	tgt := targetFunc(func(ctx context.Context, events []json.RawMessage) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 3 {
			panic(fmt.Sprintf("flaky plugin, call %d", calls))
		}
		for _, e := range events {
			delivered = append(delivered, string(e))
		}
		return nil
	})
	reg := plugin.NewRegistry()
	reg.AddTarget(fileSpec(tgt))
	def := definition(t, c, topic, spec{target: "file:///unused", targetTemplate: `{"v": <$.value>}`})
	start(t, def, deps(t, reg))
	waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 1})
	mu.Lock()
	defer mu.Unlock()
	if calls != 4 || len(delivered) != 1 || delivered[0] != `{"v": {"n":1}}` {
		t.Errorf("calls %d, delivered %v; want 4 calls and the record once", calls, delivered)
	}
}
