package transform

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenVars are fixed so that the golden outputs are reproducible.
var goldenVars = &Vars{
	PipeArn:       "arn:aws:pipes:us-east-1:000000000000:pipe/orders-pipe",
	PipeName:      "orders-pipe",
	SourceArn:     "smk://localhost:9092/orders",
	EnrichmentArn: "",
	TargetArn:     "file:///tmp/orders.jsonl",
	IngestionTime: time.Date(2026, 11, 25, 13, 42, 4, 123456789, time.UTC),
}

// TestGolden renders every case of testdata/golden_cases.json against its event from testdata/events and compares
// template and output with testdata/golden/NAME.golden. Run with -update to rewrite them, then review the diff.
func TestGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/golden_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ Name, Event, Template string }
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("reading golden cases: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			event, err := os.ReadFile(filepath.Join("testdata/events", c.Event))
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := Parse(c.Template)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", c.Template, err)
			}
			out, err := tmpl.Render(nil, event, goldenVars)
			if err != nil {
				t.Fatalf("Render(%s) = %v", c.Name, err)
			}
			var got bytes.Buffer
			got.WriteString("-- event: " + c.Event + "\n-- template --\n" + c.Template + "\n-- output --\n")
			got.Write(out)
			got.WriteString("\n")
			path := filepath.Join("testdata/golden", c.Name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update): %v", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("Render(%s) =\n%s\nwant\n%s", c.Name, got.Bytes(), want)
			}
		})
	}
}
