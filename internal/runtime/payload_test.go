package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"
)

// limitedTarget is a target with its own payload limit (plugin.PayloadLimiter), recording what it got.
type limitedTarget struct {
	max       int
	mu        sync.Mutex
	delivered []string
}

func (l *limitedTarget) Deliver(_ context.Context, b plugin.Batch) error {
	events := b.Payloads
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range events {
		if len(e) > l.max {
			return fmt.Errorf("target got a %d-byte payload over its %d-byte limit", len(e), l.max)
		}
		l.delivered = append(l.delivered, string(e))
	}
	return nil
}

func (l *limitedTarget) MaxPayloadBytes() int { return l.max }

// TestPayloadLimit: a template that repeats a record's value renders past the target's payload limit; the
// record fails permanently (not retried), is bisected out and dead-lettered, and its neighbours are
// delivered. Before rendering was bounded, such a template amplified two 900 KB records into 540 MB.
func TestPayloadLimit(t *testing.T) {
	for _, c := range []struct {
		name           string
		targetTemplate string
		enrichTemplate string
		wantField      string
	}{
		{"target template", "[" + strings.Repeat("<$.value>,", 9) + "<$.value>]", "", "TargetParameters.InputTemplate"},
		{"enrichment template", "", "[" + strings.Repeat("<$.value>,", 9) + "<$.value>]", "EnrichmentParameters.InputTemplate"},
		{"no template", "", "", "TargetParameters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := kafkatest.Kfake(t)
			topic := cl.CreateTopic(t, 1)
			big := `{"blob":"` + strings.Repeat("x", 20<<10) + `"}`
			recs := []*kgoRecord{{value: `{"i":0}`}, {value: big}, {value: `{"i":2}`}}
			limit := 64 << 10
			if c.targetTemplate == "" && c.enrichTemplate == "" {
				limit = 16 << 10 // the untemplated event itself is over the limit
			}
			if c.enrichTemplate != "" {
				limit = 1 << 20 // the target takes it; the enrichment's limit is the one crossed
			}
			tgt := &limitedTarget{max: limit}
			reg := plugin.NewRegistry()
			fileSpec, _ := plugin.Default.TargetSpec("file:///x")
			// file:///test is the limited target; other file:// targets (the dead letters) are real files.
			realFile := fileSpec.New
			fileSpec.New = func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
				if c.Endpoint == "file:///test" {
					return tgt, nil
				}
				return realFile(ctx, env, c)
			}
			reg.AddTarget(fileSpec)
			sp := spec{batchSize: 10, target: "file:///test", targetTemplate: c.targetTemplate}
			enricher := &limitedEnricher{max: 64 << 10}
			if c.enrichTemplate != "" {
				reg.AddEnricher(plugin.EnricherSpec{Kinds: []string{"https"}, MaxBatch: 1, DefaultBatchSize: 1,
					New: func(context.Context, plugin.Env, plugin.Check) (plugin.Enricher, error) { return enricher, nil }})
				sp.enrichment, sp.enrichTemplate = "https://enrichment.invalid/", c.enrichTemplate
				sp.batchSize = 1 // validation: an HTTP enrichment takes one event per request
			}
			produce(t, cl, topic, recs)
			def := definition(t, cl, topic, sp)
			dlqTarget, dlqPath := outFile(t)
			zero := 0
			smk := def.SourceParameters.SelfManagedKafkaParameters
			smk.MaximumRetryAttempts = &zero
			smk.DeadLetterConfig = &pipe.DeadLetterConfig{Arn: dlqTarget}
			start(t, def, deps(t, reg))
			waitCommitted(t, cl, groupOf(def), topic, map[int32]int64{0: 3})

			lines := waitLines(t, dlqPath, 1)
			if len(lines) != 1 {
				t.Fatalf("dead letters = %d, want 1", len(lines))
			}
			var dl retry.DeadLetter
			if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
				t.Fatal(err)
			}
			if dl.Offset != 1 || dl.Reason != retry.ReasonPermanent || !strings.Contains(dl.Error, c.wantField) ||
				!strings.Contains(dl.Error, "-byte limit") {
				t.Errorf("dead letter = offset %d, reason %s, error %q; want offset 1, %s, an error naming %s and the limit",
					dl.Offset, dl.Reason, dl.Error, retry.ReasonPermanent, c.wantField)
			}
			tgt.mu.Lock()
			defer tgt.mu.Unlock()
			if len(tgt.delivered) != 2 || strings.Contains(strings.Join(tgt.delivered, ""), "xxxx") {
				t.Errorf("delivered %d payloads (%.80q), want the 2 small records", len(tgt.delivered), tgt.delivered)
			}
		})
	}
}

// limitedEnricher passes events through and has a payload limit of its own.
type limitedEnricher struct{ max int }

func (e *limitedEnricher) Enrich(_ context.Context, b plugin.Batch) ([]json.RawMessage, error) {
	events := b.Payloads
	for _, ev := range events {
		if len(ev) > e.max {
			return nil, errors.New("enrichment got a payload over its limit")
		}
	}
	return events, nil
}

func (e *limitedEnricher) MaxPayloadBytes() int { return e.max }
