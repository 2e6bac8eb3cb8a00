package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLogDurations: durations in the JSON log are strings, whether given as an attribute, as a loose
// key-value pair (as franz-go hands them over), or inside a group.
func TestLogDurations(t *testing.T) {
	var buf bytes.Buffer
	log := newJSONLogger(&buf, slog.LevelInfo)
	log.Warn("retrying", "retry_in", 1500*time.Millisecond, slog.Duration("timeout", 20*time.Second),
		slog.Group("drain", "waited", 250*time.Millisecond), "attempt", 3)
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	delete(got, "time")
	want := map[string]any{"level": "WARN", "msg": "retrying", "retry_in": "1.5s", "timeout": "20s",
		"drain": map[string]any{"waited": "250ms"}, "attempt": float64(3)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log record (-want +got):\n%s", diff)
	}
}
