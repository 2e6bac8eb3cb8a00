package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultScaleInterval is how often the leader checks each pipe's lag, as Pipes does.
const DefaultScaleInterval = time.Minute

// Pipe is a pipe the leader places: one whose desired state is RUNNING.
type Pipe struct {
	Name string
}

// Config configures a Node.
type Config struct {
	// Kafka are the cluster's brokers and credentials (kgo.SeedBrokers and the auth options).
	Kafka []kgo.Opt
	// Name prefixes the cluster's topics and groups: "<Name>-control", "<Name>-assignments".
	Name string
	// NodeID names this node ([a-zA-Z0-9._-]); members join pipe groups as "<group>-<NodeID>".
	NodeID string
	// SessionTimeout of the control group; zero means DefaultSessionTimeout.
	SessionTimeout time.Duration
	// ScaleInterval is how often the leader checks lags; zero means DefaultScaleInterval.
	ScaleInterval time.Duration
	// PlaceInterval is how often the leader re-places pipes without a lag check (new pipes, lost
	// nodes); zero means min(ScaleInterval, 2s).
	PlaceInterval time.Duration
	Policy        ScalePolicy
	// Pipes lists the pipes to run (desired state RUNNING), read by the leader at every pass.
	Pipes func(ctx context.Context) ([]Pipe, error)
	// Lag measures a pipe's total lag and its source's partition count (LagOf does, with kadm).
	Lag func(ctx context.Context, pipe string) (lag int64, partitions int, err error)
	// Status fills this node's status (throttling and owned partitions per pipe); nil publishes none.
	Status func() NodeStatus
	// Apply is called, on the node's own goroutine, with the pipes this node must run a member of,
	// each time that set changes (and once at start, after the node has read the assignments).
	Apply func(ctx context.Context, pipes []string)
	// StatusInterval is how often the node publishes its status; zero means min(ScaleInterval/2, 5s).
	StatusInterval time.Duration
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
}

// Node is one cluster member: it takes part in the election, runs the leader's loop while it leads,
// and applies the assignments to itself.
type Node struct {
	cfg     Config
	el      *Elector
	board   *board
	metrics *nodeMetrics

	mu    sync.Mutex
	state map[string]*pipeState // the leader's memory of each pipe, by name

	fenceMu sync.Mutex
	fenced  bool          // this node could not confirm its membership for FenceAfter: members stopped
	fenceCh chan struct{} // closed and replaced when fenced changes
}

type pipeState struct {
	prevLag   int64
	idleRun   int
	throttled map[string]float64 // node -> cumulative count at the last check
}

