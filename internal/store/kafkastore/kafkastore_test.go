package kafkastore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/store/storetest"
)

// clusterName returns a unique cluster name and deletes its topics when the test ends.
func clusterName(t *testing.T, c *kafkatest.Cluster) string {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := "test-" + hex.EncodeToString(b[:])
	if c.Real {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...))
			if err != nil {
				return
			}
			defer cl.Close()
			_, _ = kadm.NewClient(cl).DeleteTopics(ctx, "__sluice-"+name+"-pipes", "__sluice-"+name+"-status")
		})
	}
	return name
}

func openNode(t *testing.T, c *kafkatest.Cluster, cluster, node string, mod ...func(*Options)) *Store {
	t.Helper()
	o := Options{Brokers: c.Bootstrap, Cluster: cluster, Node: node, WriteTimeout: 10 * time.Second,
		HeartbeatInterval: 200 * time.Millisecond, NodeTimeout: 2 * time.Second}
	for _, m := range mod {
		m(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open(%s, %s): %v", cluster, node, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newRecord(name string) *store.Record {
	now := time.Now().UTC()
	return &store.Record{Name: name, Definition: json.RawMessage(`{"Source":"smk://x"}`), DesiredState: "STOPPED",
		CurrentState: "STOPPED", Tags: map[string]string{"k": "v"}, CreationTime: now, LastModifiedTime: now}
}

func TestWritesSeenOnEveryNode(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		cluster := clusterName(t, c)
		a, b := openNode(t, c, cluster, "a"), openNode(t, c, cluster, "b")
		if err := a.Create(ctx, newRecord("p1"), 0); err != nil {
			t.Fatalf("Create on a: %v", err)
		}
		// Read-your-writes: the writer sees its write at once.
		if r, err := a.Get(ctx, "p1"); err != nil || r.Revision != 1 {
			t.Fatalf("Get on a after Create = %+v, %v; want revision 1", r, err)
		}
		kafkatest.Eventually(t, 2*time.Second, func() error {
			_, err := b.Get(ctx, "p1")
			return err
		})
		r, err := b.Update(ctx, "p1", func(r *store.Record) error { r.DesiredState = "RUNNING"; r.Tags["t"] = "2"; return nil })
		if err != nil || r.Revision != 2 {
			t.Fatalf("Update on b = %+v, %v; want revision 2", r, err)
		}
		kafkatest.Eventually(t, 2*time.Second, func() error {
			r, err := a.Get(ctx, "p1")
			if err != nil {
				return err
			}
			if r.DesiredState != "RUNNING" || r.Tags["t"] != "2" || r.Revision != 2 {
				return fmt.Errorf("a sees %+v", r)
			}
			return nil
		})
		if err := a.Delete(ctx, "p1"); err != nil {
			t.Fatalf("Delete on a: %v", err)
		}
		kafkatest.Eventually(t, 2*time.Second, func() error {
			if _, err := b.Get(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("b: Get after delete = %v, want ErrNotFound", err)
			}
			return nil
		})
		if err := b.Delete(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second Delete = %v, want ErrNotFound", err)
		}
		// Re-created after a delete: a new record, revision 1.
		if err := b.Create(ctx, newRecord("p1"), 0); err != nil {
			t.Fatalf("re-Create on b: %v", err)
		}
		if r, _ := b.Get(ctx, "p1"); r == nil || r.Revision != 1 {
			t.Errorf("re-created revision = %+v, want 1", r)
		}
		if n, _ := b.Count(ctx); n != 1 {
			t.Errorf("Count = %d, want 1", n)
		}
	})
}

