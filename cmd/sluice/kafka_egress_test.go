package main

// Regression tests for the egress of API-created pipes, for Kafka: the brokers of a pipe created through
// the API of a running `sluice serve` (source, AdditionalBootstrapServers, a kafka:// target or dead-letter
// destination) are dialled under the egress policy, as HTTP targets are. The refused address is the server's
// own listener, so no traffic leaves the machine.

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// waitState polls DescribePipe until the pipe leaves CREATING and returns its state and reason.
func waitState(t *testing.T, api, name string, d time.Duration) (string, string) {
	t.Helper()
	var state, reason string
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		state, reason = describeState(t, api, name)
		if state != "CREATING" {
			return state, reason
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("pipe %s still %s after %s (reason %q)", name, state, d, reason)
	return "", ""
}

// TestServeRefusesKafkaToItself: every Kafka endpoint of an API-created pipe pointed at the server's own
// listener fails the pipe (CREATE_FAILED, not retried) with a reason naming the address and
// --allow-egress, whether given as an address (checked when the pipe is built) or as a host name
// resolving to it (refused by the dialer).
func TestServeRefusesKafkaToItself(t *testing.T) {
	keyless(t)
	api, stderr, _ := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", stderr.String())
		}
	}()
	u, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	self := u.Host
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	broker := c.Bootstrap[0]
	cases := []struct {
		name, broker string
		top, smk     map[string]any
	}{
		{"source", self, nil, nil},
		{"source-by-name", "localhost:" + u.Port(), nil, nil},
		{"additional-bootstrap-server", broker, nil, map[string]any{"AdditionalBootstrapServers": []string{self}}},
		{"target", broker, map[string]any{"Target": "kafka://" + self + "/out"}, nil},
		{"dead-letter", broker, nil, map[string]any{"DeadLetterConfig": map[string]any{"Arn": "kafka://" + self + "/dlq"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			top := map[string]any{"Target": "kafka://" + broker + "/out"}
			for k, v := range tc.top {
				top[k] = v
			}
			code, body := apiCall(t, "POST", api+"/v1/pipes/"+tc.name, pipeBody(t, tc.broker, topic, top, tc.smk))
			if code != 200 {
				t.Fatalf("CreatePipe = %d %s", code, body)
			}
			start := time.Now()
			state, reason := waitState(t, api, tc.name, 60*time.Second)
			t.Logf("%s after %s: %s", state, time.Since(start).Round(time.Millisecond), reason)
			if state != "CREATE_FAILED" {
				t.Fatalf("state %s (%s), want CREATE_FAILED", state, reason)
			}
			for _, want := range []string{self, "egress policy", "--allow-egress 127.0.0.1/32"} {
				if !strings.Contains(reason, want) {
					t.Errorf("StateReason %q does not name %q", reason, want)
				}
			}
		})
	}
}

// TestServeAllowEgressOpensKafka: with --allow-egress covering the server's own listener, a source
// pointed at it is dialled: the pipe fails for what that listener is (an HTTP server, not a broker), not
// for the egress policy.
func TestServeAllowEgressOpensKafka(t *testing.T) {
	keyless(t)
	api, _, _ := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--allow-egress", "127.0.0.1")
	u, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	code, body := apiCall(t, "POST", api+"/v1/pipes/opened", pipeBody(t, u.Host, "in", map[string]any{"Target": "kafka://" + u.Host + "/out"}, nil))
	if code != 200 {
		t.Fatalf("CreatePipe = %d %s", code, body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		state, reason := describeState(t, api, "opened")
		if strings.Contains(reason, "egress") {
			t.Fatalf("state %s, reason %q: refused although --allow-egress opens it", state, reason)
		}
		if reason != "" {
			t.Logf("%s: %s", state, reason) // the broker check reached the listener and failed there
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no StateReason after 60 s (state %s)", state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeRefusesKafkaTargetByName: a kafka:// target named by a host name that resolves to the server's
// own listener cannot be refused when the pipe is built (names are resolved when dialled); the dialer
// refuses it, and the record is dead-lettered at once as a permanent failure naming the address.
func TestServeRefusesKafkaTargetByName(t *testing.T) {
	keyless(t)
	data := t.TempDir()
	api, _, _ := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", data)
	u, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	dlq := filepath.Join(data, "files", "dlq.jsonl")
	code, body := apiCall(t, "POST", api+"/v1/pipes/byname", pipeBody(t, c.Bootstrap[0], topic,
		map[string]any{"Target": "kafka://localhost:" + u.Port() + "/out"},
		map[string]any{"DeadLetterConfig": map[string]any{"Arn": "file://" + dlq}}))
	if code != 200 {
		t.Fatalf("CreatePipe = %d %s", code, body)
	}
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"id":1}`)})
	start := time.Now()
	lines := waitForLines(t, dlq, 1, 60*time.Second)
	t.Logf("dead-lettered after %s", time.Since(start).Round(time.Millisecond))
	var dl deadLetter
	if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
		t.Fatalf("dead letter %q: %v", lines[0], err)
	}
	if dl.ErrorClass != "permanent" || !strings.Contains(dl.Error, u.Host) || !strings.Contains(dl.Error, "--allow-egress") {
		t.Errorf("dead letter = %+v; want a permanent refusal naming %s and --allow-egress", dl, u.Host)
	}
}
