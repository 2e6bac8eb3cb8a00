package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
)

const queueArn = "arn:aws:batch:us-east-1:123456789012:job-queue/q"

func TestValidate(t *testing.T) {
	const pre = "TargetParameters.BatchJobParameters"
	awstest.CheckValidate(t, Validate, []awstest.ValidateCase{
		{Name: "minimal", Target: queueArn, Params: `{"BatchJobParameters":{"JobDefinition":"jd","JobName":"job-1"}}`, BatchSize: 1},
		{Name: "full", Target: queueArn, Params: `{"BatchJobParameters":{"JobDefinition":"$.value.def","JobName":"$.value.name","ArrayProperties":{"Size":4},
			"RetryStrategy":{"Attempts":3},"DependsOn":[{"JobId":"$.value.after","Type":"SEQUENTIAL"}],"Parameters":{"order":"$.value.id"},
			"ContainerOverrides":{"Command":["run","$.value.id"],"Environment":[{"Name":"ID","Value":"$.value.id"}],"InstanceType":"m5.large",
			"ResourceRequirements":[{"Type":"VCPU","Value":"2"}]}}}`, BatchSize: 1},
		{Name: "absent", Target: queueArn, BatchSize: 1, Want: []plugin.FieldError{{Field: pre, Message: "is required with a Batch job queue target (JobDefinition and JobName at least)"}}},
		{Name: "every problem", Target: "arn:aws:batch:us-east-1:123456789012:job-definition/d", Params: `{"BatchJobParameters":{"JobName":"-x","ArrayProperties":{"Size":1},
			"RetryStrategy":{"Attempts":11},"DependsOn":[{"Type":"ALL"}],"ContainerOverrides":{"ResourceRequirements":[{"Type":"DISK"}]}}}`, BatchSize: 10, Want: []plugin.FieldError{
			{Field: "Target", Message: `resource "job-definition/d" must be job-queue/NAME`},
			{Field: "SourceParameters.SelfManagedKafkaParameters.BatchSize", Message: "must be 1 with a Batch job queue target, which takes one event per call (as Pipes requires), not 10"},
			{Field: pre + ".JobDefinition", Message: "is required"},
			{Field: pre + ".JobName", Message: `must match [a-zA-Z0-9][a-zA-Z0-9_-]{0,127}|\$(\.[\w/_-]+(\[(\d+|\*)\])*)*`},
			{Field: pre + ".ArrayProperties.Size", Message: "must be 2..10000, not 1"},
			{Field: pre + ".RetryStrategy.Attempts", Message: "must be 1..10, not 11"},
			{Field: pre + ".DependsOn[0].Type", Message: `must be one of N_TO_N, SEQUENTIAL, not "ALL"`},
			{Field: pre + ".ContainerOverrides.ResourceRequirements[0].Type", Message: `must be one of GPU, MEMORY, VCPU, not "DISK"`},
			{Field: pre + ".ContainerOverrides.ResourceRequirements[0].Value", Message: "is required"},
		}},
		{Name: "wrong type", Target: queueArn, Params: `{"BatchJobParameters":{"JobDefinition":"jd","JobName":"j","Parameters":{"n":1}}}`, BatchSize: 1, Want: []plugin.FieldError{{Field: pre + ".Parameters", Message: "must be a string, not number"}}},
	})
}

