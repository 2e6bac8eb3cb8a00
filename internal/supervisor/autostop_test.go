package supervisor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/supervisor"
	_ "github.com/sluicehq/sluice/internal/target/http" // the http:// target
	kafkatarget "github.com/sluicehq/sluice/internal/target/kafka"
)

// TestAutoStopOnClientErrors runs a pipe whose HTTP target answers 403: the pipe is stopped with the
// reason, and a fixed target delivers everything after StartPipe.
func TestAutoStopOnClientErrors(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		var mu sync.Mutex
		status, got := http.StatusForbidden, 0
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if status == http.StatusOK {
				got++
			}
			w.WriteHeader(status)
		}))
		defer target.Close()

		h := newHarness(t, func(s *setup) {
			s.Factory = supervisor.RuntimeFactory(supervisor.RuntimeOptions{
				Deps: runtime.Deps{Secrets: &secret.Resolver{}, DrainTimeout: 2 * time.Second,
					Retry: runtime.Backoff{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}},
				PreflightTimeout: 5 * time.Second,
				AutoStop:         supervisor.AutoStop{After: 300 * time.Millisecond, MinFailures: 3},
			})
			s.Options.StopTimeout = 20 * time.Second
		})
		topic := c.CreateTopic(t, 1)
		c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"n":1}`)}, &kgo.Record{Topic: topic, Value: []byte(`{"n":2}`)})
		h.createDef(h.load("forbidden", fmt.Sprintf(`{"Source":"smk://%s","Target":"%s/events",
			"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":%q,"StartingPosition":"TRIM_HORIZON","BatchSize":1,
			"AdditionalBootstrapServers":%s}}}`, c.Bootstrap[0], target.URL, topic, jsonList(c.Bootstrap[1:]))))
		d := h.waitState("forbidden", pipe.StateStopped)
		if d.DesiredState != pipe.StateStopped || !strings.Contains(d.StateReason, "403") {
			t.Fatalf("after continuous 403s: %s/%s %q, want STOPPED/STOPPED naming the 403", d.DesiredState, d.CurrentState, d.StateReason)
		}
		t.Logf("StateReason: %s", d.StateReason)

		// Fixed: StartPipe delivers what was never committed.
		mu.Lock()
		status = http.StatusOK
		mu.Unlock()
		if _, err := h.mgr.Start(t.Context(), "forbidden"); err != nil {
			t.Fatal(err)
		}
		h.waitState("forbidden", pipe.StateRunning)
		kafkatest.Eventually(t, 20*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if got < 2 {
				return errors.New("records not delivered yet after the target was fixed")
			}
			return nil
		})
	})
}

// keysSeen is the real Kafka target, counting the delivery calls that came with the keys the runtime
// evaluated (plugin.Batch.Keys: the plugin.Keyed fast path) and those without.
type keysSeen struct {
	*kafkatarget.Target
	mu           sync.Mutex
	keyed, plain int
}

func (k *keysSeen) Deliver(ctx context.Context, b plugin.Batch) error {
	k.mu.Lock()
	if b.Keys != nil {
		k.keyed++
	} else {
		k.plain++
	}
	k.mu.Unlock()
	return k.Target.Deliver(ctx, b)
}

// TestAutoStopKeepsKeyedFastPath: under `sluice serve` (RuntimeFactory with auto-stop watching the pipe)
// the Kafka target still gets the keys the runtime evaluated while rendering the template: auto-stop is a
// runtime hook, no longer a wrapper hiding the target's optional interfaces. The records carry the keys.
func TestAutoStopKeepsKeyedFastPath(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		seen := &keysSeen{}
		reg := plugin.NewRegistry()
		spec := kafkatarget.Spec
		spec.New = func(ctx context.Context, env plugin.Env, chk plugin.Check) (plugin.Target, error) {
			tg, err := kafkatarget.New(ctx, env, chk.Endpoint, chk.Params)
			if err != nil {
				return nil, err
			}
			seen.Target = tg.(*kafkatarget.Target)
			return seen, nil
		}
		reg.AddTarget(spec)
		h := newHarness(t, func(s *setup) {
			s.Registry = reg
			s.Factory = supervisor.RuntimeFactory(supervisor.RuntimeOptions{
				Deps: runtime.Deps{Registry: reg, Secrets: &secret.Resolver{}, DrainTimeout: 2 * time.Second,
					Retry: runtime.Backoff{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}},
				PreflightTimeout: 5 * time.Second,
				AutoStop:         supervisor.AutoStop{After: time.Minute, MinFailures: 3},
			})
			s.Options.StopTimeout = 20 * time.Second
		})
		src, out := c.CreateTopic(t, 1), c.CreateTopic(t, 1)
		c.Produce(t, &kgo.Record{Topic: src, Value: []byte(`{"id":"a"}`)}, &kgo.Record{Topic: src, Value: []byte(`{"id":"b"}`)})
		body := fmt.Sprintf(`{"Source":"smk://%s","Target":"kafka://%s/%s",
			"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":%q,"StartingPosition":"TRIM_HORIZON","AdditionalBootstrapServers":%s}},
			"TargetParameters":{"InputTemplate":"{\"order\": <$.value.id>}","KafkaParameters":{"Key":"$.value.id","AdditionalBootstrapServers":%s}}}`,
			c.Bootstrap[0], c.Bootstrap[0], out, src, jsonList(c.Bootstrap[1:]), jsonList(c.Bootstrap[1:]))
		h.createDef(h.load("keyed", body))
		h.waitState("keyed", pipe.StateRunning)
		cl := c.Client(t, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		keys := map[string]string{}
		kafkatest.Eventually(t, 20*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { keys[string(r.Key)] = string(r.Value) })
			if len(keys) < 2 {
				return fmt.Errorf("%d of 2 records produced", len(keys))
			}
			return nil
		})
		if keys["a"] != `{"order": "a"}` || keys["b"] != `{"order": "b"}` {
			t.Errorf("records by key = %v, want a and b keyed by their ids", keys)
		}
		seen.mu.Lock()
		defer seen.mu.Unlock()
		if seen.keyed == 0 || seen.plain != 0 {
			t.Errorf("delivery calls with keys %d, without %d: want every call with the runtime's keys", seen.keyed, seen.plain)
		}
	})
}

// jsonList encodes a list of strings as JSON.
func jsonList(s []string) string {
	if s == nil {
		s = []string{}
	}
	b, _ := json.Marshal(s)
	return string(b)
}
