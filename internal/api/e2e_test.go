package api

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/supervisor"
	_ "github.com/sluicehq/sluice/internal/target/file" // the file:// target
)

func realRuntime(c *setup) {
	c.Factory = supervisor.RuntimeFactory(supervisor.RuntimeOptions{
		Deps:             runtime.Deps{Secrets: &secret.Resolver{}, DrainTimeout: 5 * time.Second, Retry: runtime.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}},
		PreflightTimeout: 5 * time.Second,
	})
	c.Manager.StopTimeout = 20 * time.Second
}

// delivered reads the file target's output: the record values (decimal numbers) in file order.
func delivered(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var rec struct{ Value string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		v, err := base64.StdEncoding.DecodeString(rec.Value)
		if err != nil {
			t.Fatalf("output value %q: %v", rec.Value, err)
		}
		n, err := strconv.Atoi(string(v))
		if err != nil {
			t.Fatalf("output value %q is not a number", v)
		}
		out = append(out, n)
	}
	return out
}

func produceRange(t *testing.T, c *kafkatest.Cluster, topic string, from, to int) {
	t.Helper()
	var recs []*kgo.Record
	for i := from; i < to; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: []byte(strconv.Itoa(i))})
	}
	c.Produce(t, recs...)
}

// waitDelivered waits until every value in [0, n) is in the output, then checks nothing else is.
func waitDelivered(t *testing.T, path string, n int) {
	t.Helper()
	kafkatest.Eventually(t, 30*time.Second, func() error {
		got := delivered(t, path)
		if len(got) < n {
			return fmt.Errorf("%d records delivered, want %d", len(got), n)
		}
		return nil
	})
	got := delivered(t, path)
	seen := map[int]int{}
	for _, v := range got {
		seen[v]++
	}
	var missing, dup []int
	for i := 0; i < n; i++ {
		switch seen[i] {
		case 0:
			missing = append(missing, i)
		case 1:
		default:
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 || len(dup) > 0 || len(got) != n {
		t.Fatalf("delivered %d records: missing %v, duplicated %v, want exactly 0..%d once", len(got), missing, dup, n-1)
	}
}

// TestEndToEnd drives the real runtime through the API: a pipe created with the SDK delivers, stops
// delivering when stopped, resumes from its committed offsets when started, keeps them across an update
// and across a restart of the server.
func TestEndToEnd(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		out := filepath.Join(t.TempDir(), "out.jsonl")
		h := newHarness(t, realRuntime)
		produceRange(t, c, topic, 0, 10)

		in := createInput("e2e", types.RequestedPipeStateRunning)
		in.Source = aws.String("smk://" + c.Bootstrap[0])
		in.Target = aws.String("file://" + out)
		k := in.SourceParameters.SelfManagedKafkaParameters
		k.TopicName = aws.String(topic)
		k.StartingPosition = types.SelfManagedKafkaStartPositionTrimHorizon
		k.BatchSize = aws.Int32(4)
		if len(c.Bootstrap) > 1 {
			k.AdditionalBootstrapServers = c.Bootstrap[1:min(3, len(c.Bootstrap))]
		}
		if _, err := h.client.CreatePipe(bg, in); err != nil {
			t.Fatal(err)
		}
		h.waitState("e2e", types.PipeStateRunning)
		waitDelivered(t, out, 10)

		// Stopped: nothing more is delivered.
		if _, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("e2e")}); err != nil {
			t.Fatal(err)
		}
		h.waitState("e2e", types.PipeStateStopped)
		produceRange(t, c, topic, 10, 20)
		time.Sleep(2 * time.Second)
		if got := delivered(t, out); len(got) != 10 {
			t.Fatalf("a stopped pipe delivered: %d records, want 10", len(got))
		}

		// Started: resumes from the committed offsets, nothing lost or repeated.
		if _, err := h.client.StartPipe(bg, &pipes.StartPipeInput{Name: aws.String("e2e")}); err != nil {
			t.Fatal(err)
		}
		h.waitState("e2e", types.PipeStateRunning)
		waitDelivered(t, out, 20)

		// Updated while running: restarted with the new batch size, same consumer group.
		if _, err := h.client.UpdatePipe(bg, &pipes.UpdatePipeInput{Name: aws.String("e2e"), RoleArn: aws.String(testRole),
			SourceParameters: &types.UpdatePipeSourceParameters{SelfManagedKafkaParameters: &types.UpdatePipeSourceSelfManagedKafkaParameters{BatchSize: aws.Int32(2)}}}); err != nil {
			t.Fatal(err)
		}
		h.waitState("e2e", types.PipeStateRunning)
		produceRange(t, c, topic, 20, 25)
		waitDelivered(t, out, 25)

		// A new server on the same data directory resumes the pipe.
		h.stop()
		produceRange(t, c, topic, 25, 30)
		h.start(realRuntime)
		h.waitState("e2e", types.PipeStateRunning)
		waitDelivered(t, out, 30)
	})
}

