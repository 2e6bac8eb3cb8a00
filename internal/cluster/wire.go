package cluster

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// NodeOptions are what `sluice serve --cluster` gives Start.
type NodeOptions struct {
	Kafka          []kgo.Opt // the cluster's brokers and credentials
	Name           string    // --cluster-name
	NodeID         string    // --node-id
	SessionTimeout time.Duration
	ScaleInterval  time.Duration // --scale-interval
	Policy         ScalePolicy
	// StopTimeout bounds a member's drain when it stops on this node.
	StopTimeout time.Duration
	// Secrets resolve the pipes' source credentials for the leader's lag checks.
	Secrets plugin.SecretResolver
	// Metrics is the node's registry: the runtime's throttling counters are read from it (the target's
	// overload signal) and the cluster series registered on it.
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	// placeInterval and statusInterval shorten the node's loops in tests; zero takes the defaults.
	placeInterval, statusInterval time.Duration
}

// Start wires a cluster node over the store every node shares and the supervisor's Factory: Members
// runs the pipes the leader assigns to this node, the store's Watch restarts or stops them when a
// definition or desired state changes (on any node), the leader reads the running pipes and their lag
// from the store and the pipes' own brokers, and the node's status carries the target's throttling
// and the partitions its members own. Run the returned Node; close the Members after it returns.
func Start(ctx context.Context, st store.Store, factory supervisor.Factory, o NodeOptions) (*Node, *Members, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ms := NewMembers(st, factory, o.StopTimeout, log.With("node", o.NodeID))
	cfg := Config{
		Kafka: o.Kafka, Name: o.Name, NodeID: o.NodeID, SessionTimeout: o.SessionTimeout,
		ScaleInterval: o.ScaleInterval, PlaceInterval: o.placeInterval, StatusInterval: o.statusInterval,
		Policy: o.Policy,
		Pipes:  RunningPipes(st),
		Lag:    PipeLag(st, o.Secrets, log),
		Apply:  ms.Apply,
		Logger: log,
	}
	if o.Metrics != nil {
		cfg.Registerer = o.Metrics
		cfg.Status = func() NodeStatus { return NodeStatus{Throttled: ThrottledFrom(o.Metrics), Partitions: ms.Owned()} }
	} else {
		cfg.Status = func() NodeStatus { return NodeStatus{Partitions: ms.Owned()} }
	}
	n, err := NewNode(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	st.Watch(ctx, func(name string) { ms.Refresh(ctx, name) })
	return n, ms, nil
}
