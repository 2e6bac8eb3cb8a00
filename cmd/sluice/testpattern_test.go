package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTestEventPattern(t *testing.T) {
	dir := t.TempDir()
	patternFile := filepath.Join(dir, "pattern.json")
	eventFile := filepath.Join(dir, "event.json")
	if err := os.WriteFile(patternFile, []byte(`{"detail":{"state":[{"prefix":"run"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(eventFile, []byte(`{"detail":{"state":"running"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"match", []string{"--event-pattern", `{"source":["aws.ec2"]}`, "--event", `{"source":"aws.ec2"}`}, 0, `{"Result": true}` + "\n", ""},
		{"no match", []string{"--event-pattern", `{"source":["aws.ec2"]}`, "--event", `{"source":"aws.s3"}`}, 0, `{"Result": false}` + "\n", ""},
		{"files", []string{"--event-pattern", "file://" + patternFile, "--event", "file://" + eventFile}, 0, `{"Result": true}` + "\n", ""},
		{"invalid pattern", []string{"--event-pattern", `{"source":"aws.ec2"}`, "--event", `{}`}, 1, "", "source: must be an object or an array"},
		{"invalid event", []string{"--event-pattern", `{"source":["x"]}`, "--event", `{"source":"x",}`}, 1, "", "invalid event"},
		{"missing file", []string{"--event-pattern", "file://" + filepath.Join(dir, "nope"), "--event", `{}`}, 1, "", "reading --event-pattern"},
		{"missing flag", []string{"--event", `{}`}, 2, "", "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cmdTestEventPattern(context.Background(), tc.args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
			if code != tc.wantCode {
				t.Errorf("cmdTestEventPattern(%q) = %d, want %d (stderr %q)", tc.args, code, tc.wantCode, errb.String())
			}
			if out.String() != tc.wantOut {
				t.Errorf("cmdTestEventPattern(%q) printed %q, want %q", tc.args, out.String(), tc.wantOut)
			}
			if !strings.Contains(errb.String(), tc.wantErr) {
				t.Errorf("cmdTestEventPattern(%q) stderr %q, want it to contain %q", tc.args, errb.String(), tc.wantErr)
			}
		})
	}
}
