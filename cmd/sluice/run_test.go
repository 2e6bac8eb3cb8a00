package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// countingListener counts connections, to prove that nothing was dialled.
func countingListener(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunRejectsInvalidDefinitions: every problem is printed by field, the exit status is 2, and the
// broker named in the definition is never contacted.
func TestRunRejectsInvalidDefinitions(t *testing.T) {
	broker, accepted := countingListener(t)
	tests := []struct {
		name       string
		file       string
		definition string
		wantFields []string
	}{
		{
			name: "every field problem at once",
			file: "pipe.json",
			definition: `{"Source": "smk://` + broker + `",
			  "SourceParameters": {
			    "FilterCriteria": {"Filters": [{"Pattern": "{\"value\": {\"status\": \"PAID\"}}"}]},
			    "SelfManagedKafkaParameters": {"TopicName": "", "BatchSize": 20000, "MaximumBatchingWindowInSeconds": 301}},
			  "Target": "ftp://example.com/x",
			  "TargetParameters": {"InputTemplate": "{\"a\": <$.value.>}"}}`,
			wantFields: []string{
				"SourceParameters.FilterCriteria.Filters[0].Pattern",
				"SourceParameters.SelfManagedKafkaParameters.TopicName",
				"SourceParameters.SelfManagedKafkaParameters.BatchSize",
				"SourceParameters.SelfManagedKafkaParameters.MaximumBatchingWindowInSeconds",
				"Target",
				"TargetParameters.InputTemplate",
			},
		},
		{
			name:       "unknown members",
			file:       "pipe.yaml",
			definition: "Source: smk://" + broker + "\nSourceParameters:\n  SelfManagedKafkaParameters:\n    TopicName: orders\n    BatchSise: 10\nTarget: file:///tmp/x\nColour: blue\n",
			wantFields: []string{"SourceParameters.SelfManagedKafkaParameters.BatchSise", "Colour"},
		},
		{
			name:       "http target needs batch size 1",
			file:       "http.json",
			definition: `{"Source": "smk://` + broker + `", "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t", "BatchSize": 10}}, "Target": "https://example.com/in"}`,
			wantFields: []string{"SourceParameters.SelfManagedKafkaParameters.BatchSize"},
		},
		{
			// The Kafka target's own member, checked by the plugin (and its cluster never dialled either).
			name: "bad plugin parameters",
			file: "kafka.json",
			definition: `{"Source": "smk://` + broker + `", "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t"}},
			  "Target": "kafka://` + broker + `/out",
			  "TargetParameters": {"KafkaParameters": {"Key": "$.bad path", "Credentials": {"BasicAuth": "password"}, "Extra": true}}}`,
			wantFields: []string{"TargetParameters.KafkaParameters.Key", "TargetParameters.KafkaParameters.Credentials.BasicAuth",
				"TargetParameters.KafkaParameters.Extra"},
		},
		{
			name: "bad HTTP parameters",
			file: "http-params.json",
			definition: `{"Source": "smk://` + broker + `", "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t"}},
			  "Target": "https://example.com/in", "TargetParameters": {"HttpParameters": {"HeaderParameters": {"bad name": "x"}}}}`,
			wantFields: []string{"TargetParameters.HttpParameters.HeaderParameters[bad name] name"},
		},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			path := writeFile(t, tc.file, tc.definition)
			var out, errb bytes.Buffer
			code := cmdRun(context.Background(), []string{"--file", path}, stdio{out: &out, err: &errb})
			if code != 2 {
				t.Fatalf("sluice run exit = %d, want 2; stderr:\n%s", code, errb.String())
			}
			for _, f := range tc.wantFields {
				if !strings.Contains(errb.String(), f+":") {
					t.Errorf("stderr does not list %s:\n%s", f, errb.String())
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Fatalf("invalid definitions opened %d connections to the broker", n)
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no file", nil, 2},
		{"help", []string{"-h"}, 0},
		{"extra argument", []string{"--file", "x.json", "extra"}, 2},
		{"bad log level", []string{"--file", "x.json", "--log-level", "loud"}, 2},
		{"missing file", []string{"--file", "/nonexistent/sluice/pipe.json"}, 1},
		{"session timeout below the broker's minimum", []string{"--file", "x.json", "--session-timeout", "1s"}, 2},
		{"session timeout above the broker's maximum", []string{"--file", "x.json", "--session-timeout", "31m"}, 2},
		{"instance ID with a character Kafka refuses", []string{"--file", "x.json", "--instance-id", "a/b"}, 2},
		{"AWS endpoint that is not a URL", []string{"--file", "x.json", "--aws-endpoint", "127.0.0.1:5055"}, 2},
		{"assume-pipe-role that is not a boolean", []string{"--file", "x.json", "--assume-pipe-role=maybe"}, 2},
	}
	stopped := writeFile(t, "stopped.json", `{"DesiredState": "STOPPED", "Source": "smk://127.0.0.1:1",
	  "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t"}}, "Target": "file:///tmp/x"}`)
	tests = append(tests, struct {
		name string
		args []string
		want int
	}{"stopped pipe is not run", []string{"--file", stopped}, 0})
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := cmdRun(context.Background(), tc.args, stdio{out: &out, err: &errb}); code != tc.want {
				t.Fatalf("sluice run %v = %d, want %d; stderr:\n%s", tc.args, code, tc.want, errb.String())
			}
		})
	}
}

