package ecs

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Parameters is TargetParameters.EcsTaskParameters, with the Pipes model's JSON names (some members of
// nested shapes are camelCase there, as in ECS).
type Parameters struct {
	TaskDefinitionArn        *string                `json:"TaskDefinitionArn"`
	TaskCount                *int                   `json:"TaskCount"`
	LaunchType               string                 `json:"LaunchType"`
	NetworkConfiguration     *NetworkConfiguration  `json:"NetworkConfiguration"`
	PlatformVersion          *string                `json:"PlatformVersion"`
	Group                    *string                `json:"Group"`
	CapacityProviderStrategy []CapacityProviderItem `json:"CapacityProviderStrategy"`
	EnableECSManagedTags     bool                   `json:"EnableECSManagedTags"`
	EnableExecuteCommand     bool                   `json:"EnableExecuteCommand"`
	PlacementConstraints     []PlacementConstraint  `json:"PlacementConstraints"`
	PlacementStrategy        []PlacementStrategy    `json:"PlacementStrategy"`
	PropagateTags            string                 `json:"PropagateTags"`
	ReferenceId              *string                `json:"ReferenceId"`
	Overrides                *TaskOverride          `json:"Overrides"`
	Tags                     []Tag                  `json:"Tags"`
}

// NetworkConfiguration is the awsvpc network configuration.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration"`
}

// AwsVpcConfiguration names subnets and security groups.
type AwsVpcConfiguration struct {
	Subnets        []string `json:"Subnets"`
	SecurityGroups []string `json:"SecurityGroups"`
	AssignPublicIp string   `json:"AssignPublicIp"`
}

// CapacityProviderItem is one capacity provider of a strategy.
type CapacityProviderItem struct {
	CapacityProvider *string `json:"capacityProvider"`
	Weight           *int    `json:"weight"`
	Base             *int    `json:"base"`
}

// PlacementConstraint is a task placement constraint.
type PlacementConstraint struct {
	Type       string  `json:"type"`
	Expression *string `json:"expression"`
}

// PlacementStrategy is a task placement strategy.
type PlacementStrategy struct {
	Type  string  `json:"type"`
	Field *string `json:"field"`
}

// TaskOverride overrides the task definition for the tasks of one event.
type TaskOverride struct {
	ContainerOverrides            []ContainerOverride            `json:"ContainerOverrides"`
	Cpu                           *string                        `json:"Cpu"`
	EphemeralStorage              *EphemeralStorage              `json:"EphemeralStorage"`
	ExecutionRoleArn              *string                        `json:"ExecutionRoleArn"`
	InferenceAcceleratorOverrides []InferenceAcceleratorOverride `json:"InferenceAcceleratorOverrides"`
	Memory                        *string                        `json:"Memory"`
	TaskRoleArn                   *string                        `json:"TaskRoleArn"`
}

// ContainerOverride overrides one container.
type ContainerOverride struct {
	Command              []string     `json:"Command"`
	Cpu                  *int         `json:"Cpu"`
	Environment          []KeyValue   `json:"Environment"`
	EnvironmentFiles     []TypedValue `json:"EnvironmentFiles"`
	Memory               *int         `json:"Memory"`
	MemoryReservation    *int         `json:"MemoryReservation"`
	Name                 *string      `json:"Name"`
	ResourceRequirements []TypedValue `json:"ResourceRequirements"`
}

// KeyValue is an environment variable.
type KeyValue struct {
	Name  *string `json:"name"`
	Value *string `json:"value"`
}

// TypedValue is an environment file or a resource requirement.
type TypedValue struct {
	Type  string  `json:"type"`
	Value *string `json:"value"`
}

// EphemeralStorage is the task's ephemeral storage size.
type EphemeralStorage struct {
	SizeInGiB *int `json:"sizeInGiB"`
}

// InferenceAcceleratorOverride overrides an Elastic Inference accelerator.
type InferenceAcceleratorOverride struct {
	DeviceName *string `json:"deviceName"`
	DeviceType *string `json:"deviceType"`
}

// Tag is a task tag.
type Tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

var (
	reArnOrPath = awsclient.Anchored(`arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-]+):([a-z]{2,4}((-gov)|(-de)|(-iso([a-z]?)))?-[a-z]+(-\d{1})?)?:(\d{12})?:(.+)|` + awsclient.PathPattern)
	reSubnet    = awsclient.Anchored(`subnet-[0-9a-z]*|` + awsclient.PathPattern)
	reSG        = awsclient.Anchored(`sg-[0-9a-zA-Z]*|` + awsclient.PathPattern)
)

