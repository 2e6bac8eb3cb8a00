package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestAWSCLICreatePipeSQS is the issue's acceptance line "aws pipes create-pipe --cli-input-json with an
// SQS target works against sluice serve and delivers": the real AWS CLI creates the pipe of
// testdata/create-pipe-sqs.json (its broker, topic and queue filled in) on `sluice serve
// --aws-endpoint` pointed at moto; records produced on the real broker arrive in the FIFO queue, in
// order per customer, with the group and deduplication ids the pipe reads from each record.
func TestAWSCLICreatePipeSQS(t *testing.T) {
	bin := sluicetest.AWSCLI(t)
	moto := awstest.Endpoint(t)
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	q := awstest.NewQueue(t, ".fifo", nil)

	serve := exec.Command(sluicetest.Binary(t), "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--aws-endpoint", moto)
	// The host's credentials for moto (any key works there), nothing from the machine's AWS files.
	serve.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	p := sluicetest.StartCmd(t, serve)
	url := p.WaitFor(t, 30*time.Second, `Pipes API on (https?://\S+)`)[1]

	name := awstest.Name(t, 64)
	tmpl, err := os.ReadFile(filepath.Join("testdata", "create-pipe-sqs.json"))
	if err != nil {
		t.Fatal(err)
	}
	input := strings.NewReplacer("{{NAME}}", name, "{{BROKER}}", c.Bootstrap[0], "{{TOPIC}}", topic, "{{QUEUE_ARN}}", q.ARN).Replace(string(tmpl))
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "pipe.json"), []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--endpoint-url", url, "--output", "json")...)
		cmd.Dir, cmd.Env = work, sluicetest.AWSEnv(t, "AKIDANY", "any-secret")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %s: %v\n%s\nsluice serve:\n%s", strings.Join(args, " "), err, stderr.String(), sluicetest.Tail(p.Stderr.String(), 3000))
		}
		return stdout.String()
	}
	out := aws("pipes", "create-pipe", "--cli-input-json", "file://pipe.json")
	t.Logf("create-pipe: %s", out)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if out := aws("pipes", "describe-pipe", "--name", name); !strings.Contains(out, `"CurrentState": "RUNNING"`) {
			return fmt.Errorf("pipe not running yet: %s", out)
		}
		return nil
	})

	const n = 30
	var recs []*kgo.Record
	want := map[string][]string{} // customer -> bodies in order
	for i := range n {
		customer := fmt.Sprintf("c%d", i%3)
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"id":"o%02d","customer":%q}`, i, customer)})
		want[customer] = append(want[customer], fmt.Sprintf(`{"order": "o%02d", "customer": "%s"}`, i, customer))
	}
	c.Produce(t, recs...)

	got := map[string][]string{}
	for _, m := range q.Receive(t, n, time.Minute) {
		group := awstest.Attribute(m, "MessageGroupId")
		got[group] = append(got[group], *m.Body)
		if id := awstest.Attribute(m, "MessageDeduplicationId"); !strings.Contains(*m.Body, `"`+id+`"`) {
			t.Errorf("message %s has MessageDeduplicationId %q, want its order id", *m.Body, id)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages per group (-want +got):\n%s", diff)
	}
	aws("pipes", "delete-pipe", "--name", name)
	p.Signal(t, syscall.SIGTERM)
	p.Wait(t, 30*time.Second)
}

// TestBadAWSTargetParameters: a bad parameter of the SQS, SNS, event bus and CloudWatch Logs targets is a
// ValidationException naming the field (fieldList) from `sluice serve`'s CreatePipe, and exit 2 naming
// it from `sluice run`, before anything connects (the pipes' broker does not exist).
func TestBadAWSTargetParameters(t *testing.T) {
	const acct = "arn:aws:%s:us-east-1:123456789012:%s"
	tests := []struct {
		name, target string
		params       map[string]any
		field        string
	}{
		{"fifo-without-group", fmt.Sprintf(acct, "sqs", "orders.fifo"), map[string]any{"SqsQueueParameters": map[string]any{}},
			"TargetParameters.SqsQueueParameters.MessageGroupId"},
		{"sns-fifo", fmt.Sprintf(acct, "sns", "orders.fifo"), nil, "Target"},
		{"aws-source", fmt.Sprintf(acct, "events", "event-bus/orders"), map[string]any{"EventBridgeEventBusParameters": map[string]any{"Source": "aws.orders"}},
			"TargetParameters.EventBridgeEventBusParameters.Source"},
		{"dynamic-stream", fmt.Sprintf(acct, "logs", "log-group:orders"), map[string]any{"CloudWatchLogsParameters": map[string]any{"LogStreamName": "$.value:x"}},
			"TargetParameters.CloudWatchLogsParameters.LogStreamName"},
		{"another-targets-member", fmt.Sprintf(acct, "sqs", "orders"), map[string]any{"CloudWatchLogsParameters": map[string]any{"LogStreamName": "s"}},
			"TargetParameters.CloudWatchLogsParameters"},
	}
	define := func(tc struct {
		name, target string
		params       map[string]any
		field        string
	}) map[string]any {
		def := map[string]any{
			"Source":           "smk://no-such-broker.invalid:9092",
			"SourceParameters": map[string]any{"SelfManagedKafkaParameters": map[string]any{"TopicName": "orders"}},
			"Target":           tc.target,
			"RoleArn":          "arn:aws:iam::123456789012:role/r",
		}
		if tc.params != nil {
			def["TargetParameters"] = tc.params
		}
		return def
	}

	_, url := sluicetest.Serve(t, t.TempDir())
	for _, tc := range tests {
		t.Run("serve/"+tc.name, func(t *testing.T) {
			body, _ := json.Marshal(define(tc))
			resp, err := http.Post(url+"/v1/pipes/"+tc.name, "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Message   string `json:"message"`
				FieldList []struct {
					Name, Message string
				} `json:"fieldList"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range out.FieldList {
				found = found || f.Name == tc.field
			}
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-ErrorType") != "ValidationException" || !found {
				t.Errorf("CreatePipe = %d %s %+v, want a ValidationException whose fieldList names %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out, tc.field)
			}
		})
		t.Run("run/"+tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), tc.name+".json")
			data, _ := json.Marshal(define(tc))
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			p := sluicetest.Start(t, "run", "--file", file, "--fail-fast")
			if code := p.Wait(t, 30*time.Second); code != 2 || !strings.Contains(p.Stderr.String(), "  "+tc.field+": ") {
				t.Errorf("sluice run = exit %d, want 2 naming %s; stderr:\n%s", code, tc.field, p.Stderr.String())
			}
		})
	}
}