// TestConcurrentCreatesOneWins creates one name on two nodes at once, many times: exactly one create
// succeeds, the other answers ErrExists, and both nodes hold the winner's record.
func TestConcurrentCreatesOneWins(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		cluster := clusterName(t, c)
		nodes := []*Store{openNode(t, c, cluster, "a"), openNode(t, c, cluster, "b")}
		const rounds = 40
		for i := range rounds {
			name := fmt.Sprintf("race-%d", i)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for j, n := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := newRecord(name)
					r.Tags = map[string]string{"by": n.Node()}
					<-start
					errs[j] = n.Create(ctx, r, 0)
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			winner := ""
			for j, err := range errs {
				switch {
				case err == nil:
					won++
					winner = nodes[j].Node()
				case !errors.Is(err, store.ErrExists):
					t.Fatalf("round %d: Create on %s = %v, want nil or ErrExists", i, nodes[j].Node(), err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d creates succeeded (%v), want exactly 1", i, won, errs)
			}
			for _, n := range nodes {
				kafkatest.Eventually(t, 2*time.Second, func() error {
					r, err := n.Get(ctx, name)
					if err != nil {
						return err
					}
					if r.Tags["by"] != winner {
						return fmt.Errorf("round %d: node %s holds the record of %s, want the winner %s", i, n.Node(), r.Tags["by"], winner)
					}
					return nil
				})
			}
		}
	})
}

// TestConcurrentUpdatesConflict updates one pipe on two nodes from the same revision: one wins, the
// other answers ErrConflict, and the loser's reassert leaves the winner's state as the key's last record.
func TestConcurrentUpdatesConflict(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		cluster := clusterName(t, c)
		a, b := openNode(t, c, cluster, "a"), openNode(t, c, cluster, "b")
		if err := a.Create(ctx, newRecord("p"), 0); err != nil {
			t.Fatal(err)
		}
		kafkatest.Eventually(t, 2*time.Second, func() error { _, err := b.Get(ctx, "p"); return err })
		for i := range 10 {
			var read sync.WaitGroup // both have read before either writes
			read.Add(2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for j, n := range []*Store{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[j] = n.Update(ctx, "p", func(r *store.Record) error {
						read.Done()
						read.Wait()
						r.Tags = map[string]string{"by": fmt.Sprintf("%s-%d", n.Node(), i)}
						return nil
					})
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else if !errors.Is(err, store.ErrConflict) {
					t.Fatalf("round %d: Update = %v, want nil or ErrConflict", i, err)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d updates succeeded (%v), want 1", i, ok, errs)
			}
			// The nodes agree, and reading the log's last record per key (what compaction keeps) gives
			// the same state.
			ra, _ := a.Get(ctx, "p")
			kafkatest.Eventually(t, 2*time.Second, func() error {
				rb, err := b.Get(ctx, "p")
				if err != nil || rb.Revision != ra.Revision || rb.Tags["by"] != ra.Tags["by"] {
					return fmt.Errorf("b holds %+v (%v), a holds %+v", rb, err, ra)
				}
				return nil
			})
		}
		compacted := readCompacted(t, c, cluster)
		ra, _ := a.Get(ctx, "p")
		if e := compacted["p"]; e == nil || !e.live || e.rec.Revision != ra.Revision || e.rec.Tags["by"] != ra.Tags["by"] {
			t.Errorf("the compacted log's state of p = %+v, want revision %d by %s", e, ra.Revision, ra.Tags["by"])
		}
	})
}

// readCompacted reads the pipes topic, keeps each key's last record as compaction would, and applies
// those records to an empty state, as a node started after compaction does.
func readCompacted(t *testing.T, c *kafkatest.Cluster, cluster string) map[string]*entry {
	t.Helper()
	cl := c.Client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"__sluice-" + cluster + "-pipes": {0: kgo.NewOffset().AtStart()}}))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, "__sluice-"+cluster+"-pipes")
	if err != nil {
		t.Fatal(err)
	}
	end := ends["__sluice-"+cluster+"-pipes"][0].Offset
	var last []*kgo.Record
	index := map[string]int{}
	for next := int64(0); next < end; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			if i, ok := index[string(r.Key)]; ok {
				last[i] = nil
			}
			index[string(r.Key)] = len(last)
			last = append(last, r)
		})
	}
	state := map[string]*entry{}
	for _, r := range last {
		if r == nil {
			continue
		}
		o, err := decodeOp(r)
		if err != nil {
			t.Fatal(err)
		}
		if next, _, _ := apply(state[o.name], o, 0); next != nil {
			state[o.name] = next
		}
	}
	return state
}