// TestRunDeliversAndDrains runs a YAML definition against a cluster until cancelled: delivered lines
// appear in the file target, /metrics answers, and cancelling drains and exits 0 with offsets committed.
func TestRunDeliversAndDrains(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		var recs []*kgo.Record
		for i := range 20 {
			status := "PAID"
			if i%2 == 1 {
				status = "PENDING"
			}
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Key: []byte(fmt.Sprint(i)),
				Value: fmt.Appendf(nil, `{"orderId":"o-%d","status":%q}`, i, status)})
		}
		c.Produce(t, recs...)
		out := filepath.Join(t.TempDir(), "out.jsonl")
		name := fmt.Sprintf("run-test-%d", time.Now().UnixNano())
		def := fmt.Sprintf(`# A CreatePipe definition in YAML
Source: smk://%s
SourceParameters:
  FilterCriteria:
    Filters:
      - Pattern: '{"value": {"status": ["PAID"]}}'
  SelfManagedKafkaParameters:
    TopicName: %s
    StartingPosition: TRIM_HORIZON
Target: file://%s?fsync=never
TargetParameters:
  InputTemplate: '{"id": <$.value.orderId>, "pipe": <aws.pipes.pipe-name>, "arn": <aws.pipes.pipe-arn>}'
LogConfiguration:
  Level: INFO
`, c.Bootstrap[0], topic, out)
		execLog := filepath.Join(t.TempDir(), "executions.jsonl")
		path := writeFile(t, "pipe.yaml", def)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errb := &syncBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- cmdRun(ctx, []string{"--file", path, "--name", name, "--metrics-listen", "127.0.0.1:0", "--execution-log", execLog,
				"--region", "eu-west-1", "--account", "123456789012"}, stdio{out: io.Discard, err: errb})
		}()
		kafkatest.Eventually(t, 60*time.Second, func() error {
			select {
			case code := <-done:
				t.Fatalf("sluice run exited early with %d:\n%s", code, errb.String())
			default:
			}
			data, _ := os.ReadFile(out)
			if n := bytes.Count(data, []byte("\n")); n < 10 {
				return fmt.Errorf("%d lines delivered, want 10", n)
			}
			return nil
		})
		data, _ := os.ReadFile(out)
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var v struct{ ID, Pipe, Arn string }
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("line %s: %v", sc.Bytes(), err)
			}
			if v.Pipe != name || v.Arn != "arn:aws:pipes:eu-west-1:123456789012:pipe/"+name {
				t.Errorf("line %s: want pipe %s in eu-west-1/123456789012", sc.Bytes(), name)
			}
		}
		metricsURL := logValue(t, errb.String(), "serving metrics", "address")
		resp, err := http.Get(metricsURL)
		if err != nil {
			t.Fatalf("GET %s: %v", metricsURL, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("go_goroutines")) {
			t.Fatalf("GET %s = %d:\n%.300s", metricsURL, resp.StatusCode, body)
		}
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("sluice run exit after SIGTERM-like cancel = %d, want 0:\n%s", code, errb.String())
			}
		case <-time.After(60 * time.Second):
			t.Fatal("sluice run did not drain within 60s")
		}
		// The pipe's execution log went to --execution-log, in the Pipes log record shape.
		xl, _ := os.ReadFile(execLog)
		if !bytes.Contains(xl, []byte(`"messageType":"EXECUTION_STARTED"`)) || !bytes.Contains(xl, []byte(`"messageType":"EXECUTION_SUCCEEDED"`)) {
			t.Errorf("--execution-log %s lacks the INFO execution steps:\n%.500s", execLog, xl)
		}
		adm := c.Admin(t)
		offs, err := adm.FetchOffsets(context.Background(), "sluice-"+name)
		if err != nil {
			t.Fatal(err)
		}
		for p := int32(0); p < 2; p++ {
			if o, ok := offs.Lookup(topic, p); !ok || o.At != 10 {
				t.Errorf("committed offset of %s[%d] = %+v, want 10", topic, p, o)
			}
		}
	})
}

// logValue finds the first JSON log line with msg and returns its key.
func logValue(t *testing.T, logs, msg, key string) string {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != msg {
			continue
		}
		if v, ok := m[key].(string); ok {
			return v
		}
	}
	t.Fatalf("no log line %q with %q in:\n%s", msg, key, logs)
	return ""
}
