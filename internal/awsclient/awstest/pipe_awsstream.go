package awstest

import (
	"fmt"
	"testing"
	"time"

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
	rest := map[string]any{"Name": fmt.Sprintf("awsstream-%d", time.Now().UnixNano()), "Target": s.Target}
	if s.TargetParameters != nil {
		rest["TargetParameters"] = s.TargetParameters
	}
	def := KafkaPipe(t, c, topic, s.BatchSize, map[string]any{"MaximumBatchingWindowInSeconds": 1}, rest)
	return RunDefinition(t, def, s.Endpoint).Def
}
