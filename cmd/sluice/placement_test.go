package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

var deliveredValue = regexp.MustCompile(`"value":"([^"]*)"`)

// distinctDelivered counts the distinct record values in the file target's output.
func distinctDelivered(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range deliveredValue.FindAllSubmatch(b, -1) {
		if v, err := base64.StdEncoding.DecodeString(string(m[1])); err == nil {
			seen[string(v)] = true
		}
	}
	return len(seen)
}

// TestClusterPlacementKill runs three `sluice serve --cluster --scale-interval 1s` processes on the real
// broker: the leader places the RUNNING pipe's member on one node, which delivers; StopPipe on another
// node stops it within 5 s and StartPipe on a third resumes from the committed offsets; `kill -9` of the
// node delivering loses nothing, and delivery resumes on the others within 15 s.
func TestClusterPlacementKill(t *testing.T) {
	c := kafkatest.Real(t)
	broker := c.Bootstrap[0]
	cluster := testCluster(t, c, "place")
	topic := c.CreateTopic(t, 12)
	root := t.TempDir()
	out := filepath.Join(root, "out.jsonl")
	nodes := sluicetest.ServeCluster(t, 3, broker, cluster, "--file-root", root, "--scale-interval", "1s", "--session-timeout", "6s")
	body := pipeBody(t, broker, topic, map[string]any{"DesiredState": "RUNNING", "Target": "file://" + out}, map[string]any{"ConsumerGroupID": topic})
	if code, resp := apiCall(t, http.MethodPost, nodes[0].URL+"/v1/pipes/orders", body); code != http.StatusOK {
		t.Fatalf("CreatePipe = %d %s", code, resp)
	}
	produced := 0
	produce := func(n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % 12), Value: []byte("r-" + strconv.Itoa(produced+i))}
		}
		c.Produce(t, recs...)
		produced += n
	}
	// Which node runs the first member: the one whose log says so.
	var runner *sluicetest.Node
	kafkatest.Eventually(t, 30*time.Second, func() error {
		for _, n := range nodes {
			if strings.Contains(n.Proc.Stderr.String(), "cluster member started") {
				runner = n
				return nil
			}
		}
		return fmt.Errorf("no node started a member")
	})
	t.Logf("the first member runs on %s", runner.ID)
	// StopPipe on node 2 stops delivery on every node within 5 s; StartPipe on node 3 resumes from the
	// committed offsets.
	produce(1000)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if got := distinctDelivered(t, out); got != produced {
			return fmt.Errorf("%d of %d delivered", got, produced)
		}
		return nil
	})
	if code, resp := apiCall(t, http.MethodPost, nodes[1].URL+"/v1/pipes/orders/stop", ""); code != http.StatusOK {
		t.Fatalf("StopPipe on node2 = %d %s", code, resp)
	}
	stopped := time.Now()
	kafkatest.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(runner.Proc.Stderr.String(), "cluster member stopped") {
			return fmt.Errorf("the member on %s has not stopped", runner.ID)
		}
		return nil
	})
	t.Logf("StopPipe on node2: the member on %s stopped %s later", runner.ID, time.Since(stopped).Round(100*time.Millisecond))
	produce(500)
	time.Sleep(3 * time.Second)
	if got := distinctDelivered(t, out); got != produced-500 {
		t.Fatalf("after StopPipe: %d delivered, want %d (nothing of the 500 produced since)", got, produced-500)
	}
	if code, resp := apiCall(t, http.MethodPost, nodes[2].URL+"/v1/pipes/orders/start", ""); code != http.StatusOK {
		t.Fatalf("StartPipe on node3 = %d %s", code, resp)
	}
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if got := distinctDelivered(t, out); got != produced {
			return fmt.Errorf("after StartPipe: %d of %d delivered", got, produced)
		}
		return nil
	})
	// The member may now run on another node: find it again.
	runner = nil
	kafkatest.Eventually(t, 30*time.Second, func() error {
		for _, n := range nodes {
			if strings.Count(n.Proc.Stderr.String(), "cluster member started") > strings.Count(n.Proc.Stderr.String(), "cluster member stopped") {
				runner = n
				return nil
			}
		}
		return fmt.Errorf("no node runs a member")
	})
	t.Logf("StartPipe on node3: all %d delivered; the member runs on %s", produced, runner.ID)

	produce(3000)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if got := distinctDelivered(t, out); got < produced-2000 {
			return fmt.Errorf("%d delivered", got)
		}
		return nil
	})
	killed := time.Now()
	runner.Proc.Kill(t)
	at := distinctDelivered(t, out)
	t.Logf("kill -9 of %s with %d of %d delivered", runner.ID, at, produced)
	produce(3000)
	var resumed time.Duration
	kafkatest.Eventually(t, 60*time.Second, func() error {
		got := distinctDelivered(t, out)
		if got > at && resumed == 0 {
			resumed = time.Since(killed)
		}
		if got != produced {
			return fmt.Errorf("%d of %d delivered", got, produced)
		}
		return nil
	})
	t.Logf("after kill -9: delivery resumed %s later on another node; all %d records delivered %s after the kill",
		resumed.Round(100*time.Millisecond), produced, time.Since(killed).Round(100*time.Millisecond))
	if resumed > 15*time.Second {
		t.Errorf("delivery resumed %s after the kill, want within 15 s", resumed)
	}
	for _, n := range nodes {
		if n != runner && strings.Contains(n.Proc.Stderr.String(), "scaling decision") {
			t.Logf("%s logged scaling decisions (it leads or led)", n.ID)
		}
	}
}

