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

// placementFlags turn on cluster placement and scaling (internal/cluster): with --scale-interval the
// leader node places each RUNNING pipe's members on nodes and scales them by lag; without it every
// node runs every RUNNING pipe in the pipe's consumer group.
type placementFlags struct {
	scaleInterval time.Duration
}

func (p *placementFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&p.scaleInterval, "scale-interval", 0, "with --cluster: how often the leader node checks each pipe's lag and adds or removes a member (Pipes checks every 1m); 0 runs every pipe on every node")
}

// waitRunner is the runner the lifecycle Manager holds in placement mode: the pipe is RUNNING in the
// cluster while the members that consume for it run where the leader placed them (cluster.Members).
type waitRunner struct{}

func (waitRunner) Run(ctx context.Context) error   { <-ctx.Done(); return nil }
func (waitRunner) Close(ctx context.Context) error { return nil }

// placementFactory is the Manager's Factory in placement mode.
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
