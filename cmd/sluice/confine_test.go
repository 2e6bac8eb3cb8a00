package main

// Regression tests for the confinement of API-created pipes (files and egress): pipes created through
// the API of a running `sluice serve` stay inside what the operator allowed (--file-root, --allow-egress).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// apiCall sends one unsigned Pipes API request to a keyless server and returns the status and body.
func apiCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pipeBody is a CreatePipe body reading topic from broker with BatchSize 1; extra members are merged into
// the top level and into SelfManagedKafkaParameters (smk).
func pipeBody(t *testing.T, broker, topic string, top, smk map[string]any) string {
	t.Helper()
	k := map[string]any{"TopicName": topic, "StartingPosition": "TRIM_HORIZON", "BatchSize": 1, "MaximumBatchingWindowInSeconds": 0}
	for n, v := range smk {
		k[n] = v
	}
	b := map[string]any{
		"Source":           "smk://" + broker,
		"RoleArn":          "arn:aws:iam::000000000000:role/pipe",
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": k},
	}
	for n, v := range top {
		b[n] = v
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// describeState returns a pipe's CurrentState and StateReason.
func describeState(t *testing.T, url, name string) (string, string) {
	t.Helper()
	code, body := apiCall(t, "GET", url+"/v1/pipes/"+name, "")
	if code != 200 {
		return fmt.Sprintf("HTTP %d", code), body
	}
	var d struct{ CurrentState, StateReason string }
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("DescribePipe %s: %v in %s", name, err, body)
	}
	return d.CurrentState, d.StateReason
}

// waitForLines waits until path holds at least n lines and returns them.
func waitForLines(t *testing.T, path string, n int, d time.Duration) []string {
	t.Helper()
	var lines []string
	kafkatest.Eventually(t, d, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) < n || lines[0] == "" {
			return fmt.Errorf("%s has %d lines, want %d", path, len(lines), n)
		}
		return nil
	})
	return lines
}

// keyless clears the access keys a developer's environment may hold, so that the server is keyless.
func keyless(t *testing.T) {
	t.Setenv("SLUICE_ACCESS_KEY_ID", "")
	t.Setenv("SLUICE_SECRET_ACCESS_KEY", "")
}

