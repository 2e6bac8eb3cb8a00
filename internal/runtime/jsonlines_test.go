package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/transform"
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

// compactRecorder is a plugin.CompactJSONTarget (as the file target is) that checks every payload
// against the template's own rendering of its input, compacted: what the target would have written.
type compactRecorder struct {
	*recorder
	wantCompact bool
	tmpl        *transform.Template
	mu          sync.Mutex
	compact     int
	plain       int
	errs        []string
}

func (r *compactRecorder) CompactJSON() bool { return r.wantCompact }

func (r *compactRecorder) Deliver(ctx context.Context, b plugin.Batch) error {
	r.mu.Lock()
	if b.Compact {
		r.compact++
	} else {
		r.plain++
	}
	for i, in := range b.Inputs {
		want, err := r.tmpl.Render(nil, in, nil)
		if err != nil {
			r.errs = append(r.errs, fmt.Sprintf("rendering %s: %v", in, err))
			continue
		}
		if b.Compact {
			var ok bool
			if want, ok = transform.AppendCompact(nil, want); !ok {
				r.errs = append(r.errs, fmt.Sprintf("Compact batch, but the rendering %s is not JSON", want))
			}
		}
		if string(b.Payloads[i]) != string(want) {
			r.errs = append(r.errs, fmt.Sprintf("payload %s, want %s (Compact %v)", b.Payloads[i], want, b.Compact))
		}
	}
	r.mu.Unlock()
	return r.recorder.Deliver(ctx, b)
}

// TestCompactTemplateForCompactTargets: a plugin.CompactJSONTarget (the file target) gets a JSON
// template's renderings compacted by the runtime and marked plugin.Batch.Compact, equal to compacting the
// ordinary rendering, on the first attempt (rendered ahead) and on a retry (rendered again); a text
// template is not marked; and any other target gets the rendering as written, spaces and all.
func TestCompactTemplateForCompactTargets(t *testing.T) {
	c := kafkatest.Kfake(t)
	const jsonTemplate = "{ \"n\" : <$.value.n>,\n \"v\" : <$.value>, \"s\": \" offset <$.offset> \" }"
	tests := []struct {
		name          string
		template      string
		compactTarget bool
		wantCompact   bool
	}{
		{name: "JSON template, compact target", template: jsonTemplate, compactTarget: true, wantCompact: true},
		{name: "text template, compact target", template: `n is <$.value.n>`, compactTarget: true},
		{name: "JSON template, other target", template: jsonTemplate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := transform.Parse(tc.template)
			if err != nil {
				t.Fatal(err)
			}
			topic := c.CreateTopic(t, 1)
			produce(t, c, topic, []*kgoRecord{{value: "{\n \"n\": 1, \"s\": \"a  b\"}"}, {value: `not json`}, {value: `{"n":[1, 2]}`}})
			rec := &compactRecorder{wantCompact: tc.compactTarget, tmpl: tmpl, recorder: &recorder{
				fail: func(call int) error {
					if call == 1 {
						return errors.New("first call fails, so that the retry renders again")
					}
					return nil
				},
			}}
			reg := plugin.NewRegistry()
			reg.AddTarget(fileSpec(rec))
			def := definition(t, c, topic, spec{target: "file:///unused", targetTemplate: tc.template})
			start(t, def, deps(t, reg))
			waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 3})
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, e := range rec.errs {
				t.Error(e)
			}
			if rec.compact+rec.plain < 2 {
				t.Fatalf("%d calls, want the failed one and its retry", rec.compact+rec.plain)
			}
			if tc.wantCompact && rec.plain != 0 || !tc.wantCompact && rec.compact != 0 {
				t.Fatalf("Compact calls %d, other calls %d: want Compact %v for all", rec.compact, rec.plain, tc.wantCompact)
			}
		})
	}
}
