package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// DefaultPreflightTimeout bounds the broker check RuntimeFactory makes before starting a pipe.
const DefaultPreflightTimeout = 15 * time.Second

// RuntimeOptions configure RuntimeFactory.
type RuntimeOptions struct {
	// Deps are passed to runtime.New for every pipe (secrets, registry, metrics, logger, region...).
	Deps runtime.Deps
	// PreflightTimeout bounds the check that the source's brokers answer with the pipe's credentials
	// before the pipe starts; zero means DefaultPreflightTimeout, negative skips the check.
	PreflightTimeout time.Duration
	// AutoStop stops pipes whose target or enrichment keeps failing with client errors (autostop.go).
	AutoStop AutoStop
	// AWS makes each pipe's Deps.AWS (plugin.Env.AWS) from the pipe's name, RoleArn and sandbox: the
	// method value awsclient.Provider.For, so that every pipe's AWS calls are made with its own role
	// (and a RoleArn changed by UpdatePipe takes effect on the restart). Nil leaves Deps.AWS as it is.
	AWS func(pipeName, roleArn string, sb sandbox.Policy) plugin.AWSConfig
	// InstanceID, when set, gives each pipe's source its static group member ID (Deps.InstanceID): in
	// cluster mode "<group>-<node>", so that a restarted node takes its members' partitions back.
	InstanceID func(def *pipe.Definition) string
	// Build, when set, builds the runner after the preflight instead of internal/runtime. In cluster
	// placement mode the Manager holds a waiting runner while the members run where the leader placed
	// them; the preflight still runs, so a pipe whose brokers or secrets fail shows its failed state
	// (START_FAILED ...) with the reason, as on a single node.
	Build Factory
}

// RuntimeFactory returns a Factory that runs pipes with internal/runtime, their target and enrichment
// watched for auto-stop (autostop.go). Before building a pipe it resolves the source's secrets and
// asks its brokers for metadata with them, so that a pipe which cannot work never shows RUNNING: the
// Manager fails its transition (CREATE_FAILED, START_FAILED, UPDATE_FAILED) with a StateReason naming
// the broker or secret when the failure is permanent, and retries with the reason shown while it is
// transient (supervisor.Transient: the errors keep their cause for errors.Is/As).
func RuntimeFactory(o RuntimeOptions) Factory {
	if o.PreflightTimeout == 0 {
		o.PreflightTimeout = DefaultPreflightTimeout
	}
	return func(ctx context.Context, def *pipe.Definition, hooks Hooks) (Runner, error) {
		if o.PreflightTimeout > 0 {
			if err := preflight(ctx, def, o); err != nil {
				return nil, err
			}
		}
		if o.Build != nil {
			return o.Build(ctx, def, hooks)
		}
		deps := o.Deps
		if o.AWS != nil {
			deps.AWS = o.AWS(def.Name, def.RoleArn, deps.Sandbox)
		}
		if o.InstanceID != nil {
			deps.InstanceID = o.InstanceID(def)
		}
		if o.AutoStop.After >= 0 && hooks.OnFatal != nil {
			deps.Watch = autoStopWatch(def, hooks, o.AutoStop.withDefaults())
		}
		p, err := runtime.New(ctx, def, deps)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// preflight checks that the source's brokers can be reached and authenticated to.
func preflight(ctx context.Context, def *pipe.Definition, o RuntimeOptions) error {
	log := o.Deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := runtime.SourceConfig(def, o.Deps.Secrets, log)
	if err != nil {
		return err
	}
	cfg.Auth.Egress = o.Deps.Sandbox.Egress // the brokers this check dials are the pipe's: same policy
	ctx, cancel := context.WithTimeout(ctx, o.PreflightTimeout)
	defer cancel()
	if err := kafkaauth.CheckBrokers(cfg.Auth.Egress, cfg.Brokers); err != nil {
		return fmt.Errorf("source %s: %w", def.Source, err)
	}
	opts, err := kafkaauth.Options(ctx, cfg.Auth, o.Deps.Secrets)
	if err != nil {
		return fmt.Errorf("source credentials: %w", err)
	}
	opts = append(opts, kgo.SeedBrokers(cfg.Brokers...), kgo.RetryTimeout(o.PreflightTimeout))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("source %s: %w", def.Source, err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s: %w", o.PreflightTimeout, err) // transient: retried
		}
		return fmt.Errorf("connecting to broker %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	return nil
}
