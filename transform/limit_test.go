package transform

import (
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// amplifyingEvent is a Kafka record whose value is a JSON object of about size bytes.
func amplifyingEvent(size int) []byte {
	value := `{"blob":"` + strings.Repeat("x", size) + `"}`
	return []byte(`{"eventSource":"SelfManagedKafka","topic":"t","partition":"0","offset":1,"value":"` +
		base64.StdEncoding.EncodeToString([]byte(value)) + `"}`)
}

// amplifyingTemplate repeats <$.value> n times in a JSON array, like the 6.9 KB template that rendered hundreds
// of copies of the record's value before rendering was bounded.
func amplifyingTemplate(n int) string {
	return "[" + strings.Repeat("<$.value>,", n-1) + "<$.value>]"
}

func TestRenderLimit(t *testing.T) {
	ev := benchEvent(t)
	cases := []struct {
		name, tmpl string
		limit      int
		tooLarge   bool
	}{
		{"under the limit", benchTemplate, 1 << 10, false},
		{"no limit", benchTemplate, 0, false},
		{"exactly the limit", `"<$.topic>"`, len(`"orders"`), false},
		{"one byte over", `"<$.topic>"`, len(`"orders"`) - 1, true},
		{"trailing text over", `<$.topic> and some text after it`, 10, true},
		{"empty template within", "", len(ev), false},
		{"empty template over", "", len(ev) - 1, true},
		{"event text over", `{"e": <aws.pipes.event>}`, 100, true},
	}
	for _, c := range cases {
		tmpl, err := Parse(c.tmpl)
		if err != nil {
			t.Fatalf("%s: Parse(%s) = %v", c.name, c.tmpl, err)
		}
		want, err := tmpl.Render(nil, ev, nil)
		if err != nil {
			t.Fatalf("%s: Render = %v", c.name, err)
		}
		prefix := []byte("kept|")
		got, err := tmpl.RenderLimit(prefix, ev, nil, c.limit)
		if c.tooLarge {
			var se *SizeError
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &se) || se.Limit != c.limit {
				t.Errorf("%s: RenderLimit(limit %d) error = %v, want a *SizeError{%d} matching ErrTooLarge", c.name, c.limit, err, c.limit)
			}
			if string(got) != "kept|" {
				t.Errorf("%s: RenderLimit(limit %d) left dst = %.40q, want it as given", c.name, c.limit, got)
			}
			continue
		}
		if err != nil || string(got) != "kept|"+string(want) {
			t.Errorf("%s: RenderLimit(limit %d) = %.60q, %v, want Render's output %.60q", c.name, c.limit, got, err, want)
		}
	}
}

// TestRenderLimitBoundsMemory is a regression test for template amplification at the library level: 300 copies
// of a 900 KB value would be 270 MB; with a 6 MB limit rendering stops after the limit and allocates a bounded
// amount.
func TestRenderLimitBoundsMemory(t *testing.T) {
	ev := amplifyingEvent(900 << 10)
	tmpl, err := Parse(amplifyingTemplate(300))
	if err != nil {
		t.Fatal(err)
	}
	const limit = 6 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := tmpl.RenderLimit(nil, ev, nil, limit)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("RenderLimit = %d bytes, %v; want ErrTooLarge", len(out), err)
	}
	if len(out) != 0 {
		t.Errorf("RenderLimit returned %d bytes with the error, want none", len(out))
	}
	// Appending doubles the buffer: up to about 2 x (limit + one value) allocated in all, plus the decoded value.
	if got := after.TotalAlloc - before.TotalAlloc; got > 40<<20 {
		t.Errorf("RenderLimit allocated %d MB over a %d MB limit, want the memory bounded near the limit", got>>20, limit>>20)
	}
	if !strings.Contains(err.Error(), "6291456") {
		t.Errorf("RenderLimit error %q does not name the limit", err)
	}
}

func TestRenderLimitDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	ev := benchEvent(t)
	tmpl, err := Parse(benchTemplate + ` <aws.pipes.pipe-arn> <aws.pipes.event.ingestion-time>`)
	if err != nil {
		t.Fatal(err)
	}
	vars := &Vars{PipeArn: "arn", IngestionTime: time.Unix(0, 0)}
	buf := make([]byte, 0, 4096)
	var s Scope
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := tmpl.RenderLimit(buf[:0], ev, vars, 6<<20); err != nil {
			t.Fatal(err)
		}
		s.Reset(ev)
		if _, err := tmpl.RenderScopeLimit(buf[:0], &s, vars, 6<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("RenderLimit and RenderScopeLimit allocate %v times per event, want 0", allocs)
	}
}
