package api

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/secret"
	_ "github.com/sluicehq/sluice/internal/target/http" // the http:// target
	kafkatarget "github.com/sluicehq/sluice/internal/target/kafka"
)

func TestFailWatch(t *testing.T) {
	client := plugin.Permanent(errors.New("status 403 Forbidden"))
	server := errors.New("status 503 Service Unavailable")
	type step struct {
		err     error
		advance time.Duration
	}
	cases := []struct {
		name  string
		steps []step
		fire  bool
	}{
		{"continuous client errors", []step{{client, 0}, {client, time.Second}, {client, time.Second}, {client, time.Second}}, true},
		{"too few calls", []step{{client, 0}, {client, 10 * time.Second}}, false},
		{"too short", []step{{client, 0}, {client, 0}, {client, 0}, {client, 0}, {client, 0}}, false},
		{"a success resets", []step{{client, 0}, {client, time.Second}, {nil, time.Second}, {client, time.Second}, {client, time.Second}}, false},
		{"server errors do not count", []step{{server, 0}, {server, 2 * time.Second}, {server, 2 * time.Second}, {server, 2 * time.Second}}, false},
		{"server errors do not reset", []step{{client, 0}, {server, time.Second}, {client, time.Second}, {client, time.Second}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			var reasons []string
			w := &failWatch{cfg: AutoStop{After: 2 * time.Second, MinFailures: 3}, what: "target http://x",
				now: func() time.Time { return now }, onFatal: func(r string) { mu.Lock(); reasons = append(reasons, r); mu.Unlock() }}
			for _, s := range tc.steps {
				now = now.Add(s.advance)
				w.observe(s.err)
			}
			var n int
			kafkatest.Eventually(t, time.Second, func() error {
				mu.Lock()
				defer mu.Unlock()
				n = len(reasons)
				if tc.fire && n == 0 {
					return errors.New("OnFatal not called yet")
				}
				return nil
			})
			if tc.fire != (n > 0) || n > 1 {
				t.Fatalf("OnFatal called %d times, want fire=%v (once)", n, tc.fire)
			}
			if n == 1 && (!strings.Contains(reasons[0], "403") || !strings.Contains(reasons[0], "target http://x")) {
				t.Errorf("reason %q lacks the target or the error", reasons[0])
			}
		})
	}
}

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

		h := newHarness(t, func(cfg *Config) {
			cfg.Factory = RuntimeFactory(RuntimeOptions{
				Deps: runtime.Deps{Secrets: &secret.Resolver{}, DrainTimeout: 2 * time.Second,
					Retry: runtime.Backoff{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}},
				PreflightTimeout: 5 * time.Second,
				AutoStop:         AutoStop{After: 300 * time.Millisecond, MinFailures: 3},
			})
			cfg.StopTimeout = 20 * time.Second
		})
		topic := c.CreateTopic(t, 1)
		c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"n":1}`)}, &kgo.Record{Topic: topic, Value: []byte(`{"n":2}`)})
		in := createInput("forbidden", types.RequestedPipeStateRunning)
		in.Source = aws.String("smk://" + c.Bootstrap[0])
		in.Target = aws.String(target.URL + "/events")
		in.SourceParameters.SelfManagedKafkaParameters.TopicName = aws.String(topic)
		in.SourceParameters.SelfManagedKafkaParameters.StartingPosition = types.SelfManagedKafkaStartPositionTrimHorizon
		in.SourceParameters.SelfManagedKafkaParameters.BatchSize = aws.Int32(1)
		if _, err := h.client.CreatePipe(bg, in); err != nil {
			t.Fatal(err)
		}
		d := h.waitState("forbidden", types.PipeStateStopped)
		if d.DesiredState != types.RequestedPipeStateDescribeResponseStopped || !strings.Contains(aws.ToString(d.StateReason), "403") {
			t.Fatalf("after continuous 403s: %s/%s %q, want STOPPED/STOPPED naming the 403", d.DesiredState, d.CurrentState, aws.ToString(d.StateReason))
		}
		t.Logf("StateReason: %s", aws.ToString(d.StateReason))

		// Fixed: StartPipe delivers what was never committed.
		mu.Lock()
		status = http.StatusOK
		mu.Unlock()
		if _, err := h.client.StartPipe(bg, &pipes.StartPipeInput{Name: aws.String("forbidden")}); err != nil {
			t.Fatal(err)
		}
		h.waitState("forbidden", types.PipeStateRunning)
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
		h := newHarness(t, func(cfg *Config) {
			cfg.Registry = reg
			cfg.Factory = RuntimeFactory(RuntimeOptions{
				Deps: runtime.Deps{Registry: reg, Secrets: &secret.Resolver{}, DrainTimeout: 2 * time.Second,
					Retry: runtime.Backoff{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}},
				PreflightTimeout: 5 * time.Second,
				AutoStop:         AutoStop{After: time.Minute, MinFailures: 3},
			})
			cfg.StopTimeout = 20 * time.Second
		})
		src, out := c.CreateTopic(t, 1), c.CreateTopic(t, 1)
		c.Produce(t, &kgo.Record{Topic: src, Value: []byte(`{"id":"a"}`)}, &kgo.Record{Topic: src, Value: []byte(`{"id":"b"}`)})
		body := fmt.Sprintf(`{"Source":"smk://%s","Target":"kafka://%s/%s",
			"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":%q,"StartingPosition":"TRIM_HORIZON","AdditionalBootstrapServers":%s}},
			"TargetParameters":{"InputTemplate":"{\"order\": <$.value.id>}","KafkaParameters":{"Key":"$.value.id","AdditionalBootstrapServers":%s}}}`,
			c.Bootstrap[0], c.Bootstrap[0], out, src, jsonList(c.Bootstrap[1:]), jsonList(c.Bootstrap[1:]))
		if r := h.raw("POST", "/v1/pipes/keyed", body); r.status != 200 {
			t.Fatalf("CreatePipe = %d %s", r.status, r.raw)
		}
		h.waitState("keyed", types.PipeStateRunning)
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