// newQueue makes what a job needs in the emulator (a service role, an unmanaged compute environment, a
// queue and a job definition) and returns the queue's ARN and the job definition's name.
func newQueue(t *testing.T, c *batch.Client) (string, string) {
	t.Helper()
	ctx := t.Context()
	name := fmt.Sprintf("awsstream-%d", time.Now().UnixNano())
	out := awstest.Query(t, "iam", "2010-05-08", "CreateRole", url.Values{
		"RoleName":                 {name},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batch.amazonaws.com"},"Action":"sts:AssumeRole"}]}`},
	})
	m := regexp.MustCompile(`<Arn>([^<]+)</Arn>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("IAM CreateRole answered %s, with no Arn", out)
	}
	ce, err := c.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: &name, Type: types.CETypeUnmanaged, ServiceRole: aws.String(string(m[1])),
	})
	if err != nil {
		t.Fatalf("CreateComputeEnvironment: %v", err)
	}
	q, err := c.CreateJobQueue(ctx, &batch.CreateJobQueueInput{
		JobQueueName: &name, Priority: aws.Int32(1), State: types.JQStateEnabled,
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: ce.ComputeEnvironmentArn}},
	})
	if err != nil {
		t.Fatalf("CreateJobQueue: %v", err)
	}
	if _, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{
		JobDefinitionName: &name, Type: types.JobDefinitionTypeContainer,
		ContainerProperties: &types.ContainerProperties{Image: aws.String("busybox"), Command: []string{"true"},
			ResourceRequirements: []types.ResourceRequirement{{Type: types.ResourceTypeVcpu, Value: aws.String("1")}, {Type: types.ResourceTypeMemory, Value: aws.String("128")}}},
	}); err != nil {
		t.Fatalf("RegisterJobDefinition: %v", err)
	}
	return aws.ToString(q.JobQueueArn), name
}

// job is what the tests read back of a submitted job.
type job struct{ Name, Order, Command, Env string }

// readClient is a Batch client for reading jobs back through a proxy that rewrites the numbers of
// DescribeJobs answers: moto 5.2.5 writes integer members (vcpus, memory) as 1.0, which the SDK refuses
// to decode. Only the format changes.
func readClient(t *testing.T) *batch.Client {
	t.Helper()
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	fp.Add(awstest.Rule{Op: "POST /v1/describejobs", Handle: func(ctx context.Context, x *awstest.Exchange) (*awstest.Response, error) {
		resp, err := x.Forward(ctx, x.Body)
		if err != nil || resp.Status != 200 {
			return resp, err
		}
		resp.Body = reIntegralFloat.ReplaceAll(resp.Body, []byte("$1$2"))
		resp.Header.Del("Content-Length")
		return resp, nil
	}})
	cfg := awstest.Config(t, "")
	cfg.BaseEndpoint = &fp.URL
	return batch.NewFromConfig(cfg)
}

// reIntegralFloat matches a JSON number member written with a ".0" fraction.
var reIntegralFloat = regexp.MustCompile(`(":\s*-?)(\d+)\.0\b`)

// jobs reads the jobs of a queue back (in every status: the emulator runs jobs in Docker, which the
// test bed lacks, so they end FAILED), sorted by name.
func jobs(t *testing.T, c *batch.Client, queue string) []job {
	t.Helper()
	var ids []string
	for _, st := range types.JobStatus("").Values() {
		l, err := c.ListJobs(t.Context(), &batch.ListJobsInput{JobQueue: &queue, JobStatus: st})
		if err != nil {
			t.Fatalf("ListJobs: %v", err)
		}
		for _, s := range l.JobSummaryList {
			ids = append(ids, aws.ToString(s.JobId))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	d, err := c.DescribeJobs(t.Context(), &batch.DescribeJobsInput{Jobs: ids})
	if err != nil {
		t.Fatalf("DescribeJobs: %v", err)
	}
	var out []job
	seen := map[string]bool{}
	for _, j := range d.Jobs {
		if seen[aws.ToString(j.JobId)] {
			continue
		}
		seen[aws.ToString(j.JobId)] = true
		jb := job{Name: aws.ToString(j.JobName), Order: j.Parameters["order"]}
		if j.Container != nil {
			jb.Command = strings.Join(j.Container.Command, " ")
			for _, e := range j.Container.Environment {
				if aws.ToString(e.Name) == "ORDER" {
					jb.Env = aws.ToString(e.Value)
				}
			}
		}
		out = append(out, jb)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out
}

const dynamicParams = `{"InputTemplate":"not sent","BatchJobParameters":{"JobDefinition":%q,"JobName":"$.value.name",
	"Parameters":{"order":"$.value.id"},
	"ContainerOverrides":{"Command":["process","$.value.id"],"Environment":[{"Name":"ORDER","Value":"$.value.id"}]}}}`

func TestDeliverSubmitsJobPerEvent(t *testing.T) {
	c := batch.NewFromConfig(awstest.Config(t, ""))
	queue, def := newQueue(t, c)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: queue, Params: json.RawMessage(fmt.Sprintf(dynamicParams, def))})
	if err != nil {
		t.Fatal(err)
	}
	var b plugin.Batch
	for i := range 2 {
		b.Payloads = append(b.Payloads, json.RawMessage(`"not sent"`))
		b.Inputs = append(b.Inputs, awstest.KafkaEvent(fmt.Sprintf(`{"id":"o%d","name":"job-%d"}`, i, i)))
	}
	if err := tg.Deliver(t.Context(), b); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if n := len(fp.Calls("POST /v1/submitjob")); n != 2 {
		t.Errorf("SubmitJob calls = %d, want 2 (one per event)", n)
	}
	want := []job{{"job-0", "o0", "process o0", "o0"}, {"job-1", "o1", "process o1", "o1"}}
	if d := cmp.Diff(want, jobs(t, readClient(t), queue)); d != "" {
		t.Errorf("jobs (-want +got):\n%s", d)
	}

	// A throttled call: the events before it are delivered, the rest come back as a partial failure.
	fp.Add(awstest.Rule{Op: "POST /v1/submitjob", Skip: 1, Times: 1, Error: &awstest.APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}})
	err = tg.Deliver(t.Context(), b)
	var pe *plugin.PartialError
	var th *plugin.ThrottledError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1}) || !errors.As(pe.Err, &th) {
		t.Fatalf("Deliver = %v, want PartialError{Failed: [1]} throttled", err)
	}
}

// TestPipeToBatch is the end-to-end test: each record on the real broker submits one job, read back
// with ListJobs and DescribeJobs.
func TestPipeToBatch(t *testing.T) {
	k := kafkatest.Real(t)
	topic := k.CreateTopic(t, 1)
	c := batch.NewFromConfig(awstest.Config(t, ""))
	queue, def := newQueue(t, c)
	var recs []*kgo.Record
	for i := range 3 {
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"id":"o%d","name":"job-%d"}`, i, i)})
	}
	k.Produce(t, recs...)
	var params map[string]any
	if err := json.Unmarshal(fmt.Appendf(nil, dynamicParams, def), &params); err != nil {
		t.Fatal(err)
	}
	awstest.RunPipe(t, k, topic, awstest.PipeSpec{Target: queue, Endpoint: awstest.Endpoint(t), TargetParameters: params})
	want := []job{{"job-0", "o0", "process o0", "o0"}, {"job-1", "o1", "process o1", "o1"}, {"job-2", "o2", "process o2", "o2"}}
	rc := readClient(t)
	kafkatest.Eventually(t, 60*time.Second, func() error {
		if d := cmp.Diff(want, jobs(t, rc, queue)); d != "" {
			return fmt.Errorf("jobs (-want +got):\n%s", d)
		}
		return nil
	})
}
