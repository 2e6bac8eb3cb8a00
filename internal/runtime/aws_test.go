package runtime_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
)

// whoami is a target that, for each batch, asks the emulator who its AWS calls are made as (STS
// GetCallerIdentity with plugin.Env.AWS), as an AWS target's calls would be.
type whoami struct {
	aws plugin.AWSConfig

	mu      sync.Mutex
	callers []string
}

func (w *whoami) Deliver(ctx context.Context, _ plugin.Batch) error {
	cfg, err := w.aws(ctx, "eu-west-1")
	if err != nil {
		return err
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return awsclient.Classify(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.callers = append(w.callers, aws.ToString(out.Arn))
	return nil
}

func (w *whoami) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.callers) == 0 {
		return ""
	}
	return w.callers[len(w.callers)-1]
}

// TestPipeRole is issue 12's STS acceptance through the runtime: records go through a pipe whose
// target makes AWS calls with plugin.Env.AWS, and the emulator sees them made by the pipe's RoleArn,
// assumed in the role's own account (111111111111, not the host's 123456789012) in a session named
// after the pipe. With --assume-pipe-role=false (Options.AssumeRole false) they are the host's.
func TestPipeRole(t *testing.T) {
	awstest.Endpoint(t)
	const role = "arn:aws:iam::111111111111:role/pipe-role"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := sts.NewFromConfig(awstest.Config(t, "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	host := aws.ToString(id.Arn)
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		for _, assume := range []bool{true, false} {
			topic := c.CreateTopic(t, 1)
			produce(t, c, topic, []*kgoRecord{{value: `{"n":1}`}, {value: `{"n":2}`}})
			w := &whoami{}
			reg := plugin.NewRegistry()
			reg.AddTarget(plugin.TargetSpec{Kinds: []string{"file"},
				New: func(_ context.Context, env plugin.Env, _ plugin.Check) (plugin.Target, error) {
					w.aws = env.AWS
					return w, nil
				}})
			def := definition(t, c, topic, spec{batchSize: 10, window: 1, target: "file:///unused"})
			def.RoleArn = role
			o := awstest.Options(t)
			o.AssumeRole = assume
			d := deps(t, reg)
			d.AWS = awsclient.New(o).For
			r := start(t, def, d)
			waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 2})
			want := "arn:aws:sts::111111111111:assumed-role/pipe-role/" + def.Name
			if !assume {
				want = host
			}
			if got := w.last(); got != want {
				t.Errorf("assume-pipe-role=%v: the target's calls were made as %q, want %q", assume, got, want)
			}
			if err := r.stop(); err != nil {
				t.Error(err)
			}
		}
	})
}
