package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestConsoleMembersByNode runs two `sluice serve --cluster --scale-interval 1s` processes on the real
// broker: the pipe page of either node lists the node the leader placed the pipe's member on, its
// static member `<group>-<node>` and the 4 partitions the broker gave it (read with DescribeGroups),
// and the console's event stream carries the same rows for app.js to redraw. A single node's page has
// no such table (TestConsole* in internal/api).
func TestConsoleMembersByNode(t *testing.T) {
	c := kafkatest.Real(t)
	broker := c.Bootstrap[0]
	var rnd [5]byte
	_, _ = rand.Read(rnd[:])
	cluster := "members-" + hex.EncodeToString(rnd[:])
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
	topic := c.CreateTopic(t, 4)
	root := t.TempDir()
	nodes := sluicetest.ServeCluster(t, 2, broker, cluster, "--file-root", root, "--scale-interval", "1s", "--session-timeout", "6s")
	body := pipeBody(t, broker, topic, map[string]any{"DesiredState": "RUNNING", "Target": "file://" + filepath.Join(root, "out.jsonl")},
		map[string]any{"ConsumerGroupID": topic})
	if code, resp := apiCall(t, http.MethodPost, nodes[0].URL+"/v1/pipes/orders", body); code != http.StatusOK {
		t.Fatalf("CreatePipe = %d %s", code, resp)
	}
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
	member := topic + "-" + runner.ID
	want := fmt.Sprintf("<tr><td>%s</td><td><code>%s</code></td><td>0, 1, 2, 3</td></tr>", runner.ID, member)
	start := time.Now()
	for _, n := range nodes { // the same view on both nodes, the one running the member and the other
		kafkatest.Eventually(t, 30*time.Second, func() error {
			page := get(t, n.URL+"/console/pipes/orders")
			i := strings.Index(page, `<tbody id="members">`)
			if i < 0 {
				return fmt.Errorf("%s: the pipe page has no members table", n.ID)
			}
			rows, _, _ := strings.Cut(page[i:], "</tbody>")
			if !strings.Contains(rows, want) || strings.Count(rows, "<tr>") != 1 {
				return fmt.Errorf("%s: members table %s; want the one row %s", n.ID, rows, want)
			}
			return nil
		})
	}
	t.Logf("both pages list %s on %s with partitions 0-3, %s after the member started", member, runner.ID, time.Since(start).Round(100*time.Millisecond))

	// The event stream of the other node's console carries the rows app.js redraws.
	other := nodes[0]
	if other == runner {
		other = nodes[1]
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, other.URL+"/console/events?pipe=orders", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var msg struct {
			Pipe struct {
				Members []struct {
					Node, MemberID string
					Partitions     []int32
				}
			}
		}
		if err := json.Unmarshal([]byte(data), &msg); err != nil {
			t.Fatalf("event: %v: %s", err, data)
		}
		ms := msg.Pipe.Members
		if len(ms) != 1 || ms[0].Node != runner.ID || ms[0].MemberID != member || !slices.Equal(ms[0].Partitions, []int32{0, 1, 2, 3}) {
			t.Fatalf("event's members = %+v; want %s as %s with partitions 0-3", ms, runner.ID, member)
		}
		return
	}
	t.Fatalf("no event from %s's stream: %v", other.ID, sc.Err())
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