// check reports every problem with p against the Pipes model.
func (p *Parameters) check(f *awsclient.Fields) {
	f.Required("TaskDefinitionArn", p.TaskDefinitionArn != nil)
	f.String("TaskDefinitionArn", p.TaskDefinitionArn, 1, 1600, reArnOrPath, true)
	f.Int("TaskCount", p.TaskCount, 1, 10) // the model says at least 1; RunTask starts at most 10
	f.Enum("LaunchType", p.LaunchType, "EC2", "FARGATE", "EXTERNAL")
	if p.LaunchType != "" && len(p.CapacityProviderStrategy) > 0 {
		f.Add("CapacityProviderStrategy", "must be omitted when LaunchType is given")
	}
	if n := p.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
		a := n.AwsvpcConfiguration
		const pre = "NetworkConfiguration.awsvpcConfiguration."
		f.Required(pre+"Subnets", a.Subnets != nil)
		f.Count(pre+"Subnets", len(a.Subnets), 0, 16)
		for i := range a.Subnets {
			f.String(fmt.Sprintf(pre+"Subnets[%d]", i), &a.Subnets[i], 1, 1024, reSubnet, true)
		}
		f.Count(pre+"SecurityGroups", len(a.SecurityGroups), 0, 5)
		for i := range a.SecurityGroups {
			f.String(fmt.Sprintf(pre+"SecurityGroups[%d]", i), &a.SecurityGroups[i], 1, 1024, reSG, true)
		}
		f.Enum(pre+"AssignPublicIp", a.AssignPublicIp, "ENABLED", "DISABLED")
	}
	f.Count("CapacityProviderStrategy", len(p.CapacityProviderStrategy), 0, 6)
	for i, c := range p.CapacityProviderStrategy {
		name := fmt.Sprintf("CapacityProviderStrategy[%d]", i)
		f.Required(name+".capacityProvider", c.CapacityProvider != nil)
		f.String(name+".capacityProvider", c.CapacityProvider, 1, 255, nil, true)
		f.Int(name+".weight", c.Weight, 0, 1000)
		f.Int(name+".base", c.Base, 0, 100000)
	}
	f.Count("PlacementConstraints", len(p.PlacementConstraints), 0, 10)
	for i, c := range p.PlacementConstraints {
		name := fmt.Sprintf("PlacementConstraints[%d]", i)
		f.Enum(name+".type", c.Type, "distinctInstance", "memberOf")
		f.String(name+".expression", c.Expression, 0, 2000, nil, true)
	}
	f.Count("PlacementStrategy", len(p.PlacementStrategy), 0, 5)
	for i, s := range p.PlacementStrategy {
		name := fmt.Sprintf("PlacementStrategy[%d]", i)
		f.Enum(name+".type", s.Type, "random", "spread", "binpack")
		f.String(name+".field", s.Field, 0, 255, nil, true)
	}
	f.Enum("PropagateTags", p.PropagateTags, "TASK_DEFINITION")
	f.String("ReferenceId", p.ReferenceId, 0, 1024, nil, true)
	for i, t := range p.Tags {
		name := fmt.Sprintf("Tags[%d]", i)
		f.Required(name+".Key", t.Key != nil)
		f.Required(name+".Value", t.Value != nil)
		f.String(name+".Key", t.Key, 1, 128, nil, true)
		f.String(name+".Value", t.Value, 0, 256, nil, true)
	}
	if o := p.Overrides; o != nil {
		o.check(f)
	}
}

func (o *TaskOverride) check(f *awsclient.Fields) {
	f.String("Overrides.ExecutionRoleArn", o.ExecutionRoleArn, 1, 1600, reArnOrPath, true)
	f.String("Overrides.TaskRoleArn", o.TaskRoleArn, 1, 1600, reArnOrPath, true)
	if e := o.EphemeralStorage; e != nil {
		f.Required("Overrides.EphemeralStorage.sizeInGiB", e.SizeInGiB != nil)
		f.Int("Overrides.EphemeralStorage.sizeInGiB", e.SizeInGiB, 21, 200)
	}
	for i, c := range o.ContainerOverrides {
		name := fmt.Sprintf("Overrides.ContainerOverrides[%d]", i)
		for j, e := range c.EnvironmentFiles {
			n := fmt.Sprintf("%s.EnvironmentFiles[%d]", name, j)
			f.Required(n+".type", e.Type != "")
			f.Enum(n+".type", e.Type, "s3")
			f.Required(n+".value", e.Value != nil)
		}
		for j, r := range c.ResourceRequirements {
			n := fmt.Sprintf("%s.ResourceRequirements[%d]", name, j)
			f.Required(n+".type", r.Type != "")
			f.Enum(n+".type", r.Type, "GPU", "InferenceAccelerator")
			f.Required(n+".value", r.Value != nil)
		}
	}
}

// parse decodes and checks the Target ARN and EcsTaskParameters, returning the cluster ARN.
func parse(c plugin.Check) (*Parameters, *awsclient.Dynamic, []plugin.FieldError) {
	_, _, errs := awsclient.TargetARN(c.Endpoint, "ecs", "cluster/")
	errs = append(errs, awsclient.OneEventPerCall(c, "an ECS task target")...)
	var p Parameters
	present, perrs := awsclient.DecodeMember(c, Member, &p)
	if len(perrs) > 0 {
		return nil, nil, append(errs, perrs...)
	}
	f := &awsclient.Fields{Prefix: "TargetParameters." + Member}
	if !present {
		f.Add("", "is required with an ECS cluster target (TaskDefinitionArn at least)")
		return nil, nil, append(errs, f.Errs...)
	}
	p.check(f)
	errs = append(errs, f.Errs...)
	dyn, derrs := awsclient.ParseDynamic(c, Member)
	return &p, dyn, append(errs, derrs...)
}