// TestClusterPlacementScaling runs three `sluice serve --cluster --scale-interval 1s` processes on the
// real broker with a slow HTTP target: a backlog on a 12-partition topic grows the pipe from 1 member to
// one on each node; drained, the idle pipe shrinks back to 1; grown again, a target answering 429
// shrinks it to 1; every record is delivered. Each decision is read from the leader's log.
func TestClusterPlacementScaling(t *testing.T) {
	c := kafkatest.Real(t)
	broker := c.Bootstrap[0]
	cluster := testCluster(t, c, "scale")
	var delay atomic.Int64
	var throttle atomic.Bool
	var mu sync.Mutex
	got := map[string]bool{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		time.Sleep(time.Duration(delay.Load()) * time.Millisecond)
		if throttle.Load() {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		mu.Lock()
		for _, m := range deliveredValue.FindAllSubmatch(b, -1) {
			if v, err := base64.StdEncoding.DecodeString(string(m[1])); err == nil {
				got[string(v)] = true
			}
		}
		mu.Unlock()
	}))
	t.Cleanup(target.Close)
	topic := c.CreateTopic(t, 12)
	nodes := sluicetest.ServeCluster(t, 3, broker, cluster, "--scale-interval", "1s", "--session-timeout", "6s")
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("%s stderr:\n%s", n.ID, sluicetest.Tail(n.Proc.Stderr.String(), 3000))
			}
		}
	})
	body := pipeBody(t, broker, topic, map[string]any{"DesiredState": "RUNNING", "Target": target.URL + "/events"}, map[string]any{"ConsumerGroupID": topic})
	if code, resp := apiCall(t, http.MethodPost, nodes[0].URL+"/v1/pipes/orders", body); code != http.StatusOK {
		t.Fatalf("CreatePipe = %d %s", code, resp)
	}
	produced := 0
	produce := func(n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % 12), Value: []byte("r-" + strconv.Itoa(produced+i))}
		}
		c.Produce(t, recs...)
		produced += n
	}
	// decided waits until a node's log (the leader's) holds more than `after` decisions matching re.
	count := func(re *regexp.Regexp) int {
		n := 0
		for _, nd := range nodes {
			n += len(re.FindAllString(nd.Proc.Stderr.String(), -1))
		}
		return n
	}
	decided := func(what, re string, d time.Duration) {
		t.Helper()
		rx := regexp.MustCompile(re)
		before := count(rx)
		start := time.Now()
		kafkatest.Eventually(t, d, func() error {
			if count(rx) <= before {
				return fmt.Errorf("%s: no log line matching %q yet", what, re)
			}
			return nil
		})
		t.Logf("%s after %s", what, time.Since(start).Round(100*time.Millisecond))
	}
	delay.Store(20)
	produce(6000)
	decided("backlog: grown to one member per node", `"msg":"scaling decision".*"direction":"up","members":3,"reason":"lag_growing"`, 60*time.Second)
	delay.Store(0)
	decided("idle: shrunk to one member", `"msg":"scaling decision".*"direction":"down","members":1,"reason":"lag_idle"`, 60*time.Second)
	delay.Store(20)
	produce(6000)
	decided("backlog again: 3 members", `"msg":"scaling decision".*"direction":"up","members":3,"reason":"lag_growing"`, 60*time.Second)
	throttle.Store(true)
	decided("429: shrunk to one member", `"msg":"scaling decision".*"direction":"down","members":1,"reason":"target_overload"`, 60*time.Second)
	throttle.Store(false)
	delay.Store(0)
	kafkatest.Eventually(t, 90*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) != produced {
			return fmt.Errorf("%d of %d delivered", len(got), produced)
		}
		return nil
	})
	started := 0
	for _, n := range nodes {
		if strings.Contains(n.Proc.Stderr.String(), "cluster member started") {
			started++
		}
	}
	if started != 3 {
		t.Errorf("%d nodes ran a member, want 3", started)
	}
	t.Logf("all %d records delivered; members ran on %d nodes", produced, started)
}

