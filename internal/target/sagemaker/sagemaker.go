// Package sagemaker is the SageMaker pipeline target: one StartPipelineExecution call per event on the
// pipeline of the Target ARN (arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME), with the
// PipelineParameterList of TargetParameters.SageMakerPipelineParameters, as Pipes does. The event is a
// trigger and its payload is not sent; a parameter's Name or Value may instead be a JSON path read from
// the untransformed event.
package sagemaker

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

const (
	// Member is the TargetParameters member this target owns.
	Member = "SageMakerPipelineParameters"
)

// Parameters is TargetParameters.SageMakerPipelineParameters.
type Parameters struct {
	PipelineParameterList []Parameter `json:"PipelineParameterList"`
}

// Parameter is one pipeline parameter.
type Parameter struct {
	Name  *string `json:"Name"`
	Value *string `json:"Value"`
}

var reName = awsclient.Anchored(`[a-zA-Z0-9](-*[a-zA-Z0-9])*|` + awsclient.PathPattern)

// Validate checks the Target ARN and SageMakerPipelineParameters (which may be absent). It does no I/O.
func Validate(c plugin.Check) []plugin.FieldError {
	_, _, errs := parse(c)
	return errs
}

func parse(c plugin.Check) (string, *awsclient.Dynamic, []plugin.FieldError) {
	_, name, errs := awsclient.TargetARN(c.Endpoint, "sagemaker", "pipeline/")
	errs = append(errs, awsclient.OneEventPerCall(c, "a SageMaker pipeline target")...)
	var p Parameters
	_, perrs := awsclient.DecodeMember(c, Member, &p)
	if len(perrs) > 0 {
		return "", nil, append(errs, perrs...)
	}
	f := &awsclient.Fields{Prefix: "TargetParameters." + Member}
	f.Count("PipelineParameterList", len(p.PipelineParameterList), 0, 200)
	for i, pp := range p.PipelineParameterList {
		n := fmt.Sprintf("PipelineParameterList[%d]", i)
		f.Required(n+".Name", pp.Name != nil)
		f.Required(n+".Value", pp.Value != nil)
		f.String(n+".Name", pp.Name, 1, 256, reName, true)
		f.String(n+".Value", pp.Value, 0, 1024, nil, true)
	}
	errs = append(errs, f.Errs...)
	dyn, derrs := awsclient.ParseDynamic(c, Member)
	return name, dyn, append(errs, derrs...)
}

// Target starts executions of one pipeline.
type Target struct {
	client *sagemaker.Client
	arn    string
	name   string
	dyn    *awsclient.Dynamic
}

// NewWithConfig builds the target with an explicit AWS configuration.
func NewWithConfig(cfg aws.Config, c plugin.Check) (*Target, error) {
	name, dyn, errs := parse(c)
	if err := awsclient.Invalid("sagemaker", errs); err != nil {
		return nil, err
	}
	return &Target{client: sagemaker.NewFromConfig(cfg), arn: c.Endpoint, name: name, dyn: dyn}, nil
}

// Deliver starts one execution per event, in order.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	return awsclient.EachDecoded(ctx, b, t.dyn, func(ctx context.Context, p *Parameters) error {
		in := &sagemaker.StartPipelineExecutionInput{PipelineName: &t.name}
		for _, pp := range p.PipelineParameterList {
			in.PipelineParameters = append(in.PipelineParameters, types.Parameter{Name: pp.Name, Value: pp.Value})
		}
		if _, err := t.client.StartPipelineExecution(ctx, in); err != nil {
			return fmt.Errorf("sagemaker StartPipelineExecution of %s: %w", t.arn, err)
		}
		return nil
	})
}
