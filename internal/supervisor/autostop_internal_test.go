package supervisor

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
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
