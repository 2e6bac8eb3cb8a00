// Package ecs is the Amazon ECS task target: one RunTask call per event on the cluster of the Target ARN
// (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME), with TargetParameters.EcsTaskParameters. As in Pipes the
// event is a trigger: the payload is not sent; any string member may instead be a JSON path read from
// the untransformed event (a container override's Command or Environment value, the Group, ...).
package ecs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

const (
	// Member is the TargetParameters member this target owns.
	Member = "EcsTaskParameters"
)

// Validate checks the Target ARN and EcsTaskParameters. It does no I/O.
func Validate(c plugin.Check) []plugin.FieldError {
	_, _, errs := parse(c)
	return errs
}

// Target runs tasks on one cluster.
type Target struct {
	client  *ecs.Client
	arn     string // the Target ARN, for messages
	cluster string // how calls name the cluster
	dyn     *awsclient.Dynamic
}

// NewWithConfig builds the target with an explicit AWS configuration.
func NewWithConfig(cfg aws.Config, c plugin.Check) (*Target, error) {
	_, dyn, errs := parse(c)
	if err := awsclient.Invalid("ecs", errs); err != nil {
		return nil, err
	}
	return &Target{client: ecs.NewFromConfig(cfg), arn: c.Endpoint, cluster: awsclient.ResourceID(c.Endpoint, "ecs", "cluster/"), dyn: dyn}, nil
}

// Deliver runs the task once per event, in order.
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	return awsclient.EachDecoded(ctx, b, t.dyn, func(ctx context.Context, p *Parameters) error {
		out, err := t.client.RunTask(ctx, p.runTask(t.cluster))
		if err != nil {
			return fmt.Errorf("ecs RunTask on %s: %w", t.arn, err)
		}
		if len(out.Failures) > 0 {
			var reasons []string
			for _, f := range out.Failures {
				reasons = append(reasons, aws.ToString(f.Arn)+": "+aws.ToString(f.Reason)+" "+aws.ToString(f.Detail))
			}
			return fmt.Errorf("ecs RunTask on %s: %w", t.arn, errors.New(strings.Join(reasons, "; ")))
		}
		return nil
	})
}

// runTask is the RunTask request of one event's (resolved) parameters.
func (p *Parameters) runTask(cluster string) *ecs.RunTaskInput {
	in := &ecs.RunTaskInput{
		Cluster:              &cluster,
		TaskDefinition:       p.TaskDefinitionArn,
		Count:                int32p(p.TaskCount),
		LaunchType:           types.LaunchType(p.LaunchType),
		PlatformVersion:      p.PlatformVersion,
		Group:                p.Group,
		EnableECSManagedTags: p.EnableECSManagedTags,
		EnableExecuteCommand: p.EnableExecuteCommand,
		PropagateTags:        types.PropagateTags(p.PropagateTags),
		ReferenceId:          p.ReferenceId,
	}
	if n := p.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
		a := n.AwsvpcConfiguration
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: a.Subnets, SecurityGroups: a.SecurityGroups, AssignPublicIp: types.AssignPublicIp(a.AssignPublicIp),
		}}
	}
	for _, c := range p.CapacityProviderStrategy {
		in.CapacityProviderStrategy = append(in.CapacityProviderStrategy, types.CapacityProviderStrategyItem{
			CapacityProvider: c.CapacityProvider, Weight: int32v(c.Weight), Base: int32v(c.Base),
		})
	}
	for _, c := range p.PlacementConstraints {
		in.PlacementConstraints = append(in.PlacementConstraints, types.PlacementConstraint{Type: types.PlacementConstraintType(c.Type), Expression: c.Expression})
	}
	for _, s := range p.PlacementStrategy {
		in.PlacementStrategy = append(in.PlacementStrategy, types.PlacementStrategy{Type: types.PlacementStrategyType(s.Type), Field: s.Field})
	}
	for _, tg := range p.Tags {
		in.Tags = append(in.Tags, types.Tag{Key: tg.Key, Value: tg.Value})
	}
	if o := p.Overrides; o != nil {
		in.Overrides = o.taskOverride()
	}
	return in
}

func (o *TaskOverride) taskOverride() *types.TaskOverride {
	out := &types.TaskOverride{Cpu: o.Cpu, Memory: o.Memory, ExecutionRoleArn: o.ExecutionRoleArn, TaskRoleArn: o.TaskRoleArn}
	if o.EphemeralStorage != nil {
		out.EphemeralStorage = &types.EphemeralStorage{SizeInGiB: int32v(o.EphemeralStorage.SizeInGiB)}
	}
	for _, a := range o.InferenceAcceleratorOverrides {
		// The Pipes model still has the member, so it is passed on as given; ECS answers whether it
		// still takes it.
		//lint:ignore SA1019 forwarded as the pipe gives it
		out.InferenceAcceleratorOverrides = append(out.InferenceAcceleratorOverrides, types.InferenceAcceleratorOverride{DeviceName: a.DeviceName, DeviceType: a.DeviceType})
	}
	for _, c := range o.ContainerOverrides {
		co := types.ContainerOverride{Name: c.Name, Command: c.Command, Cpu: int32p(c.Cpu), Memory: int32p(c.Memory), MemoryReservation: int32p(c.MemoryReservation)}
		for _, e := range c.Environment {
			co.Environment = append(co.Environment, types.KeyValuePair{Name: e.Name, Value: e.Value})
		}
		for _, e := range c.EnvironmentFiles {
			co.EnvironmentFiles = append(co.EnvironmentFiles, types.EnvironmentFile{Type: types.EnvironmentFileType(e.Type), Value: e.Value})
		}
		for _, r := range c.ResourceRequirements {
			co.ResourceRequirements = append(co.ResourceRequirements, types.ResourceRequirement{Type: types.ResourceType(r.Type), Value: r.Value})
		}
		out.ContainerOverrides = append(out.ContainerOverrides, co)
	}
	return out
}

func int32p(v *int) *int32 {
	if v == nil {
		return nil
	}
	n := int32(*v)
	return &n
}

func int32v(v *int) int32 {
	if v == nil {
		return 0
	}
	return int32(*v)
}