// TestStartFailures shows the StateReason of pipes that cannot start: an unreachable broker, a secret
// that does not resolve.
func TestStartFailures(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		h := newHarness(t, realRuntime)
		in := createInput("no-broker", types.RequestedPipeStateRunning)
		in.Source = aws.String("smk://127.0.0.1:1")
		in.Target = aws.String("file://" + filepath.Join(t.TempDir(), "x.jsonl"))
		if _, err := h.client.CreatePipe(bg, in); err != nil {
			t.Fatal(err)
		}
		// An unreachable broker is transient: the pipe stays CREATING and retries, saying so; StopPipe
		// ends the retries (TestBrokerOutage shows a retry that succeeds).
		d := h.waitReason("no-broker", types.PipeStateCreating, `^retrying in .*\(attempt \d+ failed\): .*127\.0\.0\.1:1`)
		t.Logf("StateReason of an unreachable broker: %s", aws.ToString(d.StateReason))
		if _, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("no-broker")}); err != nil {
			t.Fatalf("StopPipe while retrying: %v", err)
		}
		h.waitState("no-broker", types.PipeStateStopped)

		missing := "file://" + filepath.Join(t.TempDir(), "no-such-secret.json")
		in = createInput("bad-secret", types.RequestedPipeStateRunning)
		in.Source = aws.String("smk://" + c.Bootstrap[0])
		in.Target = aws.String("file://" + filepath.Join(t.TempDir(), "y.jsonl"))
		in.SourceParameters.SelfManagedKafkaParameters.Credentials = &types.SelfManagedKafkaAccessConfigurationCredentialsMemberSaslScram512Auth{Value: missing}
		if _, err := h.client.CreatePipe(bg, in); err != nil {
			t.Fatal(err)
		}
		d = h.waitState("bad-secret", types.PipeStateCreateFailed)
		if r := aws.ToString(d.StateReason); !strings.Contains(r, "no-such-secret.json") {
			t.Errorf("StateReason = %q, want it to name the secret reference", r)
		}
		// DescribePipe shows the reference, never secret material.
		if got := d.SourceParameters.SelfManagedKafkaParameters.Credentials.(*types.SelfManagedKafkaAccessConfigurationCredentialsMemberSaslScram512Auth).Value; got != missing {
			t.Errorf("Credentials = %q, want the reference %q", got, missing)
		}
		if !c.Real {
			return
		}
		// The real broker refuses a wrong password: the reason says so, and holds no secret.
		pki := kafkatest.PKI(t)
		in = createInput("wrong-password", types.RequestedPipeStateRunning)
		in.Source = aws.String("smk://" + kafkatest.RealListeners(t).SASL)
		in.Target = aws.String("file://" + filepath.Join(t.TempDir(), "z.jsonl"))
		k := in.SourceParameters.SelfManagedKafkaParameters
		k.Credentials = &types.SelfManagedKafkaAccessConfigurationCredentialsMemberSaslScram512Auth{Value: "file://" + pki.Secrets.Scram512WrongPassword}
		k.ServerRootCaCertificate = aws.String("file://" + pki.Secrets.RootCA)
		if _, err := h.client.CreatePipe(bg, in); err != nil {
			t.Fatal(err)
		}
		d = h.waitState("wrong-password", types.PipeStateCreateFailed)
		r := aws.ToString(d.StateReason)
		t.Logf("StateReason of a wrong password: %s", r)
		if !strings.Contains(strings.ToLower(r), "auth") {
			t.Errorf("StateReason = %q, want an authentication failure", r)
		}
		if strings.Contains(r, kafkatest.WrongPassword) {
			t.Errorf("StateReason %q contains the password", r)
		}
	})
}
