package awstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
)

// PipeSpec is what an AWS target's end-to-end test chooses of a pipe reading one topic: the rest is a
// Kafka source from the start of the topic, batches closed after one second, and the role
// RoleArn("pipe"), assumed through the emulator's STS.
type PipeSpec struct {
	Target           string
	TargetParameters map[string]any
	// BatchSize is the source BatchSize (0: the target's default).
	BatchSize int
	// Endpoint is where the pipe's AWS calls go: the emulator, or a FaultProxy in front of it.
	Endpoint string
}

// RunPipe runs the pipe of s in-process (the runtime with plugin.Default, so the test's package must
// register its target) on topic of c, until the end of the test. It fails the test when the definition
// is invalid or the pipe cannot start, and returns the defaulted definition.
func RunPipe(t *testing.T, c *kafkatest.Cluster, topic string, s PipeSpec) *pipe.Definition {
	t.Helper()
	smk := map[string]any{"TopicName": topic, "StartingPosition": "TRIM_HORIZON", "MaximumBatchingWindowInSeconds": 1}
	if s.BatchSize > 0 {
		smk["BatchSize"] = s.BatchSize
	}
	if len(c.Bootstrap) > 1 {
		smk["AdditionalBootstrapServers"] = c.Bootstrap[1:]
	}
	d := map[string]any{
		"Name":             fmt.Sprintf("awsstream-%d", time.Now().UnixNano()),
		"Source":           "smk://" + c.Bootstrap[0],
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": smk},
		"Target":           s.Target,
		"RoleArn":          RoleArn("pipe"),
	}
	if s.TargetParameters != nil {
		d["TargetParameters"] = s.TargetParameters
	}
	provider := awsclient.New(awsclient.Options{Endpoint: s.Endpoint, AssumeRole: true, Region: Region, Credentials: Credentials()})
	return RunWith(t, d, provider).Def
}
