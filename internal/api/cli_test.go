package api

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

type cliRunner struct {
	t        *testing.T
	bin, url string
	env      []string
}

func newCLI(t *testing.T, bin, url, keyID, secret string) *cliRunner {
	return &cliRunner{t: t, bin: bin, url: url, env: sluicetest.AWSEnv(t, keyID, secret)}
}

// run runs `aws pipes ARGS --endpoint-url URL --output json` and returns stdout, stderr and the error.
func (c *cliRunner) run(args ...string) (map[string]any, string, error) {
	c.t.Helper()
	full := append([]string{"pipes"}, args...)
	full = append(full, "--endpoint-url", c.url, "--output", "json")
	cmd := exec.Command(c.bin, full...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var out map[string]any
	if err == nil && stdout.Len() > 0 {
		if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
			c.t.Fatalf("aws %s printed non-JSON: %s", strings.Join(args, " "), stdout.String())
		}
	}
	return out, stderr.String(), err
}

func (c *cliRunner) must(args ...string) map[string]any {
	c.t.Helper()
	out, stderr, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("aws pipes %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// TestAWSCLI runs the real `aws` command line against the server with SigV4 checked.
func TestAWSCLI(t *testing.T) {
	bin := sluicetest.AWSCLI(t)
	h := newHarness(t)
	cli := newCLI(t, bin, h.hs.URL, testKeyID, testSecret)

	input := map[string]any{
		"Name":         "cli-pipe",
		"Description":  "created by the aws command line",
		"DesiredState": "RUNNING",
		"Source":       "smk://127.0.0.1:9092",
		"SourceParameters": map[string]any{
			"FilterCriteria": map[string]any{"Filters": []any{map[string]any{"Pattern": `{"value":{"kind":["order"]}}`}}},
			"SelfManagedKafkaParameters": map[string]any{
				"TopicName": "orders", "StartingPosition": "TRIM_HORIZON", "BatchSize": 10,
				"Credentials": map[string]any{"SaslScram512Auth": "arn:aws:secretsmanager:us-east-1:000000000000:secret:kafka-AbCdEf"},
			},
		},
		"Target":           "file:///tmp/sluice-cli-test.jsonl",
		"TargetParameters": map[string]any{"InputTemplate": `{"v": <$.value>}`},
		"RoleArn":          testRole,
		"Tags":             map[string]any{"team": "payments"},
	}
	data, _ := json.Marshal(input)
	inFile := filepath.Join(t.TempDir(), "create.json")
	if err := os.WriteFile(inFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	created := cli.must("create-pipe", "--cli-input-json", "file://"+inFile)
	if created["Arn"] != "arn:aws:pipes:us-east-1:000000000000:pipe/cli-pipe" || created["CurrentState"] != "CREATING" {
		t.Errorf("create-pipe = %v", created)
	}
	h.waitState("cli-pipe", "RUNNING")

	d := cli.must("describe-pipe", "--name", "cli-pipe")
	if d["CurrentState"] != "RUNNING" || d["Description"] != "created by the aws command line" || d["Target"] != "file:///tmp/sluice-cli-test.jsonl" {
		t.Errorf("describe-pipe = %v", d)
	}
	// AWS CLI v1 prints timestamps as received (epoch seconds); v2 formats them as ISO 8601.
	switch ct := d["CreationTime"].(type) {
	case float64:
		if ct < float64(time.Now().Add(-time.Hour).Unix()) || ct > float64(time.Now().Add(time.Minute).Unix()) {
			t.Errorf("describe-pipe CreationTime = %f, want about now", ct)
		}
	case string:
		if _, err := time.Parse(time.RFC3339, ct); err != nil {
			t.Errorf("describe-pipe CreationTime = %q: %v", ct, err)
		}
	default:
		t.Errorf("describe-pipe CreationTime = %#v, want a timestamp", d["CreationTime"])
	}
	if tags, _ := d["Tags"].(map[string]any); tags["team"] != "payments" {
		t.Errorf("describe-pipe Tags = %v", d["Tags"])
	}

	l := cli.must("list-pipes", "--name-prefix", "cli")
	if ps, _ := l["Pipes"].([]any); len(ps) != 1 || ps[0].(map[string]any)["Name"] != "cli-pipe" {
		t.Errorf("list-pipes = %v", l)
	}

	if out := cli.must("stop-pipe", "--name", "cli-pipe"); out["DesiredState"] != "STOPPED" {
		t.Errorf("stop-pipe = %v", out)
	}
	h.waitState("cli-pipe", "STOPPED")
	if out := cli.must("start-pipe", "--name", "cli-pipe"); out["DesiredState"] != "RUNNING" {
		t.Errorf("start-pipe = %v", out)
	}
	h.waitState("cli-pipe", "RUNNING")

	arn := created["Arn"].(string)
	cli.must("tag-resource", "--resource-arn", arn, "--tags", "env=dev")
	if tags := cli.must("list-tags-for-resource", "--resource-arn", arn); tags["tags"].(map[string]any)["env"] != "dev" {
		t.Errorf("list-tags-for-resource = %v", tags)
	}
	cli.must("untag-resource", "--resource-arn", arn, "--tag-keys", "env", "team")

	if out := cli.must("delete-pipe", "--name", "cli-pipe"); out["CurrentState"] != "DELETING" {
		t.Errorf("delete-pipe = %v", out)
	}
	h.waitGone("cli-pipe")

	// Errors as the CLI reports them.
	_, stderr, err := cli.run("describe-pipe", "--name", "cli-pipe")
	if err == nil || !strings.Contains(stderr, "NotFoundException") {
		t.Errorf("describe-pipe of a deleted pipe: err %v, stderr %q; want NotFoundException", err, stderr)
	}
	bad := newCLI(t, bin, h.hs.URL, testKeyID, "not-the-secret")
	_, stderr, err = bad.run("list-pipes")
	if err == nil || !strings.Contains(stderr, "InvalidSignatureException") {
		t.Errorf("list-pipes with a wrong secret: err %v, stderr %q; want InvalidSignatureException", err, stderr)
	}
	unknown := newCLI(t, bin, h.hs.URL, "AKIDNOBODY", testSecret)
	_, stderr, err = unknown.run("list-pipes")
	if err == nil || !strings.Contains(stderr, "UnrecognizedClientException") {
		t.Errorf("list-pipes with an unknown key: err %v, stderr %q; want UnrecognizedClientException", err, stderr)
	}
}
