package sagemaker

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestPipeToSageMaker is the end-to-end test: each record on the real broker starts one execution of
// the pipeline with a parameter from the record, read back with ListPipelineExecutions and
// ListPipelineParametersForExecution.
func TestPipeToSageMaker(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	client := sagemaker.NewFromConfig(awstest.Config(t, ""))
	pipelineArn, name := newPipeline(t, client)
	var recs []*kgo.Record
	for i := range 3 {
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"uri":"s3://in/%d.csv"}`, i)})
	}
	c.Produce(t, recs...)
	awstest.RunPipe(t, c, topic, awstest.PipeSpec{
		Target: pipelineArn, Endpoint: awstest.Endpoint(t),
		TargetParameters: map[string]any{"SageMakerPipelineParameters": map[string]any{
			"PipelineParameterList": []any{map[string]any{"Name": "InputUri", "Value": "$.value.uri"}},
		}},
	})
	want := []string{"InputUri=s3://in/0.csv", "InputUri=s3://in/1.csv", "InputUri=s3://in/2.csv"}
	kafkatest.Eventually(t, 60*time.Second, func() error {
		l, err := client.ListPipelineExecutions(t.Context(), &sagemaker.ListPipelineExecutionsInput{PipelineName: &name})
		if err != nil {
			return err
		}
		var got []string
		for _, e := range l.PipelineExecutionSummaries {
			ps, err := client.ListPipelineParametersForExecution(t.Context(), &sagemaker.ListPipelineParametersForExecutionInput{PipelineExecutionArn: e.PipelineExecutionArn})
			if err != nil {
				return err
			}
			for _, p := range ps.PipelineParameters {
				got = append(got, aws.ToString(p.Name)+"="+aws.ToString(p.Value))
			}
		}
		sort.Strings(got)
		if d := cmp.Diff(want, got); d != "" {
			return fmt.Errorf("execution parameters (-want +got):\n%s", d)
		}
		return nil
	})
}
