package timestream

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

// TestRefused: the registered Timestream spec refuses every pipe (its source is Kafka), naming the
// Target, and cannot be built by a caller that skipped validation.
func TestRefused(t *testing.T) {
	const target = "arn:aws:timestream:us-east-1:123456789012:database/db/table/t"
	spec, ok := plugin.Default.TargetSpec(target)
	if !ok {
		t.Fatalf("no target spec for %s", target)
	}
	want := []plugin.FieldError{{Field: "Target", Message: Message}}
	if d := cmp.Diff(want, spec.Validate(plugin.Check{Endpoint: target})); d != "" {
		t.Errorf("Validate (-want +got):\n%s", d)
	}
	if tg, err := spec.New(context.Background(), plugin.Env{}, plugin.Check{Endpoint: target}); tg != nil || !plugin.IsPermanent(err) {
		t.Errorf("New = %v, %v; want no target and a permanent error", tg, err)
	}
}