// TestNewNodeCatchesUp opens a node on a cluster holding many pipes: Open returns with all of them.
func TestNewNodeCatchesUp(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		cluster := clusterName(t, c)
		a := openNode(t, c, cluster, "a")
		const n = 60
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := a.Create(ctx, newRecord(fmt.Sprintf("p%03d", i)), 0); err != nil {
					t.Errorf("Create: %v", err)
				}
			}()
		}
		wg.Wait()
		for i := 0; i < n; i += 3 {
			if err := a.Delete(ctx, fmt.Sprintf("p%03d", i)); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		fresh := openNode(t, c, cluster, "fresh")
		took := time.Since(start)
		recs, err := fresh.List(ctx)
		if err != nil || len(recs) != n-n/3 {
			t.Fatalf("fresh node lists %d pipes (%v), want %d", len(recs), err, n-n/3)
		}
		if took > 5*time.Second {
			t.Errorf("catching up took %v, want under 5s", took)
		}
		t.Logf("a new node caught up with %d pipes in %v", len(recs), took)
	})
}

func TestWatchSeesEveryNodesWrites(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cluster := clusterName(t, c)
		a, b := openNode(t, c, cluster, "a"), openNode(t, c, cluster, "b")
		var mu sync.Mutex
		var seen []string
		b.Watch(ctx, func(name string) { mu.Lock(); seen = append(seen, name); mu.Unlock() })
		if err := a.Create(ctx, newRecord("w1"), 0); err != nil {
			t.Fatal(err)
		}
		if err := b.Create(ctx, newRecord("w2"), 0); err != nil {
			t.Fatal(err)
		}
		if err := a.Delete(ctx, "w1"); err != nil {
			t.Fatal(err)
		}
		kafkatest.Eventually(t, 3*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(seen) != "[w1 w2 w1]" {
				return fmt.Errorf("watch saw %v, want [w1 w2 w1]", seen)
			}
			return nil
		})
	})
}

// TestWatchSeesOwnStatusWrites: a status-only Update (what the supervisor writes, e.g. STARTING in
// Resume) is reported to the writing node's watchers, as store.Store's Watch promises for every write
// of the process, and not to other nodes' watchers (their supervisors must not act on it). Without it a
// restarted node's pipe stayed STARTING on every node (issue 13: rolling restart).
func TestWatchSeesOwnStatusWrites(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cluster := clusterName(t, c)
		a, b := openNode(t, c, cluster, "a"), openNode(t, c, cluster, "b")
		if err := a.Create(ctx, newRecord("st"), 0); err != nil {
			t.Fatal(err)
		}
		kafkatest.Eventually(t, 2*time.Second, func() error { _, err := b.Get(ctx, "st"); return err })
		var mu sync.Mutex
		seen := map[string][]string{}
		for _, n := range []*Store{a, b} {
			n.Watch(ctx, func(name string) { mu.Lock(); seen[n.Node()] = append(seen[n.Node()], name); mu.Unlock() })
		}
		if _, err := a.Update(ctx, "st", func(r *store.Record) error { r.CurrentState = "STARTING"; return nil }); err != nil {
			t.Fatal(err)
		}
		kafkatest.Eventually(t, 3*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(seen["a"]) != "[st]" {
				return fmt.Errorf("a's watch saw %v, want [st]", seen["a"])
			}
			return nil
		})
		kafkatest.Eventually(t, 3*time.Second, func() error {
			if r, err := b.Get(ctx, "st"); err != nil || r.CurrentState != "STARTING" {
				return fmt.Errorf("b sees %+v, %v", r, err)
			}
			return nil
		})
		// b's watcher has had time to hear of a's status (b has read it); it must not have.
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if len(seen["b"]) != 0 {
			t.Errorf("b's watch saw %v after a status-only write of a, want nothing", seen["b"])
		}
	})
}