// TestServeConfinesFilesOfAPIPipes: an API client may not make the server write or read files outside the
// file roots (default DATA-DIR/files). A target, dead-letter file or secret outside them, or reached
// with "..", is a ValidationException at CreatePipe and UpdatePipe; a symbolic link leaving the root fails
// the pipe when it is built. Nothing is written outside, and a file inside the root works.
func TestServeConfinesFilesOfAPIPipes(t *testing.T) {
	keyless(t)
	data := t.TempDir()
	outside := t.TempDir()
	url, _, _ := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", data)
	root := filepath.Join(data, "files") // the default root, created by serve
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		t.Fatalf("default file root %s: %v", root, err)
	}
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	broker := c.Bootstrap[0]
	secret := filepath.Join(outside, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"username":"u","password":"hunter2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	const smkField = "SourceParameters.SelfManagedKafkaParameters."

	refused := []struct {
		name, field string
		top, smk    map[string]any
	}{
		{"target outside", "Target", map[string]any{"Target": "file://" + outside + "/out.jsonl"}, nil},
		{"target through dot-dot onto the store", "Target", map[string]any{"Target": "file://" + root + "/../sluice.db"}, nil},
		{"target /dev/stdout", "Target", map[string]any{"Target": "file:///dev/stdout"}, nil},
		{"dead-letter file outside", smkField + "DeadLetterConfig.Arn", map[string]any{"Target": "file://" + root + "/ok.jsonl"},
			map[string]any{"DeadLetterConfig": map[string]any{"Arn": "file://" + outside + "/dlq.jsonl"}}},
		{"secret outside", smkField + "Credentials.BasicAuth", map[string]any{"Target": "file://" + root + "/ok.jsonl"},
			map[string]any{"Credentials": map[string]any{"BasicAuth": "file://" + secret}}},
		{"secret through dot-dot", smkField + "ServerRootCaCertificate", map[string]any{"Target": "file://" + root + "/ok.jsonl"},
			map[string]any{"ServerRootCaCertificate": "file://" + root + "/../../" + filepath.Base(outside) + "/secret.json"}},
	}
	for i, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("refused-%d", i)
			code, body := apiCall(t, "POST", url+"/v1/pipes/"+name, pipeBody(t, broker, topic, tt.top, tt.smk))
			if code != 400 || !strings.Contains(body, "ValidationException") || !strings.Contains(body, `"`+tt.field+`"`) ||
				!strings.Contains(body, "outside the file roots") {
				t.Fatalf("CreatePipe = %d %s; want a ValidationException naming %s", code, body, tt.field)
			}
			if strings.Contains(body, "hunter2") {
				t.Errorf("the response carries the secret: %s", body)
			}
			if state, _ := describeState(t, url, name); state != "HTTP 404" {
				t.Errorf("refused pipe %s was stored: %s", name, state)
			}
		})
	}

	// UpdatePipe is checked the same way.
	code, body := apiCall(t, "POST", url+"/v1/pipes/kept", pipeBody(t, broker, topic,
		map[string]any{"Target": "file://" + root + "/kept.jsonl", "DesiredState": "STOPPED"}, nil))
	if code != 200 {
		t.Fatalf("CreatePipe inside the root = %d %s", code, body)
	}
	code, body = apiCall(t, "PUT", url+"/v1/pipes/kept", `{"RoleArn":"arn:aws:iam::000000000000:role/pipe","Target":"file://`+outside+`/moved.jsonl"}`)
	if code != 400 || !strings.Contains(body, "outside the file roots") {
		t.Errorf("UpdatePipe to a target outside = %d %s, want a ValidationException", code, body)
	}

	// A link inside the root that leads out: statically inside, refused when the pipe is built.
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	code, body = apiCall(t, "POST", url+"/v1/pipes/linked", pipeBody(t, broker, topic,
		map[string]any{"Target": "file://" + root + "/escape/linked.jsonl"}, nil))
	if code != 200 {
		t.Fatalf("CreatePipe through a link = %d %s", code, body)
	}
	// A working pipe in the root: records flow, so the linked one had every chance to write.
	code, body = apiCall(t, "POST", url+"/v1/pipes/inside", pipeBody(t, broker, topic,
		map[string]any{"Target": "file://" + root + "/sub/../inside.jsonl"}, nil))
	if code != 200 {
		t.Fatalf("CreatePipe inside the root = %d %s", code, body)
	}
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"id":1}`)})
	waitForLines(t, filepath.Join(root, "inside.jsonl"), 1, 60*time.Second)
	kafkatest.Eventually(t, 60*time.Second, func() error {
		state, reason := describeState(t, url, "linked")
		if state != "CREATE_FAILED" {
			return fmt.Errorf("pipe linked is %s (%s), want CREATE_FAILED", state, reason)
		}
		if !strings.Contains(reason, "symbolic link") || !strings.Contains(reason, root) {
			return errors.New("StateReason does not say the link leaves the root: " + reason)
		}
		return nil
	})

	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "secret.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files were written outside the root: %v", names)
	}
}

// getMethod makes an HTTP enrichment GET its endpoint (/metrics answers GET only).
func getMethod() map[string]any {
	return map[string]any{"ApiDestinationParameters": map[string]any{"HttpMethod": "GET"}}
}

// deadLetter is the part of a dead-letter line the tests read.
type deadLetter struct {
	Reason, ErrorClass, Error string
}

// TestServeRefusesEgressToItself: an HTTP enrichment pointed at the server's own /metrics is refused at
// dial time (permanent: the record is dead-lettered at once, naming the address and --allow-egress),
// and the metrics never reach the target.
func TestServeRefusesEgressToItself(t *testing.T) {
	keyless(t)
	data := t.TempDir()
	url, _, _ := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", data)
	root := filepath.Join(data, "files")
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	out, dlq := filepath.Join(root, "metrics.jsonl"), filepath.Join(root, "metrics-dlq.jsonl")
	code, body := apiCall(t, "POST", url+"/v1/pipes/metrics", pipeBody(t, c.Bootstrap[0], topic,
		map[string]any{"Enrichment": url + "/metrics", "EnrichmentParameters": getMethod(), "Target": "file://" + out},
		map[string]any{"DeadLetterConfig": map[string]any{"Arn": "file://" + dlq}}))
	if code != 200 {
		t.Fatalf("CreatePipe = %d %s", code, body)
	}
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"id":1}`)})
	lines := waitForLines(t, dlq, 1, 60*time.Second)
	var dl deadLetter
	if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
		t.Fatalf("dead letter %q: %v", lines[0], err)
	}
	self := strings.TrimPrefix(url, "http://")
	if dl.ErrorClass != "permanent" || !strings.Contains(dl.Error, self) || !strings.Contains(dl.Error, "--allow-egress") {
		t.Errorf("dead letter = %+v; want a permanent refusal naming %s and --allow-egress", dl, self)
	}
	if b, err := os.ReadFile(out); err == nil && len(b) > 0 {
		t.Errorf("the server's metrics reached the target: %.200s", b)
	}
}

