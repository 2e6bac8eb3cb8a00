package httptarget

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// secrets is an in-memory plugin.SecretResolver for tests.
type secrets map[string]string

func (s secrets) Resolve(_ context.Context, ref string) ([]byte, error) {
	v, ok := s[ref]
	if !ok {
		return nil, fmt.Errorf("secret %s not found", ref)
	}
	return []byte(v), nil
}

// fakeClock advances only when the limiter sleeps, so pacing is measured in fake time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// kafkaRecord builds a Pipes Kafka event whose value is the given JSON.
func kafkaRecord(value string) json.RawMessage {
	rec := map[string]any{
		"eventSource": "SelfManagedKafka", "topic": "orders", "partition": "0", "offset": 1,
		"timestamp": 1545084650987, "timestampType": "CREATE_TIME",
		"key":   base64.StdEncoding.EncodeToString([]byte("k1")),
		"value": base64.StdEncoding.EncodeToString([]byte(value)),
	}
	b, _ := json.Marshal(rec)
	return b
}

func intp(n int) *int { return &n }

// params marshals TargetParameters for New.
func params(t *testing.T, tp *Parameters) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(tp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
