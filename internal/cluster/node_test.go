package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// cutDialer dials the broker until Cut, which closes every connection it made and refuses new ones:
// the node is cut off from Kafka as by a network partition (no LeaveGroup reaches the broker).
type cutDialer struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (d *cutDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut {
		return nil, errors.New("cut off")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *cutDialer) Cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = true
	for _, c := range d.conns {
		c.Close()
	}
}

// testNode is one in-process node; Apply records the pipes it was given.
type testNode struct {
	*Node
	id     string
	cancel context.CancelFunc
	done   chan error
	dialer *cutDialer
	mu     sync.Mutex
	pipes  []string
}

type fleet struct {
	t       *testing.T
	c       *kafkatest.Cluster
	name    string
	session time.Duration
	cfg     func(*Config)
	// build replaces NewNode (a test that wires nodes with Start).
	build func(ctx context.Context, cfg Config) (*Node, error)
}

func (f *fleet) start(id string, apply func(ctx context.Context, node string, pipes []string)) *testNode {
	t := f.t
	t.Helper()
	tn := &testNode{id: id, dialer: &cutDialer{}, done: make(chan error, 1)}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := Config{
		Kafka: []kgo.Opt{kgo.SeedBrokers(f.c.Bootstrap...), kgo.Dialer(tn.dialer.dial),
			kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelWarn, func() string { return id + " " }))},
		Name:           f.name,
		NodeID:         id,
		SessionTimeout: f.session,
		ScaleInterval:  time.Hour,
		PlaceInterval:  300 * time.Millisecond,
		Pipes:          func(context.Context) ([]Pipe, error) { return nil, nil },
		Lag:            func(context.Context, string) (int64, int, error) { return 0, 1, nil },
		Apply: func(ctx context.Context, pipes []string) {
			tn.mu.Lock()
			tn.pipes = pipes
			tn.mu.Unlock()
			if apply != nil {
				apply(ctx, id, pipes)
			}
		},
		Logger: log,
	}
	if f.cfg != nil {
		f.cfg(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	build := NewNode
	if f.build != nil {
		build = f.build
	}
	n, err := build(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	tn.Node, tn.cancel = n, cancel
	go func() { tn.done <- n.Run(ctx) }()
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) stop() {
	if tn.cancel == nil {
		return
	}
	tn.cancel()
	<-tn.done
	tn.cancel = nil
}

func leaders(nodes ...*testNode) []string {
	var out []string
	for _, n := range nodes {
		if n.cancel != nil && n.Leader() {
			out = append(out, n.id)
		}
	}
	return out
}

func waitOneLeader(t *testing.T, d time.Duration, nodes ...*testNode) string {
	t.Helper()
	var l []string
	kafkatest.Eventually(t, d, func() error {
		if l = leaders(nodes...); len(l) != 1 {
			return fmt.Errorf("leaders = %v, want exactly one", l)
		}
		return nil
	})
	return l[0]
}

// waitNodes waits until the broker lists every node in the control group (a real broker delays a
// group's first rebalance, and every join starts another).
func waitNodes(t *testing.T, d time.Duration, nodes ...*testNode) {
	t.Helper()
	start := time.Now()
	kafkatest.Eventually(t, d, func() error {
		got, err := nodes[0].el.Nodes(context.Background())
		if err != nil || len(got) != len(nodes) {
			return fmt.Errorf("control group members %v (err %v), want %d", got, err, len(nodes))
		}
		return nil
	})
	t.Logf("%d nodes in the control group after %s", len(nodes), time.Since(start).Round(100*time.Millisecond))
}

func byID(id string, nodes ...*testNode) *testNode {
	for _, n := range nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// each runs fn on kfake (accepting sessions down to 500 ms) and on the real broker.
func each(t *testing.T, fn func(t *testing.T, c *kafkatest.Cluster)) {
	t.Run("kfake", func(t *testing.T) { fn(t, kafkatest.Kfake(t, kfake.GroupMinSessionTimeout(500*time.Millisecond))) })
	t.Run("kafka", func(t *testing.T) { fn(t, kafkatest.Real(t)) })
}

// sessionFor is the shortest session timeout the cluster accepts (the real broker's
// group.min.session.timeout.ms is 6 s).
func sessionFor(c *kafkatest.Cluster) time.Duration {
	if c.Real {
		return 6 * time.Second
	}
	return 2 * time.Second
}

// TestElection: of three nodes exactly one leads; leadership moves when the leader stops (LeaveGroup:
// at once) and when it is cut off from Kafka (within the session timeout), and the cut-off node
// stops calling itself leader.
func TestElection(t *testing.T) {
	each(t, func(t *testing.T, c *kafkatest.Cluster) {
		f := &fleet{t: t, c: c, name: "sluice-" + kafkatest.TopicName(t), session: sessionFor(c)}
		nodes := []*testNode{f.start("n1", nil), f.start("n2", nil), f.start("n3", nil)}
		first := waitOneLeader(t, 30*time.Second, nodes...)
		t.Logf("leader: %s", first)

		stopped := time.Now()
		byID(first, nodes...).stop()
		second := waitOneLeader(t, 20*time.Second, nodes...)
		t.Logf("after %s stopped: %s leads (%s later)", first, second, time.Since(stopped).Round(time.Millisecond))

		cut := time.Now()
		dead := byID(second, nodes...)
		dead.dialer.Cut()
		var l []string
		kafkatest.Eventually(t, f.session*3, func() error {
			l = leaders(nodes...)
			if len(l) != 1 || l[0] == second {
				return fmt.Errorf("leaders = %v, want one other than the cut-off %s", l, second)
			}
			return nil
		})
		t.Logf("after %s was cut off: %s leads (%s later, session timeout %s)", second, l[0], time.Since(cut).Round(time.Millisecond), f.session)
	})
}

// TestPlacementFollowsNodes: pipes are spread over the nodes and each node is told its own; when a
// node is cut off, its members move to the live nodes.
//
// It runs on the real broker only. The move waits for the broker to expire the cut-off node's session
// in the control group, and kfake does not always do that: in 2 of 8 runs (session timeout 2 s) the
// leader's DescribeGroups still listed the cut-off member 46 s later, every 300 ms, while in the other
// runs the members moved in 2.4-2.8 s. What the test checks, Sluice's placement following the broker's
// view of the group, is the same on both; a broker that keeps a dead member is kfake's to fix.
func TestPlacementFollowsNodes(t *testing.T) {
	t.Run("kafka", func(t *testing.T) {
		c := kafkatest.Real(t)
		pipes := []Pipe{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}}
		f := &fleet{t: t, c: c, name: "sluice-" + kafkatest.TopicName(t), session: sessionFor(c), cfg: func(cfg *Config) {
			cfg.Pipes = func(context.Context) ([]Pipe, error) { return pipes, nil }
		}}
		nodes := []*testNode{f.start("n1", nil), f.start("n2", nil), f.start("n3", nil)}
		mine := func(n *testNode) []string { n.mu.Lock(); defer n.mu.Unlock(); return n.pipes }
		check := func(live []*testNode, per int) error {
			seen := map[string]int{}
			for _, n := range live {
				got := mine(n)
				if len(got) != per {
					return fmt.Errorf("node %s runs %v, want %d pipes", n.id, got, per)
				}
				for _, p := range got {
					seen[p]++
				}
			}
			for _, p := range pipes {
				if seen[p.Name] != 1 {
					return fmt.Errorf("pipe %s runs on %d nodes, want 1", p.Name, seen[p.Name])
				}
			}
			return nil
		}
		// Three nodes may join one by one: wait for the spread over all three.
		kafkatest.Eventually(t, 40*time.Second, func() error { return check(nodes, 2) })
		leader := waitOneLeader(t, 5*time.Second, nodes...)
		var victim *testNode
		var live []*testNode
		for _, n := range nodes {
			if n.id != leader && victim == nil {
				victim = n
			} else {
				live = append(live, n)
			}
		}
		cut := time.Now()
		victim.dialer.Cut()
		kafkatest.Eventually(t, f.session, func() error {
			if got := mine(victim); len(got) > 0 {
				return fmt.Errorf("cut-off node %s still runs %v", victim.id, got)
			}
			return nil
		})
		t.Logf("cut-off %s stopped its members after %s", victim.id, time.Since(cut).Round(time.Millisecond))
		kafkatest.Eventually(t, f.session*3+40*time.Second, func() error { return check(live, 3) }) // generous: a loaded CI machine
		t.Logf("members of cut-off %s moved in %s (session timeout %s)", victim.id, time.Since(cut).Round(time.Millisecond), f.session)
	})
}
