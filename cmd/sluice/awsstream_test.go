package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
	"github.com/sluicehq/sluice/internal/target/timestream"
)

// TestStreamAndTaskTargetsRefuseBadParameters: a bad parameter of the Kinesis, Firehose, ECS, Batch,
// Redshift Data, SageMaker, Lambda and Step Functions targets, and any Timestream target (Pipes does not take Kafka sources for it), is a
// ValidationException naming the field from CreatePipe, and exit 2 naming it from `sluice run`, before
// anything connects to the broker.
func TestStreamAndTaskTargetsRefuseBadParameters(t *testing.T) {
	keyless(t)
	url, _, _ := startServe(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	broker, accepted := countingListener(t)
	const acct = ":us-east-1:123456789012:"
	for i, tc := range []struct {
		name, field, message string
		top, smk             map[string]any
	}{
		{"timestream", "Target", timestream.Message, map[string]any{
			"Target":           "arn:aws:timestream" + acct + "database/db/table/t",
			"TargetParameters": map[string]any{"TimestreamParameters": map[string]any{"TimeValue": "$.value.t", "VersionValue": "1", "DimensionMappings": []any{}}},
		}, nil},
		{"kinesis without a partition key", "TargetParameters.KinesisStreamParameters.PartitionKey", "is required", map[string]any{
			"Target": "arn:aws:kinesis" + acct + "stream/s",
		}, nil},
		{"firehose resource", "Target", "deliverystream/NAME", map[string]any{"Target": "arn:aws:firehose" + acct + "stream/s"}, nil},
		{"ecs launch type", "TargetParameters.EcsTaskParameters.LaunchType", "must be one of", map[string]any{
			"Target":           "arn:aws:ecs" + acct + "cluster/c",
			"TargetParameters": map[string]any{"EcsTaskParameters": map[string]any{"TaskDefinitionArn": "arn:aws:ecs" + acct + "task-definition/t:1", "LaunchType": "LAMBDA"}},
		}, nil},
		{"ecs batch size", "SourceParameters.SelfManagedKafkaParameters.BatchSize", "must be 1 with an ECS task target", map[string]any{
			"Target":           "arn:aws:ecs" + acct + "cluster/c",
			"TargetParameters": map[string]any{"EcsTaskParameters": map[string]any{"TaskDefinitionArn": "arn:aws:ecs" + acct + "task-definition/t:1"}},
		}, map[string]any{"BatchSize": 5}},
		{"batch job name", "TargetParameters.BatchJobParameters.JobName", "must match", map[string]any{
			"Target":           "arn:aws:batch" + acct + "job-queue/q",
			"TargetParameters": map[string]any{"BatchJobParameters": map[string]any{"JobDefinition": "d", "JobName": "has space"}},
		}, nil},
		{"redshift without sqls", "TargetParameters.RedshiftDataParameters.Sqls", "is required", map[string]any{
			"Target":           "arn:aws:redshift" + acct + "cluster:c",
			"TargetParameters": map[string]any{"RedshiftDataParameters": map[string]any{"Database": "dev"}},
		}, nil},
		{"sagemaker parameter path", "TargetParameters.SageMakerPipelineParameters.PipelineParameterList[0].Value", "JSON path", map[string]any{
			"Target":           "arn:aws:sagemaker" + acct + "pipeline/p",
			"TargetParameters": map[string]any{"SageMakerPipelineParameters": map[string]any{"PipelineParameterList": []any{map[string]any{"Name": "n", "Value": "$.value["}}}},
		}, nil},
		{"lambda invocation type", "TargetParameters.LambdaFunctionParameters.InvocationType", "must be REQUEST_RESPONSE or FIRE_AND_FORGET", map[string]any{
			"Target":           "arn:aws:lambda" + acct + "function:f",
			"TargetParameters": map[string]any{"LambdaFunctionParameters": map[string]any{"InvocationType": "Event"}},
		}, nil},
		{"step functions execution ARN", "Target", "is not stateMachine:NAME", map[string]any{"Target": "arn:aws:states" + acct + "execution:m:e"}, nil},
		{"member of another target", "TargetParameters.KinesisStreamParameters", "", map[string]any{
			"Target":           "arn:aws:firehose" + acct + "deliverystream/d",
			"TargetParameters": map[string]any{"KinesisStreamParameters": map[string]any{"PartitionKey": "k"}},
		}, nil},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			body := pipeBody(t, broker, "orders", tc.top, tc.smk)
			code, resp := apiCall(t, "POST", fmt.Sprintf("%s/v1/pipes/bad-%d", url, i), body)
			var ve struct {
				Type      string                           `json:"__type"`
				FieldList []struct{ Name, Message string } `json:"fieldList"`
			}
			if err := json.Unmarshal([]byte(resp), &ve); err != nil || code != 400 || !strings.Contains(resp, "ValidationException") {
				t.Fatalf("CreatePipe = %d %s, want a ValidationException", code, resp)
			}
			found := false
			for _, f := range ve.FieldList {
				found = found || f.Name == tc.field && strings.Contains(f.Message, tc.message)
			}
			if !found {
				t.Errorf("CreatePipe fieldList %+v has no %s with %q", ve.FieldList, tc.field, tc.message)
			}

			path := writeFile(t, "pipe.json", body)
			var out, errb bytes.Buffer
			if code := cmdRun(context.Background(), []string{"--file", path}, stdio{out: &out, err: &errb}); code != 2 {
				t.Fatalf("sluice run exit = %d, want 2; stderr:\n%s", code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.field+":") || !strings.Contains(errb.String(), tc.message) {
				t.Errorf("sluice run stderr does not name %s with %q:\n%s", tc.field, tc.message, errb.String())
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Fatalf("invalid definitions opened %d connections to the broker", n)
	}
}

// TestRunBinaryToKinesis runs the built binary as the README shows it pointed at the emulator
// (--aws-endpoint, the pipe's RoleArn assumed through the emulator's STS): records on the real broker
// reach a Kinesis stream, with the partition key read from each record.
func TestRunBinaryToKinesis(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	endpoint := awstest.Endpoint(t)
	client := kinesis.NewFromConfig(awstest.Config(t, ""))
	name := fmt.Sprintf("run-kinesis-%d", time.Now().UnixNano())
	if _, err := client.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: &name, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: &name})
	})
	c.Produce(t,
		&kgo.Record{Topic: topic, Value: []byte(`{"customer":"c1","n":1}`)},
		&kgo.Record{Topic: topic, Value: []byte(`{"customer":"c2","n":2}`)},
	)
	def := writeFile(t, "pipe.json", fmt.Sprintf(`{"Source": "smk://%s", "RoleArn": %q,
	  "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": %q, "StartingPosition": "TRIM_HORIZON"}},
	  "Target": "arn:aws:kinesis:us-east-1:%s:stream/%s",
	  "TargetParameters": {"InputTemplate": "{\"n\": <$.value.n>}", "KinesisStreamParameters": {"PartitionKey": "$.value.customer"}}}`,
		c.Bootstrap[0], awstest.RoleArn("pipe"), topic, awstest.Account, name))
	cmd := exec.Command(sluicetest.Binary(t), "run", "--file", def, "--name", name, "--aws-endpoint", endpoint)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	p := sluicetest.StartCmd(t, cmd)
	want := []string{`c1 {"n": 1}`, `c2 {"n": 2}`}
	kafkatest.Eventually(t, 60*time.Second, func() error {
		if p.Exited() {
			t.Fatalf("sluice run exited:\n%s", sluicetest.Tail(p.Stderr.String(), 3000))
		}
		it, err := client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{StreamName: &name, ShardId: aws.String("shardId-000000000000"), ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return err
		}
		r, err := client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			return err
		}
		var got []string
		for _, rec := range r.Records {
			got = append(got, aws.ToString(rec.PartitionKey)+" "+string(rec.Data))
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("stream holds %q, want %q", got, want)
		}
		return nil
	})
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Errorf("sluice run exit after SIGTERM = %d, want 0; stderr:\n%s", code, sluicetest.Tail(p.Stderr.String(), 3000))
	}
}