// NewNode joins the cluster: it creates the cluster's topics when they are missing and joins the
// control group. Run drives it.
func NewNode(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.NodeID == "" || cfg.Name == "" {
		return nil, errors.New("cluster: a node needs a cluster name and a node ID")
	}
	if cfg.Pipes == nil || cfg.Lag == nil || cfg.Apply == nil {
		return nil, errors.New("cluster: Pipes, Lag and Apply are required")
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.ScaleInterval == 0 {
		cfg.ScaleInterval = DefaultScaleInterval
	}
	if cfg.PlaceInterval == 0 {
		cfg.PlaceInterval = min(cfg.ScaleInterval, 2*time.Second)
	}
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = min(cfg.ScaleInterval/2, 5*time.Second)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("node", cfg.NodeID)
	el, err := newElector(ctx, cfg.Kafka, cfg.Name, cfg.NodeID, cfg.SessionTimeout, cfg.Logger)
	if err != nil {
		return nil, err
	}
	b, err := newBoard(ctx, cfg.Kafka, el.adm, cfg.Name, cfg.Logger)
	if err != nil {
		el.close()
		return nil, err
	}
	return &Node{cfg: cfg, el: el, board: b, metrics: newNodeMetrics(cfg.Registerer), state: map[string]*pipeState{},
		fenceCh: make(chan struct{})}, nil
}

// Run runs the node until ctx ends, then leaves the control group (leadership moves at once) and
// calls Apply with no pipes.
func (n *Node) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	inner, cancel := context.WithCancel(ctx)
	wg.Go(func() { n.el.run(inner) })
	wg.Go(func() { n.board.run(inner) })
	wg.Go(func() { n.publishStatus(inner) })
	wg.Go(func() { n.lead(inner) })
	wg.Go(func() { n.watchMembership(inner) })
	err := n.follow(inner)
	cancel()
	// Closing the board's client fails its buffered writes: a cut-off node's ProduceSync would
	// otherwise wait for a broker that never answers.
	n.board.cl.Close()
	wg.Wait()
	n.el.close()
	n.cfg.Apply(context.WithoutCancel(ctx), nil)
	n.metrics.clear()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// follow calls Apply with this node's pipes whenever the board changes them.
func (n *Node) follow(ctx context.Context) error {
	if err := n.board.catchUp(ctx); err != nil {
		return err
	}
	var last []string
	first := true
	for {
		_, pipes, _, changed := n.board.snapshot()
		mine := nodesOf(pipes, n.cfg.NodeID)
		n.metrics.observe(pipes)
		fenced, fenceCh := n.fence()
		if fenced {
			mine = nil
		}
		if first || !slices.Equal(mine, last) {
			n.cfg.Logger.Info("cluster members assigned to this node", "pipes", mine)
			n.cfg.Apply(ctx, mine)
			last, first = mine, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-fenceCh:
		}
	}
}

func (n *Node) fence() (bool, <-chan struct{}) {
	n.fenceMu.Lock()
	defer n.fenceMu.Unlock()
	return n.fenced, n.fenceCh
}

func (n *Node) setFenced(f bool) {
	n.fenceMu.Lock()
	defer n.fenceMu.Unlock()
	if n.fenced == f {
		return
	}
	n.fenced = f
	close(n.fenceCh)
	n.fenceCh = make(chan struct{})
	if f {
		n.cfg.Logger.Warn("cluster membership not confirmed: stopping this node's members (fenced)", "fence_after", n.fenceAfter())
	} else {
		n.cfg.Logger.Info("cluster membership confirmed again: running this node's members")
	}
}

// fenceAfter is how long a node that cannot confirm its membership keeps its members: two thirds of
// the session timeout, so that they stop before the broker can expire the node's sessions and give
// its partitions to other nodes (no zombie delivers what another member also delivers).
func (n *Node) fenceAfter() time.Duration { return n.cfg.SessionTimeout * 2 / 3 }

// watchMembership asks the broker, every fifth of the session timeout, whether this node is still a
// member of the control group; without a yes for fenceAfter the node is fenced: Apply gets no pipes
// until the broker lists it again.
func (n *Node) watchMembership(ctx context.Context) {
	every := n.cfg.SessionTimeout / 5
	t := time.NewTicker(every)
	defer t.Stop()
	confirmed := time.Now()
	for {
		cctx, cancel := context.WithTimeout(ctx, every)
		nodes, err := n.el.Nodes(cctx)
		cancel()
		switch {
		case err == nil && slices.Contains(nodes, n.cfg.NodeID):
			confirmed = time.Now()
			n.setFenced(false)
		case time.Since(confirmed) >= n.fenceAfter():
			n.setFenced(true)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) publishStatus(ctx context.Context) {
	if n.cfg.Status == nil {
		return
	}
	t := time.NewTicker(n.cfg.StatusInterval)
	defer t.Stop()
	for {
		s := n.cfg.Status()
		s.Node, s.Time = n.cfg.NodeID, time.Now().UTC()
		n.metrics.setOwned(s.Partitions)
		if err := n.board.produce(ctx, keyNode+n.cfg.NodeID, s); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("publishing the node status", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lead waits for leadership and runs the leader's passes while it lasts.
func (n *Node) lead(ctx context.Context) {
	for {
		leader, changed := n.el.Leader()
		if leader {
			lctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				n.leaderLoop(lctx)
			}()
			select {
			case <-ctx.Done():
			case <-changed:
			}
			cancel()
			<-done
		} else {
			select {
			case <-ctx.Done():
			case <-changed:
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
}

func (n *Node) leaderLoop(ctx context.Context) {
	log := n.cfg.Logger
	// Claim an epoch above every earlier leader's, after reading all they wrote.
	if err := n.board.catchUp(ctx); err != nil {
		log.Warn("leader: reading the assignments", "error", err)
		return
	}
	epoch, _, _, _ := n.board.snapshot()
	epoch++
	if err := n.board.produce(ctx, keyLeader, LeaderRecord{Node: n.cfg.NodeID, Epoch: epoch}); err != nil {
		log.Warn("leader: claiming the epoch", "error", err)
		return
	}
	log.Info("cluster leader elected", "epoch", epoch)
	n.mu.Lock()
	n.state = map[string]*pipeState{} // lags seen by an earlier term are stale
	n.mu.Unlock()
	place := time.NewTicker(n.cfg.PlaceInterval)
	defer place.Stop()
	lastScale := time.Now()
	for {
		scale := time.Since(lastScale) >= n.cfg.ScaleInterval
		if scale {
			lastScale = time.Now()
		}
		if err := n.pass(ctx, epoch, scale); err != nil && ctx.Err() == nil {
			log.Warn("leader: placement pass", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-place.C:
		}
	}
}

// pass places every running pipe; with scale it first decides each pipe's member count from its lag.
func (n *Node) pass(ctx context.Context, epoch int64, scale bool) error {
	nodes, err := n.el.Nodes(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(nodes, n.cfg.NodeID) {
		return fmt.Errorf("this node is not a member of the control group (cut off?): not placing")
	}
	pipes, err := n.cfg.Pipes(ctx)
	if err != nil {
		return fmt.Errorf("listing pipes: %w", err)
	}
	_, current, statuses, _ := n.board.snapshot()
	want := map[string]int{}
	reasons := map[string]string{}
	cur := map[string][]string{}
	n.mu.Lock()
	for name := range n.state {
		if !slices.ContainsFunc(pipes, func(p Pipe) bool { return p.Name == name }) {
			delete(n.state, name)
		}
	}
	n.mu.Unlock()
	for _, p := range pipes {
		a := current[p.Name]
		cur[p.Name] = a.Nodes
		members := len(a.Nodes)
		want[p.Name], reasons[p.Name] = members, a.Reason
		if members == 0 {
			want[p.Name], reasons[p.Name] = 1, ReasonStart
			n.record(p.Name, Decision{Direction: Up, Members: 1, Reason: ReasonStart}, Sample{Nodes: len(nodes)})
			continue
		}
		live := 0
		for _, node := range a.Nodes {
			if slices.Contains(nodes, node) {
				live++
			}
		}
		if !scale {
			if live < members {
				// A node died: its members move now (Place keeps the count on the live nodes).
				want[p.Name] = min(members, len(nodes))
			}
			continue
		}
		lag, parts, err := n.cfg.Lag(ctx, p.Name)
		if err != nil {
			n.cfg.Logger.Warn("leader: measuring lag; keeping the members", "pipe", p.Name, "error", err)
			continue
		}
		n.mu.Lock()
		st := n.state[p.Name]
		if st == nil {
			st = &pipeState{prevLag: -1, throttled: map[string]float64{}}
			n.state[p.Name] = st
		}
		var throttled float64
		for node, s := range statuses {
			c := s.Throttled[p.Name]
			if prev, ok := st.throttled[node]; ok && c >= prev {
				throttled += c - prev
			} else if ok {
				throttled += c // the node restarted: its counter did too
			}
			st.throttled[node] = c
		}
		s := Sample{Members: members, Partitions: parts, Nodes: len(nodes), Lag: lag, PrevLag: st.prevLag,
			IdleRun: st.idleRun, Throttled: int64(throttled)}
		d := Decide(s, n.cfg.Policy)
		st.prevLag, st.idleRun = lag, d.IdleRun
		n.mu.Unlock()
		want[p.Name], reasons[p.Name] = d.Members, d.Reason
		n.record(p.Name, d, s)
	}
	placed := Place(want, cur, nodes)
	for name, ns := range placed {
		if slices.Equal(ns, current[name].Nodes) && current[name].Epoch == epoch && current[name].Reason == reasons[name] {
			continue
		}
		a := Assignment{Pipe: name, Nodes: ns, Epoch: epoch, Leader: n.cfg.NodeID, Reason: reasons[name]}
		if err := n.board.produce(ctx, keyPipe+name, a); err != nil {
			return err
		}
	}
	for name := range current {
		if _, ok := placed[name]; !ok {
			if err := n.board.produce(ctx, keyPipe+name, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// record logs and counts a decision that changes something.
func (n *Node) record(pipe string, d Decision, s Sample) {
	if d.Direction == Hold {
		n.cfg.Logger.Debug("scaling decision", "pipe", pipe, "direction", d.Direction.String(), "members", d.Members,
			"reason", d.Reason, "lag", s.Lag, "previous_lag", s.PrevLag)
		return
	}
	n.metrics.decisions.WithLabelValues(d.Direction.String(), d.Reason).Inc()
	n.cfg.Logger.Info("scaling decision", "pipe", pipe, "direction", d.Direction.String(), "members", d.Members,
		"reason", d.Reason, "lag", s.Lag, "previous_lag", s.PrevLag, "partitions", s.Partitions, "nodes", s.Nodes,
		"throttled", s.Throttled)
}

// Leader reports whether this node leads the cluster now.
func (n *Node) Leader() bool {
	l, _ := n.el.Leader()
	return l
}

// Assignments returns the nodes of every placed pipe, as this node has read them.
func (n *Node) Assignments() map[string][]string {
	_, pipes, _, _ := n.board.snapshot()
	out := make(map[string][]string, len(pipes))
	for name, a := range pipes {
		out[name] = a.Nodes
	}
	return out
}
