package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/console"
	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// DefaultScaleInterval is how often a cluster's leader checks each pipe's lag, as Pipes does (issue 13).
const DefaultScaleInterval = time.Minute

// placementFlags control cluster placement and scaling (internal/cluster): in cluster mode the leader
// node places each RUNNING pipe's members on nodes and scales them by lag every --scale-interval; with
// --scale-interval 0 every node runs every RUNNING pipe in the pipe's consumer group. A single node
// (no --cluster) ignores the flag.
type placementFlags struct {
	scaleInterval time.Duration
}

func (p *placementFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&p.scaleInterval, "scale-interval", DefaultScaleInterval, "with --cluster: how often the leader node checks each pipe's lag and adds or removes a member, as Pipes does every minute; 0 turns placement off (every node runs every pipe)")
}

// check validates the placement flags.
func (p *placementFlags) check() error {
	if p.scaleInterval < 0 {
		return fmt.Errorf("--scale-interval %s: want a positive duration, or 0 to turn placement off", p.scaleInterval)
	}
	return nil
}

// waitRunner is the runner the lifecycle Manager holds in placement mode: the pipe is RUNNING in the
// cluster while the members that consume for it run where the leader placed them (cluster.Members).
type waitRunner struct{}

func (waitRunner) Run(ctx context.Context) error   { <-ctx.Done(); return nil }
func (waitRunner) Close(ctx context.Context) error { return nil }

// placementFactory builds the Manager's runners in placement mode (RuntimeOptions.Build: after the
// source preflight, so that a pipe that cannot work still shows its failed state).
func placementFactory(context.Context, *pipe.Definition, supervisor.Hooks) (supervisor.Runner, error) {
	return waitRunner{}, nil
}

// startPlacement joins the cluster's election and runs this node's members with factory until ctx
// ends; wait waits for the node to leave and its members to stop. members is the console's "Members
// by node" (api.Config.Members).
func startPlacement(ctx context.Context, f serveFlags, st store.Store, factory supervisor.Factory, reg *prometheus.Registry,
	awsEndpoint, region string, log *slog.Logger) (wait func(), members func(context.Context, string) ([]console.Member, error), err error) {
	secrets := &secret.Resolver{AWSEndpoint: awsEndpoint, Region: region, Logger: log}
	opts, err := kafkaauth.Options(ctx, kafkaauth.Auth{Mechanism: f.clusterAuth, SecretRef: f.clusterCreds, RootCARef: f.clusterCA}, secrets)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster credentials: %w", err)
	}
	opts = append(opts, kgo.SeedBrokers(strings.Split(f.cluster, ",")...))
	node, ms, err := cluster.Start(ctx, st, factory, cluster.NodeOptions{
		Kafka: opts, Name: "__sluice-" + f.clusterName, NodeID: f.nodeID, SessionTimeout: f.sessionTimeout,
		ScaleInterval: f.scaleInterval, StopTimeout: f.drainTimeout + 10*time.Second,
		Secrets: plugin.SecretResolver(secrets), Metrics: reg, Logger: log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("joining the cluster's placement: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := node.Run(ctx); err != nil {
			log.Error("cluster placement stopped", "error", err)
		}
	})
	view := cluster.NewView(node, st, secrets, log)
	return func() { wg.Wait(); ms.Close() }, func(ctx context.Context, name string) ([]console.Member, error) {
		pm, err := view.Members(ctx, name)
		out := make([]console.Member, len(pm))
		for i, m := range pm {
			out[i] = console.Member{Node: m.Node, MemberID: m.InstanceID, Partitions: m.Partitions}
		}
		return out, err
	}, nil
}