// TestStatusMergedAcrossNodes publishes runtime status through Update on one node: every node shows
// it, the revision stays, and it disappears when its node leaves.
func TestStatusMergedAcrossNodes(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		cluster := clusterName(t, c)
		a, b := openNode(t, c, cluster, "a"), openNode(t, c, cluster, "b")
		if err := b.Create(ctx, newRecord("s"), 0); err != nil {
			t.Fatal(err)
		}
		kafkatest.Eventually(t, 2*time.Second, func() error { _, err := a.Get(ctx, "s"); return err })
		r, err := a.Update(ctx, "s", func(r *store.Record) error { r.CurrentState = "RUNNING"; r.StateReason = "up"; return nil })
		if err != nil || r.CurrentState != "RUNNING" || r.Revision != 1 {
			t.Fatalf("status Update on a = %+v, %v; want RUNNING at revision 1", r, err)
		}
		kafkatest.Eventually(t, 2*time.Second, func() error {
			r, err := b.Get(ctx, "s")
			if err != nil || r.CurrentState != "RUNNING" || r.StateReason != "up" {
				return fmt.Errorf("b sees %+v, %v", r, err)
			}
			if st := b.Statuses("s"); len(st) != 1 || st[0].Node != "a" {
				return fmt.Errorf("b's statuses of s = %+v", st)
			}
			return nil
		})
		if got := fmt.Sprint(b.Nodes()); got != "[a b]" {
			t.Errorf("b.Nodes() = %s, want [a b]", got)
		}
		// A definition write makes the status (of the old revision) stale until a node reports again.
		if _, err := b.Update(ctx, "s", func(r *store.Record) error { r.CurrentState = "STOPPING"; r.DesiredState = "STOPPED"; return nil }); err != nil {
			t.Fatal(err)
		}
		if r, _ := b.Get(ctx, "s"); r.CurrentState != "STOPPING" {
			t.Errorf("after a definition write b shows %s, want STOPPING", r.CurrentState)
		}
		// A status published for the new revision shows again; when its node closes it is withdrawn.
		if _, err := a.Update(ctx, "s", func(r *store.Record) error { r.CurrentState = "RUNNING"; return nil }); err == nil {
			kafkatest.Eventually(t, 2*time.Second, func() error {
				if r, _ := b.Get(ctx, "s"); r.CurrentState != "RUNNING" {
					return fmt.Errorf("b shows %s", r.CurrentState)
				}
				return nil
			})
		}
		a.Close()
		kafkatest.Eventually(t, 3*time.Second, func() error {
			if r, _ := b.Get(ctx, "s"); r.CurrentState != "STOPPING" {
				return fmt.Errorf("after a closed, b shows %s, want the record's STOPPING", r.CurrentState)
			}
			return nil
		})
	})
}

// TestBrokerUnreachable: a write while the broker is down fails with ErrUnavailable within the write
// timeout, never a silent success; reads keep answering from memory. (kfake only: the shared real
// broker is not stopped.)
func TestBrokerUnreachable(t *testing.T) {
	c := kafkatest.Kfake(t)
	ctx := context.Background()
	s := openNode(t, c, "down", "a", func(o *Options) { o.WriteTimeout = 2 * time.Second })
	if err := s.Create(ctx, newRecord("before"), 0); err != nil {
		t.Fatal(err)
	}
	c.Fake.Close()
	start := time.Now()
	err := s.Create(ctx, newRecord("after"), 0)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Create with the broker down = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Create took %v to fail, want about the 2s write timeout", d)
	}
	if _, err := s.Get(ctx, "before"); err != nil {
		t.Errorf("Get with the broker down = %v, want the record from memory", err)
	}
	// Close, with a write still stuck on the vanished broker, returns: it once waited for the status
	// tombstones for good (found by the fresh-clone make-test loop: 13 minutes, then the suite's timeout).
	closed := make(chan struct{})
	start = time.Now()
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Logf("Close with the broker down returned after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(20 * time.Second):
		t.Fatal("Close with the broker down did not return within 20s")
	}
}

