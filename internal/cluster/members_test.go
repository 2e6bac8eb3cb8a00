package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
	_ "github.com/sluicehq/sluice/internal/target/http" // the http:// target
)

// sink is the pipe's HTTP target: it records every record value delivered, answers after delay,
// or 429 while throttle is set.
type sink struct {
	delay    atomic.Int64 // per request, in milliseconds
	throttle atomic.Bool

	mu   sync.Mutex
	got  map[string]int
	last time.Time
}

var valueRE = regexp.MustCompile(`"value":"([^"]*)"`)

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	time.Sleep(time.Duration(s.delay.Load()) * time.Millisecond)
	if s.throttle.Load() {
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.mu.Lock()
	for _, m := range valueRE.FindAllSubmatch(body, -1) {
		v, err := base64.StdEncoding.DecodeString(string(m[1]))
		if err == nil {
			s.got[string(v)]++
		}
	}
	s.last = time.Now()
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *sink) distinct() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got), s.last
}

// TestMembersRunPipes runs three in-process nodes over one store (as the Kafka-topic store gives every
// node the same pipes), each with its own runtime metrics and Members running the real pipe runtime
// against an HTTP target. A backlog on a 12-partition topic grows the pipe to a member on each node;
// a target answering 429 shrinks it; StopPipe (the desired state written once) stops every node's
// member; StartPipe resumes; a node cut off from Kafka stops its member and its partitions resume
// on the others. Every record is delivered.
func TestMembersRunPipes(t *testing.T) {
	each(t, func(t *testing.T, c *kafkatest.Cluster) {
		pf := newPipeFleet(t, c)
		sk, topic, f, nodes, mu, running, regs := pf.sk, pf.topic, pf.f, pf.nodes, &pf.mu, pf.running, pf.regs
		setDesired, waitMembers, produce := pf.setDesired, pf.waitMembers, pf.produce
		waitMembers("start", 1, 30*time.Second)

		// A slow target and a backlog: one member per node.
		sk.delay.Store(20)
		produce(6000)
		waitMembers("backlog", 3, 40*time.Second)
		// Each node's /metrics: the pipe's 3 members, its own share of the 12 partitions, and on the
		// leader the decisions that grew the pipe.
		kafkatest.Eventually(t, 20*time.Second, func() error {
			owned := 0
			for _, n := range nodes {
				mu.Lock()
				reg := regs[n.id]
				mu.Unlock()
				if got := gauge(t, reg, "sluice_cluster_pipe_members", "orders"); got != 3 {
					return fmt.Errorf("node %s: sluice_cluster_pipe_members = %v, want 3", n.id, got)
				}
				owned += int(gauge(t, reg, "sluice_cluster_owned_partitions", "orders"))
			}
			if owned != 12 {
				return fmt.Errorf("sluice_cluster_owned_partitions sum to %d over the nodes, want 12", owned)
			}
			return nil
		})
		leaderReg := regs[leaders(nodes...)[0]]
		if up := gauge(t, leaderReg, "sluice_cluster_scaling_decisions_total", "lag_growing"); up < 2 {
			t.Errorf("leader's sluice_cluster_scaling_decisions_total{direction=up,reason=lag_growing} = %v, want >= 2", up)
		}

		// 429s: the pipe shrinks to one member although the lag is high.
		sk.throttle.Store(true)
		waitMembers("target answering 429", 1, 40*time.Second)
		sk.throttle.Store(false)
		sk.delay.Store(0)

		// StopPipe: no node delivers within 5 s.
		setDesired(pipe.StateStopped)
		stopped := time.Now()
		waitMembers("stopped", 0, 5*time.Second)
		time.Sleep(500 * time.Millisecond)
		_, last := sk.distinct()
		if last.After(stopped.Add(5 * time.Second)) {
			t.Errorf("a delivery at %s, more than 5 s after StopPipe at %s", last, stopped)
		}
		n0, _ := sk.distinct()
		time.Sleep(time.Second)
		if n1, _ := sk.distinct(); n1 != n0 {
			t.Errorf("deliveries went on after StopPipe: %d then %d", n0, n1)
		}
		t.Logf("StopPipe: every member stopped in %s", time.Since(stopped).Round(100*time.Millisecond))

		// StartPipe resumes from the committed offsets; then one node is cut off from Kafka.
		setDesired(pipe.StateRunning)
		waitMembers("started", 1, 20*time.Second)
		sk.delay.Store(20)
		produce(3000)
		waitMembers("backlog after StartPipe", 3, 40*time.Second)
		leader := leaders(nodes...)[0]
		var victim *testNode
		for _, n := range nodes {
			if n.id != leader {
				victim = n
				break
			}
		}
		cut := time.Now()
		victim.dialer.Cut()
		kafkatest.Eventually(t, f.session, func() error {
			mu.Lock()
			defer mu.Unlock()
			if r := running[victim.id].Running(); len(r) > 0 {
				return fmt.Errorf("cut-off node %s still runs %v", victim.id, r)
			}
			return nil
		})
		t.Logf("cut-off %s stopped its member after %s", victim.id, time.Since(cut).Round(100*time.Millisecond))
		// The broker's view of the pipe's group (named after the topic by ConsumerGroupID): the cut-off node's member is gone (it left when the
		// node fenced itself) and the two live members own all 12 partitions.
		adm := c.Admin(t)
		kafkatest.Eventually(t, 3*f.session+10*time.Second, func() error {
			described, err := adm.DescribeGroups(context.Background(), topic)
			if err != nil {
				return err
			}
			g := described[topic]
			parts := 0
			for _, m := range g.Members {
				if a, ok := m.Assigned.AsConsumer(); ok {
					for _, tp := range a.Topics {
						parts += len(tp.Partitions)
					}
				}
			}
			for _, m := range g.Members {
				// Static members named after the pipe's group and the node; the cut-off node's is gone.
				if id := deref(m.InstanceID); id == topic+"-"+victim.id || !strings.HasPrefix(id, topic+"-n") {
					return fmt.Errorf("group %s: member with group.instance.id %q", topic, id)
				}
			}
			if g.State != "Stable" || len(g.Members) != 2 || parts != 12 {
				return fmt.Errorf("group %s: %s, %d members owning %d partitions; want Stable, 2 owning 12", topic, g.State, len(g.Members), parts)
			}
			return nil
		})
		t.Logf("broker: the pipe's group is Stable with 2 members owning the 12 partitions %s after the cut", time.Since(cut).Round(100*time.Millisecond))
		sk.delay.Store(0)
		kafkatest.Eventually(t, 60*time.Second, func() error {
			if n, _ := sk.distinct(); n != pf.produced {
				return fmt.Errorf("delivered %d distinct records, want %d", n, pf.produced)
			}
			return nil
		})
		sk.mu.Lock()
		dups := 0
		for _, n := range sk.got {
			dups += n - 1
		}
		sk.mu.Unlock()
		t.Logf("delivered all %d records (%d redelivered); finished %s after the cut", pf.produced, dups, time.Since(cut).Round(100*time.Millisecond))
	})
}

