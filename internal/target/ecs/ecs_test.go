package ecs

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/plugin"
)

const cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/c"

func TestValidate(t *testing.T) {
	const pre = "TargetParameters.EcsTaskParameters"
	td := `"TaskDefinitionArn":"arn:aws:ecs:us-east-1:123456789012:task-definition/t:1"`
	awstest.CheckValidate(t, Validate, []awstest.ValidateCase{
		{Name: "minimal", Target: cluster, Params: `{"EcsTaskParameters":{` + td + `}}`},
		{Name: "task definition from a path", Target: cluster, Params: `{"EcsTaskParameters":{"TaskDefinitionArn":"$.value.td"}}`},
		{Name: "full", Target: cluster, Params: `{"EcsTaskParameters":{` + td + `,"TaskCount":2,"LaunchType":"FARGATE","PlatformVersion":"1.4.0","Group":"$.value.g",
			"NetworkConfiguration":{"awsvpcConfiguration":{"Subnets":["subnet-1","$.value.subnet"],"SecurityGroups":["sg-1"],"AssignPublicIp":"ENABLED"}},
			"EnableECSManagedTags":true,"EnableExecuteCommand":false,"PropagateTags":"TASK_DEFINITION","ReferenceId":"$.value.id",
			"PlacementConstraints":[{"type":"memberOf","expression":"attribute:x == y"}],"PlacementStrategy":[{"type":"spread","field":"host"}],
			"Overrides":{"Cpu":"256","Memory":"512","TaskRoleArn":"arn:aws:iam::123456789012:role/r","EphemeralStorage":{"sizeInGiB":30},
				"ContainerOverrides":[{"Name":"app","Command":["echo","$.value.msg"],"Cpu":128,"Environment":[{"name":"ID","value":"$.value.id"}],
				"EnvironmentFiles":[{"type":"s3","value":"arn:aws:s3:::b/env"}],"ResourceRequirements":[{"type":"GPU","value":"1"}]}]},
			"Tags":[{"Key":"k","Value":"$.value.id"}]}}`},
		{Name: "absent", Target: cluster, Params: `{}`, Want: []plugin.FieldError{{Field: pre, Message: "is required with an ECS cluster target (TaskDefinitionArn at least)"}}},
		{Name: "every problem", Target: "arn:aws:ecs:us-east-1:123456789012:service/s", Params: `{"EcsTaskParameters":{"TaskCount":0,"LaunchType":"LAMBDA",
			"CapacityProviderStrategy":[{"weight":2000}],
			"NetworkConfiguration":{"awsvpcConfiguration":{"Subnets":["net-1"],"AssignPublicIp":"YES"}},
			"PropagateTags":"SERVICE","Overrides":{"TaskRoleArn":"role","EphemeralStorage":{"sizeInGiB":5},
			"ContainerOverrides":[{"EnvironmentFiles":[{"type":"http","value":"x"}]}]},
			"Tags":[{"Key":""}],"PlacementStrategy":[{"type":"pack"}],"Group":"$.value["}}`, Want: []plugin.FieldError{
			{Field: "Target", Message: `resource "service/s" must be cluster/NAME`},
			{Field: pre + ".TaskDefinitionArn", Message: "is required"},
			{Field: pre + ".TaskCount", Message: "must be 1..10, not 0"},
			{Field: pre + ".LaunchType", Message: `must be one of EC2, FARGATE, EXTERNAL, not "LAMBDA"`},
			{Field: pre + ".CapacityProviderStrategy", Message: "must be omitted when LaunchType is given"},
			{Field: pre + ".NetworkConfiguration.awsvpcConfiguration.Subnets[0]", Message: `must match subnet-[0-9a-z]*|\$(\.[\w/_-]+(\[(\d+|\*)\])*)*`},
			{Field: pre + ".NetworkConfiguration.awsvpcConfiguration.AssignPublicIp", Message: `must be one of ENABLED, DISABLED, not "YES"`},
			{Field: pre + ".CapacityProviderStrategy[0].capacityProvider", Message: "is required"},
			{Field: pre + ".CapacityProviderStrategy[0].weight", Message: "must be 0..1000, not 2000"},
			{Field: pre + ".PlacementStrategy[0].type", Message: `must be one of random, spread, binpack, not "pack"`},
			{Field: pre + ".PropagateTags", Message: `must be one of TASK_DEFINITION, not "SERVICE"`},
			{Field: pre + ".Tags[0].Value", Message: "is required"},
			{Field: pre + ".Tags[0].Key", Message: "must be at least 1 characters"},
			{Field: pre + ".Overrides.TaskRoleArn", Message: `must match arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-]+):([a-z]{2,4}((-gov)|(-de)|(-iso([a-z]?)))?-[a-z]+(-\d{1})?)?:(\d{12})?:(.+)|\$(\.[\w/_-]+(\[(\d+|\*)\])*)*`},
			{Field: pre + ".Overrides.EphemeralStorage.sizeInGiB", Message: "must be 21..200, not 5"},
			{Field: pre + ".Overrides.ContainerOverrides[0].EnvironmentFiles[0].type", Message: `must be one of s3, not "http"`},
			{Field: pre + ".Group", Message: "is not a valid JSON path"},
		}},
		{Name: "unknown member", Target: cluster, Params: `{"EcsTaskParameters":{` + td + `,"Cluster":"x"}}`, Want: []plugin.FieldError{{Field: pre, Message: `has unknown member "Cluster"`}}},
		{Name: "wrong type", Target: cluster, Params: `{"EcsTaskParameters":{` + td + `,"TaskCount":"2"}}`, Want: []plugin.FieldError{{Field: pre + ".TaskCount", Message: "must be an integer, not string"}}},
	})
}

