package api

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// whoami is a target that asks the emulator, for each batch, who its AWS calls are made as (STS
// GetCallerIdentity with plugin.Env.AWS, as an AWS target's calls are made), per pipe.
type whoami struct {
	mu      sync.Mutex
	callers map[string]string // pipe name -> the last caller ARN
}

func (w *whoami) spec() plugin.TargetSpec {
	return plugin.TargetSpec{Kinds: []string{"file"}, New: func(_ context.Context, env plugin.Env, _ plugin.Check) (plugin.Target, error) {
		return whoamiTarget{w: w, pipe: env.PipeName, aws: env.AWS}, nil
	}}
}

func (w *whoami) caller(pipe string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.callers[pipe]
}

type whoamiTarget struct {
	w    *whoami
	pipe string
	aws  plugin.AWSConfig
}

func (t whoamiTarget) Deliver(ctx context.Context, _ plugin.Batch) error {
	cfg, err := t.aws(ctx, "eu-west-1")
	if err != nil {
		return err
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return awsclient.Classify(err)
	}
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	t.w.callers[t.pipe] = aws.ToString(out.Arn)
	return nil
}

// TestPipeRole is issue 12's STS acceptance through the API: pipes created with a RoleArn make their
// AWS calls (plugin.Env.AWS) as that role, assumed in the role's own account (111111111111, not the
// host's 123456789012) in a session named after the pipe, each pipe with its own role; UpdatePipe's
// new RoleArn takes effect on the restart; with --assume-pipe-role=false the calls are the host's.
func TestPipeRole(t *testing.T) {
	awstest.Endpoint(t)
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	id, err := sts.NewFromConfig(awstest.Config(t, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	host := aws.ToString(id.Arn)
	role := func(name string) string { return "arn:aws:iam::111111111111:role/" + name }
	assumed := func(role, pipe string) string { return "arn:aws:sts::111111111111:assumed-role/" + role + "/" + pipe }

	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		for _, assume := range []bool{true, false} {
			t.Run(fmt.Sprintf("assume-pipe-role=%v", assume), func(t *testing.T) {
				w := &whoami{callers: map[string]string{}}
				reg := plugin.NewRegistry()
				reg.AddTarget(w.spec())
				o := awstest.Options(t)
				o.AssumeRole = assume
				h := newHarness(t, func(su *setup) {
					su.Factory = supervisor.RuntimeFactory(supervisor.RuntimeOptions{
						Deps: runtime.Deps{Registry: reg, Secrets: &secret.Resolver{}, DrainTimeout: 5 * time.Second,
							Retry: runtime.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}},
						PreflightTimeout: 5 * time.Second,
						AWS:              awsclient.New(o).For,
					})
					su.Manager.StopTimeout = 20 * time.Second
				})
				topic := c.CreateTopic(t, 2) // produceRange writes to partitions 0 and 1
				create := func(name, roleName string) {
					in := createInput(name, types.RequestedPipeStateRunning)
					in.Source = aws.String("smk://" + c.Bootstrap[0])
					in.Target = aws.String("file:///unused/" + name)
					in.RoleArn = aws.String(role(roleName))
					k := in.SourceParameters.SelfManagedKafkaParameters
					k.TopicName, k.StartingPosition = aws.String(topic), types.SelfManagedKafkaStartPositionTrimHorizon
					if _, err := h.client.CreatePipe(bg, in); err != nil {
						t.Fatal(err)
					}
					h.waitState(name, types.PipeStateRunning)
				}
				create("orders-a", "role-a")
				create("orders-b", "role-b")
				produceRange(t, c, topic, 0, 2)
				waitCaller := func(pipe, want string) {
					t.Helper()
					kafkatest.Eventually(t, 30*time.Second, func() error {
						if got := w.caller(pipe); got != want {
							return fmt.Errorf("pipe %s's AWS calls are made as %q, want %q", pipe, got, want)
						}
						return nil
					})
				}
				if !assume {
					waitCaller("orders-a", host)
					waitCaller("orders-b", host)
					return
				}
				waitCaller("orders-a", assumed("role-a", "orders-a"))
				waitCaller("orders-b", assumed("role-b", "orders-b"))

				// A new RoleArn: the restarted pipe calls as the new role.
				if _, err := h.client.UpdatePipe(bg, &pipes.UpdatePipeInput{Name: aws.String("orders-a"), RoleArn: aws.String(role("role-c"))}); err != nil {
					t.Fatal(err)
				}
				h.waitState("orders-a", types.PipeStateRunning)
				produceRange(t, c, topic, 2, 3)
				waitCaller("orders-a", assumed("role-c", "orders-a"))
			})
		}
	})
}
