package awstest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Definition decodes def, a CreatePipe definition in its JSON shape, and defaults and validates it with
// the plugins of plugin.Default; it returns the definition and every problem found.
func Definition(t testing.TB, def map[string]any) (*pipe.Definition, pipe.FieldErrors) {
	t.Helper()
	raw, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pipe.Decode(raw)
	if err != nil {
		t.Fatalf("decoding pipe %s: %v", raw, err)
	}
	d.SetDefaults(plugin.Default)
	return d, d.Validate(plugin.Default)
}

// WantFieldError fails the test unless errs holds an error on field whose message contains msg; with
// field "" it fails unless errs is empty.
func WantFieldError(t testing.TB, errs pipe.FieldErrors, field, msg string) {
	t.Helper()
	if field == "" {
		if len(errs) > 0 {
			t.Errorf("Validate() = %v, want none", errs)
		}
		return
	}
	for _, e := range errs {
		if e.Field == field && strings.Contains(e.Message, msg) {
			return
		}
	}
	t.Errorf("Validate() = %v, want an error on %s mentioning %q", errs, field, msg)
}

// Orders produces n orders on a new topic of c with two partitions, {"orderId": "o-I", "city": "cI%3",
// "amount": I}, and returns the topic.
func Orders(t testing.TB, c *kafkatest.Cluster, n int) string {
	t.Helper()
	topic := c.CreateTopic(t, 2)
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Key: []byte(fmt.Sprint(i)),
			Value: fmt.Appendf(nil, `{"orderId":"o-%d","city":"c%d","amount":%d}`, i, i%3, i)})
	}
	c.Produce(t, recs...)
	return topic
}

// WaitLines waits up to a minute until the file at path holds at least n lines, and returns its lines.
func WaitLines(t testing.TB, path string, n int) []string {
	t.Helper()
	var lines []string
	kafkatest.Eventually(t, 60*time.Second, func() error {
		data, _ := os.ReadFile(path)
		if lines = strings.Fields(string(data)); len(lines) < n {
			return fmt.Errorf("%d lines in %s, want %d", len(lines), path, n)
		}
		return nil
	})
	return lines
}

// DefinitionFile writes def as JSON to a file of the test's temporary directory, for `sluice run --file`,
// and returns its path.
func DefinitionFile(t testing.TB, def map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pipe.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