// newCluster makes a cluster and a Fargate task definition; it returns the cluster's and the task
// definition's ARNs.
func newCluster(t *testing.T, c *ecs.Client) (string, string) {
	t.Helper()
	ctx := t.Context()
	name := fmt.Sprintf("awsstream-%d", time.Now().UnixNano())
	cl, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &name})
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  &name,
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions:    []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(128)}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(cl.Cluster.ClusterArn), aws.ToString(td.TaskDefinition.TaskDefinitionArn)
}

// defaultNetwork returns a subnet and a security group of the emulator's default VPC, which its ECS
// checks awsvpc tasks against.
func defaultNetwork(t *testing.T) (subnet, group string) {
	t.Helper()
	find := func(action, pattern string) string {
		out := awstest.Query(t, "ec2", "2016-11-15", action, nil)
		m := regexp.MustCompile(pattern).FindSubmatch(out)
		if m == nil {
			t.Fatalf("EC2 %s answered %s, with no %s", action, out, pattern)
		}
		return string(m[1])
	}
	return find("DescribeSubnets", `<subnetId>(subnet-[0-9a-z]+)</subnetId>`), find("DescribeSecurityGroups", `<groupId>(sg-[0-9a-z]+)</groupId>`)
}

func TestDeliverRunsTaskPerEvent(t *testing.T) {
	cfg := awstest.Config(t, "")
	c := ecs.NewFromConfig(cfg)
	clusterArn, tdArn := newCluster(t, c)
	subnet, sg := defaultNetwork(t)
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	params := fmt.Sprintf(`{"InputTemplate":"ignored","EcsTaskParameters":{"TaskDefinitionArn":%q,"LaunchType":"FARGATE",
		"NetworkConfiguration":{"awsvpcConfiguration":{"Subnets":["$.value.subnet"],"SecurityGroups":[%q],"AssignPublicIp":"DISABLED"}},
		"Group":"$.value.group","ReferenceId":"$.value.id",
		"Overrides":{"ContainerOverrides":[{"Name":"app","Command":["echo","$.value.msg"],"Environment":[{"name":"ORDER","value":"$.value.id"}]}]},
		"Tags":[{"Key":"order","Value":"$.value.id"}]}}`, tdArn, sg)
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: clusterArn, Params: json.RawMessage(params)})
	if err != nil {
		t.Fatal(err)
	}
	var b plugin.Batch
	for i := range 2 {
		b.Payloads = append(b.Payloads, json.RawMessage(`"ignored"`))
		b.Inputs = append(b.Inputs, awstest.KafkaEvent(fmt.Sprintf(`{"id":"o%d","group":"g%d","msg":"hello %d","subnet":%q}`, i, i, i, subnet)))
	}
	if err := tg.Deliver(t.Context(), b); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if n := len(fp.Calls("RunTask")); n != 2 {
		t.Errorf("RunTask calls = %d, want 2 (one per event)", n)
	}
	var req struct {
		ReferenceID          string `json:"referenceId"`
		NetworkConfiguration struct {
			AwsvpcConfiguration struct{ Subnets []string } `json:"awsvpcConfiguration"`
		} `json:"networkConfiguration"`
	}
	if err := json.Unmarshal(fp.Calls("RunTask")[1].Body, &req); err != nil {
		t.Fatal(err)
	}
	if req.ReferenceID != "o1" || !cmp.Equal(req.NetworkConfiguration.AwsvpcConfiguration.Subnets, []string{subnet}) {
		t.Errorf("second RunTask request %s: want referenceId o1 and subnets [%s]", fp.Calls("RunTask")[1].Body, subnet)
	}

	// Read the tasks back from the emulator.
	l, err := c.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: &clusterArn})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	d, err := c.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: &clusterArn, Tasks: l.TaskArns, Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	type task struct{ Group, Command, Env, Tag, TaskDef string }
	var got []task
	for _, tk := range d.Tasks {
		tt := task{Group: aws.ToString(tk.Group), TaskDef: aws.ToString(tk.TaskDefinitionArn)}
		if tk.Overrides != nil && len(tk.Overrides.ContainerOverrides) == 1 {
			co := tk.Overrides.ContainerOverrides[0]
			tt.Command = strings.Join(co.Command, " ")
			for _, e := range co.Environment {
				tt.Env += aws.ToString(e.Name) + "=" + aws.ToString(e.Value)
			}
		}
		for _, tag := range tk.Tags {
			tt.Tag += aws.ToString(tag.Key) + "=" + aws.ToString(tag.Value)
		}
		got = append(got, tt)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Group < got[j].Group })
	want := []task{
		{Group: "g0", Command: "echo hello 0", Env: "ORDER=o0", Tag: "order=o0", TaskDef: tdArn},
		{Group: "g1", Command: "echo hello 1", Env: "ORDER=o1", Tag: "order=o1", TaskDef: tdArn},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tasks (-want +got):\n%s", d)
	}
}

