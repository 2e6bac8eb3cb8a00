package ecs

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestPipeToECS is the end-to-end test: each record on the real broker runs one task, whose group and
// container command come from the record, read back with ListTasks and DescribeTasks.
func TestPipeToECS(t *testing.T) {
	c := kafkatest.Real(t)
	topic := c.CreateTopic(t, 1)
	cfg := awstest.Config(t, "")
	client := ecs.NewFromConfig(cfg)
	clusterArn, tdArn := newCluster(t, client)
	subnet, sg := defaultNetwork(t)
	var recs []*kgo.Record
	for i := range 3 {
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, `{"job":"j%d"}`, i)})
	}
	c.Produce(t, recs...)
	awstest.RunPipe(t, c, topic, awstest.PipeSpec{
		Target: clusterArn, Endpoint: awstest.Endpoint(t), // BatchSize: the target's default, 1
		TargetParameters: map[string]any{"EcsTaskParameters": map[string]any{
			"TaskDefinitionArn": tdArn, "LaunchType": "FARGATE", "Group": "$.value.job",
			"NetworkConfiguration": map[string]any{"awsvpcConfiguration": map[string]any{"Subnets": []string{subnet}, "SecurityGroups": []string{sg}}},
			"Overrides":            map[string]any{"ContainerOverrides": []any{map[string]any{"Name": "app", "Command": []string{"run", "$.value.job"}}}},
		}},
	})
	want := []string{"j0: run j0", "j1: run j1", "j2: run j2"}
	kafkatest.Eventually(t, 60*time.Second, func() error {
		l, err := client.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: &clusterArn})
		if err != nil || len(l.TaskArns) == 0 {
			return fmt.Errorf("ListTasks: %d tasks, %v", len(l.TaskArns), err)
		}
		d, err := client.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: &clusterArn, Tasks: l.TaskArns})
		if err != nil {
			return err
		}
		var got []string
		for _, tk := range d.Tasks {
			cmd := ""
			if tk.Overrides != nil && len(tk.Overrides.ContainerOverrides) > 0 {
				cmd = fmt.Sprint(tk.Overrides.ContainerOverrides[0].Command)
			}
			got = append(got, aws.ToString(tk.Group)+": "+cmd[1:len(cmd)-1])
		}
		sort.Strings(got)
		if d := cmp.Diff(want, got); d != "" {
			return fmt.Errorf("tasks (-want +got):\n%s", d)
		}
		return nil
	})
}
