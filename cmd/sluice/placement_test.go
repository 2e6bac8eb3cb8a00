package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
// broker: the leader places the RUNNING pipe's member on one node, which delivers; `kill -9` of that
// node while it delivers loses nothing, and delivery resumes on the others.
func TestClusterPlacementKill(t *testing.T) {
	c := kafkatest.Real(t)
	broker := c.Bootstrap[0]
	var rnd [5]byte
	_, _ = rand.Read(rnd[:])
	cluster := "place-" + hex.EncodeToString(rnd[:])
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
	topic := c.CreateTopic(t, 12)
	root := t.TempDir()
	out := filepath.Join(root, "out.jsonl")
	nodes := sluicetest.ServeCluster(t, 3, broker, cluster, "--file-root", root, "--scale-interval", "1s", "--session-timeout", "6s")
	body := pipeBody(t, broker, topic, map[string]any{"DesiredState": "RUNNING", "Target": "file://" + out}, nil)
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
	produce(3000)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if got := distinctDelivered(t, out); got < 1000 {
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
