package runtime_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
)

// linesRecorder is a recorder that counts the calls whose events the runtime vouched for
// (plugin.Batch.OwnJSON) and the others.
type linesRecorder struct {
	*recorder
	lines, plain int
}

func (r *linesRecorder) Deliver(ctx context.Context, b plugin.Batch) error {
	r.mu.Lock()
	if b.OwnJSON {
		r.lines++
	} else {
		r.plain++
	}
	r.mu.Unlock()
	return r.recorder.Deliver(ctx, b)
}

func (r *linesRecorder) registry() *plugin.Registry {
	reg := plugin.NewRegistry()
	if s, ok := plugin.Default.EnricherSpec("http://enrichment"); ok {
		reg.AddEnricher(s)
	}
	reg.AddTarget(fileSpec(r))
	return reg
}

// TestJSONLinesOnlyForSluiceEvents: the runtime vouches for the events (OwnJSON) only when they are
// the Pipes event JSON Sluice encoded, with no template and no enrichment; a rendered template and an
// enrichment's output go through Deliver, which checks them. Every vouched-for event is valid JSON without
// whitespace, which is what the promise says.
func TestJSONLinesOnlyForSluiceEvents(t *testing.T) {
	c := kafkatest.Kfake(t)
	enr := echoEnrichment(t)
	tests := []struct {
		name      string
		spec      spec
		wantLines bool
	}{
		{name: "pass-through", spec: spec{}, wantLines: true},
		{name: "filtered pass-through", spec: spec{filters: []string{`{"value": {"n": [1]}}`}}, wantLines: true},
		{name: "target template", spec: spec{targetTemplate: `{"n": <$.value.n>}`}},
		{name: "enrichment", spec: spec{enrichment: enr.URL}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			produce(t, c, topic, []*kgoRecord{{value: "{\n \"n\": 1}"}, {value: `not json`}, {value: `{"n":1}`}})
			rec := &linesRecorder{recorder: &recorder{}}
			tc.spec.target = "file:///unused"
			def := definition(t, c, topic, tc.spec)
			start(t, def, deps(t, rec.registry()))
			waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 3})
			rec.mu.Lock()
			lines, plain := rec.lines, rec.plain
			rec.mu.Unlock()
			if tc.wantLines && (lines == 0 || plain != 0) {
				t.Fatalf("OwnJSON calls %d, other calls %d: want only OwnJSON", lines, plain)
			}
			if !tc.wantLines && (lines != 0 || plain == 0) {
				t.Fatalf("OwnJSON calls %d, other calls %d: want none OwnJSON", lines, plain)
			}
			if !tc.wantLines {
				return
			}
			for _, ev := range rec.events() {
				if !json.Valid([]byte(ev)) || containsWhitespaceOutsideStrings(ev) {
					t.Fatalf("vouched-for event is not compact JSON: %q", ev)
				}
			}
		})
	}
}

// containsWhitespaceOutsideStrings reports JSON whitespace outside string literals of the valid JSON s.
func containsWhitespaceOutsideStrings(s string) bool {
	in, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\n' || c == '\r' || c == '\t'):
			return true
		}
	}
	return false
}
