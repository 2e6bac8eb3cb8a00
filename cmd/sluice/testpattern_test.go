package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/internal/sluicetest"
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

// readmeRecord is the Pipes Kafka record of README.md ("The events a pipe sees"); its value is base64 of
// {"status":"PAID"}.
const readmeRecord = `{"eventSource": "SelfManagedKafka", "bootstrapServers": "b1:9092,b2:9092", "eventSourceKey": "orders-0",
 "topic": "orders", "partition": "0", "offset": 15, "timestamp": 1545084650987, "timestampType": "CREATE_TIME",
 "key": "b3JkLTE=", "value": "eyJzdGF0dXMiOiJQQUlEIn0=", "headers": [{"source": [119, 101, 98]}]}`

// TestTestEventPatternKafkaRecord: a Pipes Kafka record is matched the way a pipe's filter matches it, with the
// key and value decoded (test-event-pattern used to match the record as written, its base64 key and value
// included, so its answer could differ from the pipe's).
func TestTestEventPatternKafkaRecord(t *testing.T) {
	record := func(key, value string) string {
		return `{"eventSource":"SelfManagedKafka","topic":"orders","partition":"0","offset":1,"key":` + key + `,"value":` + value + `}`
	}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"README record, value field", []string{"--event-pattern", `{"value":{"status":["PAID"]}}`, "--event", readmeRecord}, "", 0, `{"Result": true}` + "\n", ""},
		{"README record, other status", []string{"--event-pattern", `{"value":{"status":["PENDING"]}}`, "--event", readmeRecord}, "", 0, `{"Result": false}` + "\n", ""},
		{"README record, plain-text key", []string{"--event-pattern", `{"key":["ord-1"],"topic":["orders"]}`, "--event", readmeRecord}, "", 0, `{"Result": true}` + "\n", ""},
		{"README record from stdin", []string{"--event-pattern", `{"value":{"status":["PAID"]}}`, "--event", "-"}, readmeRecord, 0, `{"Result": true}` + "\n", ""},
		{"--plain matches the base64 text", []string{"--plain", "--event-pattern", `{"value":["eyJzdGF0dXMiOiJQQUlEIn0="]}`, "--event", readmeRecord}, "", 0, `{"Result": true}` + "\n", ""},
		{"--plain does not decode", []string{"--plain", "--event-pattern", `{"value":{"status":["PAID"]}}`, "--event", readmeRecord}, "", 0, `{"Result": false}` + "\n", ""},
		{"MSK record", []string{"--event-pattern", `{"value":{"status":["PAID"]}}`, "--event", `{"eventSource":"aws:kafka","value":"eyJzdGF0dXMiOiJQQUlEIn0="}`}, "", 0, `{"Result": true}` + "\n", ""},
		{"JSON null value has no fields", []string{"--event-pattern", `{"value":{"status":["PAID"]}}`, "--event", record(`null`, `"bnVsbA=="`)}, "", 0, `{"Result": false}` + "\n", ""},
		{"JSON null value as a whole", []string{"--event-pattern", `{"value":[null]}`, "--event", record(`null`, `"bnVsbA=="`)}, "", 0, `{"Result": true}` + "\n", ""},
		{"tombstone is an absent value", []string{"--event-pattern", `{"value":[{"exists":false}]}`, "--event", record(`null`, `null`)}, "", 0, `{"Result": true}` + "\n", ""},
		{"plain-text value drops field clauses", []string{"--event-pattern", `{"topic":["orders"],"value":{"status":["PAID"]}}`, "--event", record(`null`, `"aGVsbG8="`)}, "", 0, `{"Result": true}` + "\n", ""},
		{"value not base64", []string{"--event-pattern", `{"value":{"a":[1]}}`, "--event", record(`null`, `"%%%"`)}, "", 1, "", "value of a Kafka record is not base64"},
		{"value not a string", []string{"--event-pattern", `{"value":{"a":[1]}}`, "--event", record(`null`, `{"a":1}`)}, "", 1, "", "must be base64 text or null"},
		{"other events unchanged", []string{"--event-pattern", `{"value":{"a":[1]}}`, "--event", `{"eventSource":"aws.s3","value":{"a":1}}`}, "", 0, `{"Result": true}` + "\n", ""},
		{"stdin too large", []string{"--event-pattern", `{"a":[1]}`, "--event", "-"}, `{"a":"` + strings.Repeat("x", maxTestInput) + `"}`, 1, "", "input too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cmdTestEventPattern(context.Background(), tc.args, stdio{in: strings.NewReader(tc.stdin), out: &out, err: &errb})
			if code != tc.wantCode || out.String() != tc.wantOut || !strings.Contains(errb.String(), tc.wantErr) {
				t.Errorf("cmdTestEventPattern(%.120q) = %d, %q, stderr %q; want %d, %q, stderr containing %q",
					tc.args, code, out.String(), errb.String(), tc.wantCode, tc.wantOut, tc.wantErr)
			}
		})
	}
}

// TestTestEventPatternBinary drives the built binary with the README's record on standard input.
func TestTestEventPatternBinary(t *testing.T) {
	cmd := exec.Command(sluicetest.Binary(t), "test-event-pattern", "--event-pattern", `{"value": {"status": ["PAID"]}}`, "--event", "-")
	cmd.Stdin = strings.NewReader(readmeRecord)
	p := sluicetest.StartCmd(t, cmd)
	if code := p.Wait(t, 30*time.Second); code != 0 || p.Stdout.String() != `{"Result": true}`+"\n" {
		t.Errorf("sluice test-event-pattern on the README record = exit %d, %q, stderr %q; want {\"Result\": true}",
			code, p.Stdout.String(), p.Stderr.String())
	}
}

// TestTestEventPatternSignalEndsStdinRead: a signal (ctx cancelled) ends a read of standard input that never
// finishes, such as a terminal nobody types into.
func TestTestEventPatternSignalEndsStdinRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, w := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- cmdTestEventPattern(ctx, []string{"--event-pattern", `{"a":[1]}`, "--event", "-"}, stdio{in: r, out: io.Discard, err: io.Discard})
		}()
		synctest.Wait() // the command is blocked reading standard input
		select {
		case code := <-done:
			t.Fatalf("the command exited (%d) before its input ended", code)
		default:
		}
		cancel()
		if code := <-done; code != 1 {
			t.Errorf("exit = %d, want 1", code)
		}
		w.Close() // ends the abandoned read
	})
}