// TestClusterPlacementRollingRestart restarts the three `sluice serve --cluster --scale-interval 1s`
// processes one after the other (SIGTERM, then the same node ID again) while the pipe delivers:
// nothing is lost, and the pipe is not left stopped (desired and current state RUNNING on every node,
// a member runs) at the end.
func TestClusterPlacementRollingRestart(t *testing.T) {
	c := kafkatest.Real(t)
	broker := c.Bootstrap[0]
	cluster := testCluster(t, c, "roll")
	topic := c.CreateTopic(t, 12)
	root := t.TempDir()
	out := filepath.Join(root, "out.jsonl")
	flags := []string{"--file-root", root, "--scale-interval", "1s", "--session-timeout", "6s"}
	nodes := sluicetest.ServeCluster(t, 3, broker, cluster, flags...)
	body := pipeBody(t, broker, topic, map[string]any{"DesiredState": "RUNNING", "Target": "file://" + out}, map[string]any{"ConsumerGroupID": topic})
	if code, resp := apiCall(t, http.MethodPost, nodes[0].URL+"/v1/pipes/orders", body); code != http.StatusOK {
		t.Fatalf("CreatePipe = %d %s", code, resp)
	}
	produced := 0
	produce := func(n int) {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % 12), Value: []byte("r-" + strconv.Itoa(produced+i))}
		}
		c.Produce(t, recs...)
		produced += n
	}
	for i, n := range nodes {
		produce(2000)
		restart := time.Now()
		n.Proc.Signal(t, syscall.SIGTERM)
		if code := n.Proc.Wait(t, 60*time.Second); code != 0 {
			t.Fatalf("%s exited %d after SIGTERM", n.ID, code)
		}
		nodes[i] = sluicetest.ServeNode(t, n.ID, broker, cluster, flags...)
		produce(2000)
		t.Logf("%s restarted in %s", n.ID, time.Since(restart).Round(100*time.Millisecond))
	}
	kafkatest.Eventually(t, 60*time.Second, func() error {
		if got := distinctDelivered(t, out); got != produced {
			return fmt.Errorf("%d of %d delivered", got, produced)
		}
		return nil
	})
	// The pipe is not left stopped: DescribePipe on every node answers desired and current state
	// RUNNING (a restarted node's Resume publishes STARTING as its status; its own lifecycle pass must
	// then take the pipe to RUNNING), and a member runs.
	kafkatest.Eventually(t, 10*time.Second, func() error {
		for _, n := range nodes {
			m, code := describe(t, n.URL, "orders")
			if code != http.StatusOK || m["DesiredState"] != "RUNNING" || m["CurrentState"] != "RUNNING" {
				return fmt.Errorf("DescribePipe on %s = %d, DesiredState %v, CurrentState %v (%v), want RUNNING/RUNNING",
					n.ID, code, m["DesiredState"], m["CurrentState"], m["StateReason"])
			}
		}
		return nil
	})
	kafkatest.Eventually(t, 30*time.Second, func() error {
		for _, n := range nodes {
			if e := n.Proc.Stderr.String(); strings.Count(e, "cluster member started") > strings.Count(e, `"msg":"cluster member stopped"`) {
				return nil
			}
		}
		return fmt.Errorf("no node runs a member of the pipe")
	})
	t.Logf("rolling restart of 3 nodes: all %d records delivered, a member runs", produced)
}

// testCluster returns a fresh cluster name with the given prefix and deletes the cluster's four topics
// when the test ends.
func testCluster(t *testing.T, c *kafkatest.Cluster, prefix string) string {
	t.Helper()
	var rnd [5]byte
	_, _ = rand.Read(rnd[:])
	cluster := prefix + "-" + hex.EncodeToString(rnd[:])
	t.Cleanup(func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...))
		if err != nil {
			return
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = kadm.NewClient(cl).DeleteTopics(ctx, "__sluice-"+cluster+"-pipes", "__sluice-"+cluster+"-status",
			"__sluice-"+cluster+"-control", "__sluice-"+cluster+"-assignments")
	})
	return cluster
}