func TestDeliverFailures(t *testing.T) {
	cfg := awstest.Config(t, "")
	// moto 5.2.5 needs security groups with an awsvpc network configuration (it fails with a 500
	// without them; ECS does not).
	subnet, sg := defaultNetwork(t)
	net := fmt.Sprintf(`"NetworkConfiguration":{"awsvpcConfiguration":{"Subnets":[%q],"SecurityGroups":[%q]}}`, subnet, sg)
	clusterArn, tdArn := newCluster(t, ecs.NewFromConfig(cfg))
	fp := awstest.NewFaultProxy(t, awstest.Endpoint(t))
	params := fmt.Sprintf(`{"EcsTaskParameters":{"TaskDefinitionArn":%q,"LaunchType":"FARGATE","Group":"$.value.group",%s}}`, tdArn, net)
	tg, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), plugin.Check{Endpoint: clusterArn, Params: json.RawMessage(params)})
	if err != nil {
		t.Fatal(err)
	}
	b := plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`2`), json.RawMessage(`3`)}, Inputs: []json.RawMessage{awstest.KafkaEvent(`{"group":"a"}`), awstest.KafkaEvent(`{"group":"b"}`), awstest.KafkaEvent(`{"group":"c"}`)}}

	// A throttled second call: the first event is delivered, the rest come back as a partial failure.
	fp.Add(awstest.Rule{Op: "RunTask", Skip: 1, Times: 1, Error: &awstest.APIError{Code: "ThrottlingException", Message: "Rate exceeded"}})
	err = tg.Deliver(t.Context(), b)
	var pe *plugin.PartialError
	var th *plugin.ThrottledError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1, 2}) || !errors.As(pe.Err, &th) {
		t.Fatalf("Deliver = %v, want PartialError{Failed: [1 2]} throttled", err)
	}

	// A missing task definition is permanent (it feeds auto-stop).
	gone := plugin.Check{Endpoint: clusterArn, Params: json.RawMessage(`{"EcsTaskParameters":{"TaskDefinitionArn":"arn:aws:ecs:us-east-1:123456789012:task-definition/none:1","LaunchType":"FARGATE"}}`)}
	tg2, err := NewWithConfig(awstest.PipeConfig(t, fp.URL), gone)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg2.Deliver(t.Context(), plugin.Batch{Payloads: b.Payloads[:1], Inputs: b.Inputs[:1]}); err == nil || !plugin.IsPermanent(err) {
		t.Errorf("Deliver(missing task definition) = %v, want a permanent error", err)
	}
}
