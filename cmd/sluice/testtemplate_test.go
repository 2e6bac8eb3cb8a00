package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTestInputTemplate(t *testing.T) {
	dir := t.TempDir()
	eventFile := filepath.Join(dir, "event.json")
	// value is base64 of {"orderId":"o-1"}
	event := `{"eventSource":"SelfManagedKafka","topic":"orders","partition":"0","offset":1,"key":null,"value":"eyJvcmRlcklkIjoiby0xIn0=","headers":[]}`
	if err := os.WriteFile(eventFile, []byte(event+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmplFile := filepath.Join(dir, "template.txt")
	if err := os.WriteFile(tmplFile, []byte(`{"id": <$.value.orderId>, "pipe": <aws.pipes.pipe-arn>}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		out, err string
	}{
		{"inline", []string{"--input-template", `{"id": <$.value.orderId>, "t": "<$.topic>"}`, "--event", event},
			"", 0, `{"id": "o-1", "t": "orders"}` + "\n", ""},
		{"files", []string{"--input-template", "file://" + tmplFile, "--event", "file://" + eventFile},
			"", 0, `{"id": "o-1", "pipe": "arn:aws:pipes:us-east-1:000000000000:pipe/test-pipe"}` + "\n", ""},
		{"stdin event", []string{"--input-template", `<$.value>`, "--event", "-"},
			event, 0, "{orderId:o-1}\n", ""},
		{"arn flags", []string{"--input-template", `<aws.pipes.pipe-arn> <aws.pipes.pipe-name> <aws.pipes.source-arn> <aws.pipes.enrichment-arn> <aws.pipes.target-arn>`,
			"--event", event, "--pipe-name", "orders", "--region", "eu-west-1", "--account", "123456789012",
			"--source-arn", "smk://b:9092/orders", "--enrichment-arn", "https://e", "--target-arn", "file:///tmp/o"},
			"", 0, "arn:aws:pipes:eu-west-1:123456789012:pipe/orders orders smk://b:9092/orders https://e file:///tmp/o\n", ""},
		{"ingestion time", []string{"--input-template", `{"t": <aws.pipes.event.ingestion-time>}`, "--event", event,
			"--ingestion-time", "2026-11-25T14:00:00.5+01:00"}, "", 0, `{"t": "2026-11-25T13:00:00.500Z"}` + "\n", ""},
		{"template error", []string{"--input-template", `{"a": <$.a..b>}`, "--event", event},
			"", 1, "", "input template: line 1, column 12: unexpected '.'"},
		{"unknown variable", []string{"--input-template", `<aws.pipes.nope>`, "--event", event},
			"", 1, "", "unknown reserved variable"},
		{"missing file", []string{"--input-template", "file://" + filepath.Join(dir, "nope"), "--event", event},
			"", 1, "", "reading --input-template"},
		{"bad time", []string{"--input-template", `x`, "--event", event, "--ingestion-time", "yesterday"},
			"", 1, "", "parsing --ingestion-time"},
		{"missing event flag", []string{"--input-template", `x`}, "", 2, "", "--input-template and --event are required"},
		{"unknown flag", []string{"--template", `x`}, "", 2, "", "flag provided but not defined"},
		{"help", []string{"-h"}, "", 0, "", "Usage: sluice test-input-template"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cmdTestInputTemplate(context.Background(), c.args, stdio{in: strings.NewReader(c.stdin), out: &out, err: &errb})
			if code != c.code {
				t.Errorf("cmdTestInputTemplate(%q) = %d, want %d (stderr %s)", c.args, code, c.code, errb.String())
			}
			if out.String() != c.out {
				t.Errorf("cmdTestInputTemplate(%q) printed %q, want %q", c.args, out.String(), c.out)
			}
			if !strings.Contains(errb.String(), c.err) {
				t.Errorf("cmdTestInputTemplate(%q) stderr = %q, want it to contain %q", c.args, errb.String(), c.err)
			}
			if c.err == "" && errb.Len() > 0 {
				t.Errorf("cmdTestInputTemplate(%q) stderr = %q, want nothing", c.args, errb.String())
			}
		})
	}
}

func TestTestInputTemplateDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), []string{"test-input-template", "--input-template", "<$.a>", "--event", `{"a":"b"}`},
		stdio{in: strings.NewReader(""), out: &out, err: &errb})
	if code != 0 || out.String() != "b\n" {
		t.Errorf("dispatch(test-input-template) = %d, %q (stderr %q), want 0, %q", code, out.String(), errb.String(), "b\n")
	}
}