// TestOpenRefusesMultiPartitionTopic: the order of writes needs one partition.
func TestOpenRefusesMultiPartitionTopic(t *testing.T) {
	c := kafkatest.Kfake(t)
	adm := c.Admin(t)
	if _, err := adm.CreateTopic(context.Background(), 3, 1, nil, "__sluice-multi-pipes"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Options{Brokers: c.Bootstrap, Cluster: "multi", Node: "a"})
	if err == nil {
		t.Fatal("Open on a 3-partition pipes topic succeeded")
	}
	t.Log(err)
}

func TestApplyRules(t *testing.T) {
	live := func(rev uint64, tok string) *entry {
		return &entry{live: true, rev: rev, token: tok, rec: &store.Record{Name: "p", Revision: rev}}
	}
	rec := &store.Record{Name: "p"}
	for _, tc := range []struct {
		name string
		cur  *entry
		op   op
		won  bool
	}{
		{"create new", nil, op{kind: opCreate, rev: 1, token: "x", rec: rec}, true},
		{"create live", live(1, "a"), op{kind: opCreate, rev: 1, token: "x", rec: rec}, false},
		{"create deleted", &entry{rev: 2, token: "d"}, op{kind: opCreate, rev: 3, token: "x", rec: rec}, true},
		{"update current", live(1, "a"), op{kind: opUpdate, rev: 2, token: "x", expRev: 1, expTok: "a", rec: rec}, true},
		{"update stale revision", live(2, "b"), op{kind: opUpdate, rev: 2, token: "x", expRev: 1, expTok: "a", rec: rec}, false},
		{"update same revision other token", live(1, "b"), op{kind: opUpdate, rev: 2, token: "x", expRev: 1, expTok: "a", rec: rec}, false},
		{"update deleted", &entry{rev: 2, token: "d"}, op{kind: opUpdate, rev: 2, token: "x", expRev: 1, expTok: "a", rec: rec}, false},
		{"update after compaction", nil, op{kind: opUpdate, rev: 7, token: "x", expRev: 6, expTok: "a", rec: rec}, true},
		{"delete current", live(1, "a"), op{kind: opDelete, rev: 2, token: "x", expRev: 1, expTok: "a"}, true},
		{"delete stale", live(2, "b"), op{kind: opDelete, rev: 2, token: "x", expRev: 1, expTok: "a"}, false},
		{"reassert same state", live(2, "b"), op{kind: opReassert, rev: 2, token: "b", rec: rec}, false},
		{"reassert over a loser", live(2, "loser"), op{kind: opReassert, rev: 2, token: "b", rec: rec}, true},
		{"reassert older", live(3, "c"), op{kind: opReassert, rev: 2, token: "b", rec: rec}, false},
		{"reassert newer", live(1, "a"), op{kind: opReassert, rev: 2, token: "b", rec: rec}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.op
			_, won, _ := apply(tc.cur, &o, 0)
			if won != tc.won {
				t.Errorf("apply(%+v, %+v) won = %v, want %v", tc.cur, tc.op, won, tc.won)
			}
		})
	}
}

var _ store.Store = (*Store)(nil)

// TestConformance runs the store interface's conformance suite against a Kafka-topic store, on kfake and
// on the real broker.
func TestConformance(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return openNode(t, c, clusterName(t, c), "conformance")
		})
	})
}
