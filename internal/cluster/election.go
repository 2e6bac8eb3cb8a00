package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultSessionTimeout is the cluster's consumer-group session timeout: how long a node that died
// keeps its leadership and its members' partitions before the broker gives them to the others.
const DefaultSessionTimeout = 10 * time.Second

// Elector holds this node's membership in the control group; the member the broker assigns the
// control topic's only partition is the leader.
type Elector struct {
	cl    *kgo.Client
	adm   *kadm.Client
	group string
	node  string
	log   *slog.Logger

	mu      sync.Mutex
	leader  bool
	changed chan struct{} // closed and replaced when leader changes
}

// newElector joins the control group "<prefix>-control" as node, creating the control topic (one
// partition) when it is missing. opts carry the brokers and the cluster's credentials.
func newElector(ctx context.Context, opts []kgo.Opt, prefix, node string, session time.Duration, log *slog.Logger) (*Elector, error) {
	topic := prefix + "-control"
	e := &Elector{group: topic, node: node, log: log, changed: make(chan struct{})}
	adm, err := adminFor(opts)
	if err != nil {
		return nil, err
	}
	e.adm = adm
	if err := ensureTopic(ctx, adm, topic, nil); err != nil {
		adm.Close()
		return nil, err
	}
	all := append(append([]kgo.Opt{}, opts...),
		kgo.ClientID(node),
		kgo.ConsumerGroup(topic),
		kgo.ConsumeTopics(topic),
		kgo.SessionTimeout(session),
		kgo.HeartbeatInterval(session/5),
		kgo.RebalanceTimeout(2*session),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if len(m[topic]) > 0 {
				e.set(true)
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if len(m[topic]) > 0 {
				e.set(false)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			if len(m[topic]) > 0 {
				e.set(false)
			}
		}),
	)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		adm.Close()
		return nil, fmt.Errorf("joining the control group %s: %w", topic, err)
	}
	e.cl = cl
	return e, nil
}

func (e *Elector) set(leader bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == leader {
		return
	}
	e.leader = leader
	close(e.changed)
	e.changed = make(chan struct{})
	e.log.Info("cluster leadership changed", "leader", leader)
}

// Leader reports whether this node is the leader now, and a channel closed when that changes.
func (e *Elector) Leader() (bool, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader, e.changed
}

// run keeps the group session alive (polling the empty control topic) until ctx ends.
func (e *Elector) run(ctx context.Context) {
	for ctx.Err() == nil {
		e.cl.PollFetches(ctx)
	}
}

// close leaves the control group, so that leadership moves at once instead of after the session
// timeout.
func (e *Elector) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.cl.LeaveGroupContext(ctx); err != nil {
		e.log.Warn("leaving the control group", "group", e.group, "error", err)
	}
	e.set(false)
	e.cl.Close()
	e.adm.Close()
}

// Nodes returns the IDs of the live nodes: the members of the control group as the broker describes
// them, sorted. It also confirms this node's leadership: a leader that is not among the members (it
// was cut off and its session expired) is told so.
func (e *Elector) Nodes(ctx context.Context) ([]string, error) {
	described, err := e.adm.DescribeGroups(ctx, e.group)
	if err != nil {
		return nil, fmt.Errorf("describing the control group %s: %w", e.group, err)
	}
	g, ok := described[e.group]
	if !ok || g.Err != nil {
		return nil, fmt.Errorf("describing the control group %s: %w", e.group, errors.Join(g.Err, errNoGroup))
	}
	seen := map[string]bool{}
	var nodes []string
	for _, m := range g.Members {
		if !seen[m.ClientID] {
			seen[m.ClientID] = true
			nodes = append(nodes, m.ClientID)
		}
	}
	sort.Strings(nodes)
	return nodes, nil
}

var errNoGroup = errors.New("group not described")

// adminFor returns an admin client over the cluster's brokers.
func adminFor(opts []kgo.Opt) (*kadm.Client, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster's brokers: %w", err)
	}
	return kadm.NewClient(cl), nil
}

// ensureTopic creates a one-partition topic with configs unless it exists.
func ensureTopic(ctx context.Context, adm *kadm.Client, topic string, configs map[string]*string) error {
	res, err := adm.CreateTopic(ctx, 1, -1, configs, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating the cluster topic %s: %w", topic, err)
	}
	return nil
}
