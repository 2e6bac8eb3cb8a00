package sagemaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/plugin"
)

func TestValidate(t *testing.T) {
	const pre = "TargetParameters.SageMakerPipelineParameters"
	const target = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p"
	awstest.CheckValidate(t, Validate, []awstest.ValidateCase{
		{Name: "no parameters", Target: target},
		{Name: "parameters", Target: target, Params: `{"SageMakerPipelineParameters":{"PipelineParameterList":[{"Name":"Input-1","Value":"$.value.uri"},{"Name":"$.value.name","Value":""}]}}`},
		{Name: "every problem", Target: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e", Params: `{"SageMakerPipelineParameters":{"PipelineParameterList":[{"Name":"-bad"},{"Value":"` + strings.Repeat("v", 1025) + `"},{"Name":"x","Value":"$.a["}]}}`, Want: []plugin.FieldError{
			{Field: "Target", Message: `resource "endpoint/e" must be pipeline/NAME`},
			{Field: pre + ".PipelineParameterList[0].Value", Message: "is required"},
			{Field: pre + ".PipelineParameterList[0].Name", Message: `must match [a-zA-Z0-9](-*[a-zA-Z0-9])*|\$(\.[\w/_-]+(\[(\d+|\*)\])*)*`},
			{Field: pre + ".PipelineParameterList[1].Name", Message: "is required"},
			{Field: pre + ".PipelineParameterList[1].Value", Message: "must be at most 1024 characters, not 1025"},
			{Field: pre + ".PipelineParameterList[2].Value", Message: "is not a valid JSON path"},
		}},
		{Name: "unknown member", Target: target, Params: `{"SageMakerPipelineParameters":{"Parameters":[]}}`, Want: []plugin.FieldError{{Field: pre, Message: `has unknown member "Parameters"`}}},
	})
}

// newPipeline creates a pipeline with two string parameters and returns its ARN and name.
func newPipeline(t *testing.T, c *sagemaker.Client) (string, string) {
	t.Helper()
	name := fmt.Sprintf("awsstream-%d", time.Now().UnixNano())
	def := `{"Version":"2020-12-01","Parameters":[{"Name":"InputUri","Type":"String"},{"Name":"Mode","Type":"String","DefaultValue":"full"}],"Steps":[]}`
	out, err := c.CreatePipeline(t.Context(), &sagemaker.CreatePipelineInput{
		PipelineName: &name, PipelineDefinition: &def, RoleArn: aws.String(awstest.RoleArn("sagemaker")),
		ClientRequestToken: aws.String(fmt.Sprintf("token-%d-abcdefghijklmnopqrstuvwxyz", time.Now().UnixNano())),
	})
	var arn string
	if out != nil {
		arn = aws.ToString(out.PipelineArn)
	}
	if err != nil && strings.Contains(err.Error(), "already exists") {
		// The name is this call's own: the SDK retried a create that had gone through (moto, loaded,
		// answered the first attempt too late), and moto does not honour ClientRequestToken.
		d, derr := c.DescribePipeline(t.Context(), &sagemaker.DescribePipelineInput{PipelineName: &name})
		if derr != nil {
			t.Fatalf("CreatePipeline: %v; DescribePipeline: %v", err, derr)
		}
		arn, err = aws.ToString(d.PipelineArn), nil
	}
	if err != nil {
		t.Fatalf("CreatePipeline: %v", err)
	}
	t.Cleanup(func() {
		_, _ = c.DeletePipeline(context.Background(), &sagemaker.DeletePipelineInput{PipelineName: &name, ClientRequestToken: aws.String(fmt.Sprintf("delete-%d-abcdefghijklmnopqrstuvwxyz", time.Now().UnixNano()))})
	})
	return arn, name
}

func TestDeliverStartsExecutionPerEvent(t *testing.T) {
	c := sagemaker.NewFromConfig(awstest.Config(t, ""))
	pipelineArn, name := newPipeline(t, c)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	params := `{"InputTemplate":"not sent","SageMakerPipelineParameters":{"PipelineParameterList":[{"Name":"InputUri","Value":"$.value.uri"},{"Name":"Mode","Value":"incremental"}]}}`
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: pipelineArn, Params: json.RawMessage(params)})
	if err != nil {
		t.Fatal(err)
	}
	var b plugin.Batch
	for i := range 3 {
		b.Payloads = append(b.Payloads, json.RawMessage(`"not sent"`))
		b.Inputs = append(b.Inputs, awstest.KafkaEvent(fmt.Sprintf(`{"uri":"s3://in/%d.csv"}`, i)))
	}
	if err := tg.Deliver(t.Context(), b); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if n := len(fp.Calls("StartPipelineExecution")); n != 3 {
		t.Errorf("StartPipelineExecution calls = %d, want 3 (one per event)", n)
	}
	// Read the executions and their parameters back from the emulator.
	l, err := c.ListPipelineExecutions(t.Context(), &sagemaker.ListPipelineExecutionsInput{PipelineName: &name})
	if err != nil {
		t.Fatalf("ListPipelineExecutions: %v", err)
	}
	var got []string
	for _, e := range l.PipelineExecutionSummaries {
		ps, err := c.ListPipelineParametersForExecution(t.Context(), &sagemaker.ListPipelineParametersForExecutionInput{PipelineExecutionArn: e.PipelineExecutionArn})
		if err != nil {
			t.Fatalf("ListPipelineParametersForExecution: %v", err)
		}
		var kv []string
		for _, p := range ps.PipelineParameters {
			kv = append(kv, aws.ToString(p.Name)+"="+aws.ToString(p.Value))
		}
		sort.Strings(kv)
		got = append(got, strings.Join(kv, " "))
	}
	sort.Strings(got)
	want := []string{
		"InputUri=s3://in/0.csv Mode=incremental",
		"InputUri=s3://in/1.csv Mode=incremental",
		"InputUri=s3://in/2.csv Mode=incremental",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("execution parameters (-want +got):\n%s", d)
	}
}

func TestDeliverFailures(t *testing.T) {
	c := sagemaker.NewFromConfig(awstest.Config(t, ""))
	pipelineArn, _ := newPipeline(t, c)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	fp.Add(awstest.Rule{Op: "StartPipelineExecution", Skip: 1, Times: 1, Error: &awstest.APIError{Code: "ThrottlingException", Message: "Rate exceeded"}})
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: pipelineArn})
	if err != nil {
		t.Fatal(err)
	}
	b := plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`2`)}, Inputs: []json.RawMessage{json.RawMessage(`{}`), json.RawMessage(`{}`)}}
	err = tg.Deliver(t.Context(), b)
	var pe *plugin.PartialError
	var th *plugin.ThrottledError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1}) || !errors.As(pe.Err, &th) {
		t.Fatalf("Deliver = %v, want PartialError{Failed: [1]} throttled", err)
	}
	missing, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: "arn:aws:sagemaker:us-east-1:123456789012:pipeline/no-such-pipeline"})
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.Deliver(t.Context(), plugin.Batch{Payloads: b.Payloads[:1], Inputs: b.Inputs[:1]}); !plugin.IsPermanent(err) {
		t.Errorf("Deliver(missing pipeline) = %v, want a permanent error", err)
	}
}