// TestServeAllowEgressOpensItself: --allow-egress opens an address refused by default; here the server's
// own listener (a loopback address, so no traffic leaves the machine), whose metrics the enrichment
// then reads.
func TestServeAllowEgressOpensItself(t *testing.T) {
	keyless(t)
	data := t.TempDir()
	url, stderr, _ := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", data, "--allow-egress", "127.0.0.1/32")
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", stderr.String())
		}
	}()
	root := filepath.Join(data, "files")
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	out := filepath.Join(root, "metrics.jsonl")
	code, body := apiCall(t, "POST", url+"/v1/pipes/metrics", pipeBody(t, c.Bootstrap[0], topic,
		map[string]any{"Enrichment": url + "/metrics", "EnrichmentParameters": getMethod(), "Target": "file://" + out}, nil))
	if code != 200 {
		t.Fatalf("CreatePipe = %d %s", code, body)
	}
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"id":1}`)})
	lines := waitForLines(t, out, 1, 60*time.Second)
	if !strings.Contains(lines[0], "go_goroutines") {
		t.Errorf("target got %.200s, want the server's metrics", lines[0])
	}
}

// TestServeRefusesMetadataEgress: an HTTP target at the cloud metadata address is refused by the dialer
// before it connects (no packet is sent), permanently, naming the address and the flag.
func TestServeRefusesMetadataEgress(t *testing.T) {
	keyless(t)
	data := t.TempDir()
	url, _, _ := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", data)
	root := filepath.Join(data, "files")
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	dlq := filepath.Join(root, "dlq.jsonl")
	code, body := apiCall(t, "POST", url+"/v1/pipes/imds", pipeBody(t, c.Bootstrap[0], topic,
		map[string]any{"Target": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"},
		map[string]any{"DeadLetterConfig": map[string]any{"Arn": "file://" + dlq}}))
	if code != 200 {
		t.Fatalf("CreatePipe = %d %s", code, body)
	}
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"id":1}`)})
	lines := waitForLines(t, dlq, 1, 60*time.Second)
	var dl deadLetter
	if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
		t.Fatalf("dead letter %q: %v", lines[0], err)
	}
	if dl.ErrorClass != "permanent" || !strings.Contains(dl.Error, "169.254.169.254:80") ||
		!strings.Contains(dl.Error, "--allow-egress 169.254.169.254/32") {
		t.Errorf("dead letter = %+v; want a permanent refusal naming 169.254.169.254:80 and --allow-egress", dl)
	}
}
