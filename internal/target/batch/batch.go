// Package batch is the AWS Batch job queue target: one SubmitJob call per event on the queue of the
// Target ARN (arn:aws:batch:REGION:ACCOUNT:job-queue/NAME), with TargetParameters.BatchJobParameters, as
// Pipes does. The event is a trigger and its payload is not sent; any string member (the job name, a
// Parameters value, a container override's Command item or Environment value, ...) may instead be a
// JSON path read from the untransformed event.
package batch

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

const (
	// Member is the TargetParameters member this target owns.
	Member = "BatchJobParameters"
)

// Parameters is TargetParameters.BatchJobParameters.
type Parameters struct {
	JobDefinition      *string             `json:"JobDefinition"`
	JobName            *string             `json:"JobName"`
	ArrayProperties    *ArrayProperties    `json:"ArrayProperties"`
	RetryStrategy      *RetryStrategy      `json:"RetryStrategy"`
	ContainerOverrides *ContainerOverrides `json:"ContainerOverrides"`
	DependsOn          []Dependency        `json:"DependsOn"`
	Parameters         map[string]string   `json:"Parameters"`
}

// ArrayProperties makes the job an array job.
type ArrayProperties struct {
	Size *int `json:"Size"`
}

// RetryStrategy overrides the job definition's.
type RetryStrategy struct {
	Attempts *int `json:"Attempts"`
}

// ContainerOverrides overrides the job definition's container.
type ContainerOverrides struct {
	Command              []string              `json:"Command"`
	Environment          []EnvironmentVariable `json:"Environment"`
	InstanceType         *string               `json:"InstanceType"`
	ResourceRequirements []ResourceRequirement `json:"ResourceRequirements"`
}

// EnvironmentVariable is one variable of the container.
type EnvironmentVariable struct {
	Name  *string `json:"Name"`
	Value *string `json:"Value"`
}

// ResourceRequirement reserves GPUs, memory or vCPUs.
type ResourceRequirement struct {
	Type  string  `json:"Type"`
	Value *string `json:"Value"`
}

// Dependency is a job this one waits for.
type Dependency struct {
	JobId *string `json:"JobId"`
	Type  string  `json:"Type"`
}

// reJobName is Batch's rule for job names (the Pipes model leaves JobName a plain string).
var reJobName = awsclient.Anchored(`[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}|` + awsclient.PathPattern)

// Validate checks the Target ARN and BatchJobParameters. It does no I/O.
func Validate(c plugin.Check) []plugin.FieldError {
	_, errs := parse(c)
	return errs
}

func parse(c plugin.Check) (*awsclient.Dynamic, []plugin.FieldError) {
	_, _, errs := awsclient.TargetARN(c.Endpoint, "batch", "job-queue/")
	errs = append(errs, awsclient.OneEventPerCall(c, "a Batch job queue target")...)
	var p Parameters
	present, perrs := awsclient.DecodeMember(c, Member, &p)
	if len(perrs) > 0 {
		return nil, append(errs, perrs...)
	}
	f := &awsclient.Fields{Prefix: "TargetParameters." + Member}
	if !present {
		f.Add("", "is required with a Batch job queue target (JobDefinition and JobName at least)")
		return nil, append(errs, f.Errs...)
	}
	f.Required("JobDefinition", p.JobDefinition != nil)
	f.String("JobDefinition", p.JobDefinition, 1, 0, nil, true)
	f.Required("JobName", p.JobName != nil)
	f.String("JobName", p.JobName, 1, 128, reJobName, true)
	if p.ArrayProperties != nil {
		f.Int("ArrayProperties.Size", p.ArrayProperties.Size, 2, 10000)
	}
	if p.RetryStrategy != nil {
		f.Int("RetryStrategy.Attempts", p.RetryStrategy.Attempts, 1, 10)
	}
	f.Count("DependsOn", len(p.DependsOn), 0, 20)
	for i, d := range p.DependsOn {
		f.Enum(fmt.Sprintf("DependsOn[%d].Type", i), d.Type, "N_TO_N", "SEQUENTIAL")
	}
	if o := p.ContainerOverrides; o != nil {
		for i, r := range o.ResourceRequirements {
			n := fmt.Sprintf("ContainerOverrides.ResourceRequirements[%d]", i)
			f.Required(n+".Type", r.Type != "")
			f.Enum(n+".Type", r.Type, "GPU", "MEMORY", "VCPU")
			f.Required(n+".Value", r.Value != nil)
		}
	}
	errs = append(errs, f.Errs...)
	dyn, derrs := awsclient.ParseDynamic(c, Member)
	return dyn, append(errs, derrs...)
}

// Target submits jobs to one queue.
type Target struct {
	client *batch.Client
	arn    string // the Target ARN, for messages
	queue  string // how calls name the queue
	dyn    *awsclient.Dynamic
}

// NewWithConfig builds the target with an explicit AWS configuration.
func NewWithConfig(cfg aws.Config, c plugin.Check) (*Target, error) {
	dyn, errs := parse(c)
	if err := awsclient.Invalid("batch", errs); err != nil {
		return nil, err
	}
	return &Target{client: batch.NewFromConfig(cfg), arn: c.Endpoint, queue: awsclient.ResourceID(c.Endpoint, "batch", "job-queue/"), dyn: dyn}, nil
}

// Deliver submits one job per event, in order.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	return awsclient.EachDecoded(ctx, b, t.dyn, func(ctx context.Context, p *Parameters) error {
		if _, err := t.client.SubmitJob(ctx, p.submitJob(t.queue)); err != nil {
			return fmt.Errorf("batch SubmitJob to %s: %w", t.arn, err)
		}
		return nil
	})
}

// submitJob is the SubmitJob request of one event's (resolved) parameters.
func (p *Parameters) submitJob(queue string) *batch.SubmitJobInput {
	in := &batch.SubmitJobInput{JobQueue: &queue, JobDefinition: p.JobDefinition, JobName: p.JobName, Parameters: p.Parameters}
	if p.ArrayProperties != nil && p.ArrayProperties.Size != nil {
		in.ArrayProperties = &types.ArrayProperties{Size: aws.Int32(int32(*p.ArrayProperties.Size))}
	}
	if p.RetryStrategy != nil && p.RetryStrategy.Attempts != nil {
		in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(int32(*p.RetryStrategy.Attempts))}
	}
	for _, d := range p.DependsOn {
		in.DependsOn = append(in.DependsOn, types.JobDependency{JobId: d.JobId, Type: types.ArrayJobDependency(d.Type)})
	}
	if o := p.ContainerOverrides; o != nil {
		co := &types.ContainerOverrides{Command: o.Command, InstanceType: o.InstanceType}
		for _, e := range o.Environment {
			co.Environment = append(co.Environment, types.KeyValuePair{Name: e.Name, Value: e.Value})
		}
		for _, r := range o.ResourceRequirements {
			co.ResourceRequirements = append(co.ResourceRequirements, types.ResourceRequirement{Type: types.ResourceType(r.Type), Value: r.Value})
		}
		in.ContainerOverrides = co
	}
	return in
}
