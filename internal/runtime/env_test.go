package runtime_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// awsclient's per-pipe configuration is what Deps.AWS takes.
var _ = runtime.Deps{AWS: awsclient.New(awsclient.Options{}).For("pipe", "", sandbox.Unrestricted())}

// TestPluginEnv: a plugin's New gets the pipe's identity, its RoleArn, the pipe's AWS configuration function
// (Deps.AWS) and its Check.
func TestPluginEnv(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	var got plugin.Env
	var chk plugin.Check
	reg := plugin.NewRegistry()
	reg.AddTarget(plugin.TargetSpec{Kinds: []string{"file"}, New: func(_ context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		got, chk = env, c
		return &recorder{}, nil
	}})
	def := definition(t, c, topic, spec{target: "file:///unused"})
	def.RoleArn = "arn:aws:iam::123456789012:role/pipe"
	d := deps(t, reg)
	d.AWS = func(context.Context, string) (aws.Config, error) { return aws.Config{Region: "eu-west-1"}, nil }
	start(t, def, d)
	if got.PipeName != def.Name || got.RoleArn != def.RoleArn || got.AWS == nil {
		t.Fatalf("Env = %+v, want the pipe's name, RoleArn and AWS", got)
	}
	if cfg, err := got.AWS(context.Background(), ""); err != nil || cfg.Region != "eu-west-1" {
		t.Errorf("Env.AWS() = %v, %v", cfg.Region, err)
	}
	if chk.Endpoint != "file:///unused" || chk.PipeName != def.Name || chk.SourceTopic != topic || chk.BatchSize == 0 {
		t.Errorf("Check = %+v", chk)
	}
}