// gauge returns the value of the series of name whose labels include the value label (0 if absent).
func gauge(t *testing.T, g prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestRollingRestart restarts the three nodes one after the other (a clean stop, then a new process
// with the same node ID) while the pipe delivers: nothing is lost and the pipe keeps running.
func TestRollingRestart(t *testing.T) {
	each(t, func(t *testing.T, c *kafkatest.Cluster) {
		pf := newPipeFleet(t, c)
		pf.waitMembers("start", 1, 30*time.Second)
		pf.sk.delay.Store(5)
		pf.produce(3000)
		pf.waitMembers("backlog", 3, 40*time.Second)
		for i, n := range pf.nodes {
			restart := time.Now()
			n.stop()
			pf.nodes[i] = pf.f.start(n.id, nil)
			pf.produce(500)
			waitNodes(t, 30*time.Second, pf.nodes...)
			kafkatest.Eventually(t, 30*time.Second, func() error {
				if pf.members() == 0 {
					return fmt.Errorf("no member runs the pipe")
				}
				return nil
			})
			t.Logf("node %s restarted; %d members %s later", n.id, pf.members(), time.Since(restart).Round(100*time.Millisecond))
		}
		pf.sk.delay.Store(0)
		dups := pf.waitDelivered(60 * time.Second)
		if pf.members() == 0 {
			t.Error("the pipe has no member after the rolling restart")
		}
		t.Logf("rolling restart: all %d records delivered (%d redelivered), %d members at the end", pf.produced, dups, pf.members())
	})
}

// pipeFleet is three in-process nodes wired with Start over one store holding the RUNNING pipe
// "orders" (12-partition topic, HTTP target sk, consumer group named after the topic).
type pipeFleet struct {
	t        *testing.T
	c        *kafkatest.Cluster
	st       store.Store
	sk       *sink
	topic    string
	f        *fleet
	nodes    []*testNode
	mu       sync.Mutex
	running  map[string]*Members
	regs     map[string]*prometheus.Registry
	produced int
}

func newPipeFleet(t *testing.T, c *kafkatest.Cluster) *pipeFleet {
	pf := &pipeFleet{t: t, c: c, sk: &sink{got: map[string]int{}}, running: map[string]*Members{}, regs: map[string]*prometheus.Registry{}}
	st, err := store.Open(t.TempDir(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pf.st = st
	t.Cleanup(func() { st.Close() })
	target := httptest.NewServer(pf.sk)
	t.Cleanup(target.Close)
	topic := c.CreateTopic(t, 12)
	pf.topic = topic
	body := fmt.Sprintf(`{"Source":"smk://%s","Target":"%s/events","DesiredState":"RUNNING",
		"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":%q,"StartingPosition":"TRIM_HORIZON","BatchSize":1,
		"ConsumerGroupID":%q}}}`, c.Bootstrap[0], target.URL, topic, topic)
	def, err := pipe.Load([]byte(body), plugin.Default, func(d *pipe.Definition) error { d.Name = "orders"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(def)
	now := time.Now().UTC()
	if err := st.Create(t.Context(), &store.Record{Name: "orders", Definition: raw, DesiredState: pipe.StateRunning,
		CurrentState: pipe.StateRunning, CreationTime: now, LastModifiedTime: now}, 10); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	pf.f = &fleet{t: t, c: c, name: "sluice-" + kafkatest.TopicName(t), session: sessionFor(c)}
	pf.f.build = func(ctx context.Context, cfg Config) (*Node, error) {
		// Start wires the node as `sluice serve --cluster` does; cfg.Kafka carries the test's dialer.
		reg := prometheus.NewRegistry()
		n, ms, err := Start(ctx, st, supervisor.RuntimeFactory(supervisor.RuntimeOptions{Deps: runtime.Deps{
			Secrets: &secret.Resolver{}, DrainTimeout: 3 * time.Second, Metrics: reg, Logger: log.With("node", cfg.NodeID),
			SessionTimeout: 6 * time.Second, // the source's minimum
			Retry:          runtime.Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond},
		}, PreflightTimeout: 5 * time.Second, InstanceID: InstanceIDFor(cfg.NodeID)}), NodeOptions{
			Kafka: cfg.Kafka, Name: cfg.Name, NodeID: cfg.NodeID, SessionTimeout: cfg.SessionTimeout,
			ScaleInterval: time.Second, Policy: ScalePolicy{IdleLag: 10, IdleChecks: 3, HighLag: 200},
			StopTimeout: 10 * time.Second, Secrets: &secret.Resolver{}, Metrics: reg, Logger: log,
			placeInterval: 250 * time.Millisecond, statusInterval: 250 * time.Millisecond,
		})
		if err == nil {
			pf.mu.Lock()
			if old := pf.running[cfg.NodeID]; old != nil {
				old.Close() // a restarted node: its previous members stopped with its Run
			}
			pf.running[cfg.NodeID], pf.regs[cfg.NodeID] = ms, reg
			pf.mu.Unlock()
		}
		return n, err
	}
	pf.nodes = []*testNode{pf.f.start("n1", nil), pf.f.start("n2", nil), pf.f.start("n3", nil)}
	t.Cleanup(func() {
		for _, n := range pf.nodes {
			n.stop()
		}
		for _, ms := range pf.running {
			ms.Close()
		}
	})
	waitOneLeader(t, 30*time.Second, pf.nodes...)
	waitNodes(t, 30*time.Second, pf.nodes...)
	return pf
}

func (pf *pipeFleet) setDesired(state string) {
	if _, err := pf.st.Update(pf.t.Context(), "orders", func(r *store.Record) error { r.DesiredState = state; return nil }); err != nil {
		pf.t.Fatal(err)
	}
}

// members counts the nodes running a member of the pipe.
func (pf *pipeFleet) members() int {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	n := 0
	for _, ms := range pf.running {
		n += len(ms.Running())
	}
	return n
}

func (pf *pipeFleet) waitMembers(what string, want int, d time.Duration) {
	t := pf.t
	t.Helper()
	start := time.Now()
	kafkatest.Eventually(t, d, func() error {
		if got := pf.members(); got != want {
			return fmt.Errorf("%s: %d members, want %d", what, got, want)
		}
		return nil
	})
	t.Logf("%s: %d members after %s", what, want, time.Since(start).Round(100*time.Millisecond))
}

func (pf *pipeFleet) produce(n int) {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: pf.topic, Partition: int32(i % 12), Value: []byte("r-" + strconv.Itoa(pf.produced+i))}
	}
	pf.c.Produce(pf.t, recs...)
	pf.produced += n
}

// waitDelivered waits until every record produced was delivered and returns the redeliveries.
func (pf *pipeFleet) waitDelivered(d time.Duration) int {
	kafkatest.Eventually(pf.t, d, func() error {
		if n, _ := pf.sk.distinct(); n != pf.produced {
			return fmt.Errorf("delivered %d distinct records, want %d", n, pf.produced)
		}
		return nil
	})
	pf.sk.mu.Lock()
	defer pf.sk.mu.Unlock()
	dups := 0
	for _, n := range pf.sk.got {
		dups += n - 1
	}
	return dups
}
