package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// Regression tests for validation and templates, driving the built binary: decode errors used to hide a
// definition's other problems, syntax errors gave no position, and a template that cannot render to JSON
// was accepted without a word.

// TestRunListsEveryProblemAfterDecodeErrors: unknown members and wrong types do not hide the other problems.
func TestRunListsEveryProblemAfterDecodeErrors(t *testing.T) {
	path := writeFile(t, "pipe.json", `{
	  "Source": "smk://127.0.0.1:1",
	  "Colour": "blue",
	  "DesiredState": "PAUSED",
	  "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "bad topic", "BatchSize": "10"}},
	  "Target": "ftp://example.com/x"
	}`)
	yamlPath := writeFile(t, "pipe.yaml", "Source: smk://127.0.0.1:1\nColour: blue\nDesiredState: PAUSED\n"+
		"SourceParameters:\n  SelfManagedKafkaParameters:\n    TopicName: bad topic\n    BatchSize: [10]\nTarget: ftp://example.com/x\n")
	for _, file := range []string{path, yamlPath} {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			p := sluicetest.Start(t, "run", "--file", file)
			if code := p.Wait(t, 30*time.Second); code != 2 {
				t.Fatalf("sluice run = exit %d, want 2; stderr:\n%s", code, p.Stderr.String())
			}
			stderr := p.Stderr.String()
			for _, want := range []string{
				"Colour: unknown field",
				"SourceParameters.SelfManagedKafkaParameters.BatchSize: must be an integer",
				"DesiredState: must be one of RUNNING, STOPPED",
				"SourceParameters.SelfManagedKafkaParameters.TopicName:",
				"Target:",
				"(5 problems)",
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// TestRunSyntaxErrorPosition: a JSON syntax error names the line and column; a YAML one the YAML line.
func TestRunSyntaxErrorPosition(t *testing.T) {
	cases := []struct{ file, content, want string }{
		{"pipe.json", "{\n  \"Source\": \"smk://127.0.0.1:1\",\n  \"Target\": \"file:///tmp/x\",\n}\n", "line 4, column 1: invalid character '}'"},
		{"open.json", "{\n  \"Source\": \"smk://127.0.0.1:1\"\n", "line 2, column 32: unexpected end of input"},
		{"pipe.yaml", "Source: smk://127.0.0.1:1\nTags: [a\n", "yaml: line 2:"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			p := sluicetest.Start(t, "run", "--file", writeFile(t, tc.file, tc.content))
			if code := p.Wait(t, 30*time.Second); code != 2 || !strings.Contains(p.Stderr.String(), tc.want) {
				t.Errorf("sluice run = exit %d, stderr:\n%s\nwant exit 2 and %q", code, p.Stderr.String(), tc.want)
			}
		})
	}
}

// TestBrokenJSONTemplateWarns: {"id": <$.value.id> (no closing brace) is accepted, as Pipes accepts any text,
// but `sluice run` and `sluice test-input-template` warn with the position.
func TestBrokenJSONTemplateWarns(t *testing.T) {
	const want = `TargetParameters.InputTemplate: input template: line 1, column 20: starts like JSON but does not render to JSON`
	path := writeFile(t, "pipe.json", `{"Source": "smk://127.0.0.1:1", "DesiredState": "STOPPED",
	  "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t"}},
	  "Target": "file:///tmp/x", "TargetParameters": {"InputTemplate": "{\"id\": <$.value.id>"}}`)
	p := sluicetest.Start(t, "run", "--file", path)
	if code := p.Wait(t, 30*time.Second); code != 0 || !strings.Contains(p.Stderr.String(), "warning: "+want) {
		t.Errorf("sluice run = exit %d, stderr:\n%s\nwant exit 0 (STOPPED) and the warning %q", code, p.Stderr.String(), want)
	}

	event := `{"eventSource":"SelfManagedKafka","value":"eyJpZCI6N30="}`
	p = sluicetest.Start(t, "test-input-template", "--input-template", `{"id": <$.value.id>`, "--event", event)
	if code := p.Wait(t, 30*time.Second); code != 0 ||
		!strings.Contains(p.Stderr.String(), "warning: input template: line 1, column 20: starts like JSON") ||
		p.Stdout.String() != `{"id": 7`+"\n" {
		t.Errorf("test-input-template = exit %d, stdout %q, stderr:\n%s\nwant exit 0, the rendering and a warning", code, p.Stdout.String(), p.Stderr.String())
	}
	p = sluicetest.Start(t, "test-input-template", "--input-template", `{"id": <$.value.id>}`, "--event", event)
	if code := p.Wait(t, 30*time.Second); code != 0 || strings.Contains(p.Stderr.String(), "warning") {
		t.Errorf("test-input-template on a good template = exit %d, stderr %q, want no warning", code, p.Stderr.String())
	}
}
