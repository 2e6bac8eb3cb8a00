package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestConsoleMembersByNode runs two `sluice serve --cluster --scale-interval 1s` processes on the real
// broker: the pipe page of either node lists the node the leader placed the pipe's member on, its
// static member `<group>-<node>` and the 4 partitions the broker gave it (read with DescribeGroups);
// after a backlog made the leader add a member, both nodes with their share of the partitions; and
// the console's event stream carries the same rows for app.js to redraw. A single node's page has no
// such table (TestConsoleKeyless in internal/api).
func TestConsoleMembersByNode(t *testing.T) {
	c := kafkatest.Real(t)
	broker := c.Bootstrap[0]
	cluster := testCluster(t, c, "members")
	// A slow target: a backlog makes the leader add a member on the other node.
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(20 * time.Millisecond)
	}))
	t.Cleanup(target.Close)
	topic := c.CreateTopic(t, 4)
	nodes := sluicetest.ServeCluster(t, 2, broker, cluster, "--scale-interval", "1s", "--session-timeout", "6s")
	body := pipeBody(t, broker, topic, map[string]any{"DesiredState": "RUNNING", "Target": target.URL + "/events"},
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

	// A backlog: a member on each node, the 4 partitions split between them.
	recs := make([]*kgo.Record, 2000)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i % 4), Value: []byte(fmt.Sprint("r-", i))}
	}
	c.Produce(t, recs...)
	start = time.Now()
	row := regexp.MustCompile(`<tr><td>(node\d)</td><td><code>([^<]*)</code></td><td>([^<]*)</td></tr>`)
	for _, n := range nodes {
		kafkatest.Eventually(t, 60*time.Second, func() error {
			page := get(t, n.URL+"/console/pipes/orders")
			i := strings.Index(page, `<tbody id="members">`)
			if i < 0 {
				return fmt.Errorf("%s: the pipe page has no members table", n.ID)
			}
			rows, _, _ := strings.Cut(page[i:], "</tbody>")
			ms := row.FindAllStringSubmatch(rows, -1)
			var parts []string
			for j, m := range ms {
				if m[1] != nodes[j%2].ID || m[2] != topic+"-"+m[1] || m[3] == "none yet" {
					return fmt.Errorf("%s: row %d is %q; want %s, its member and its partitions", n.ID, j, m[0], nodes[j%2].ID)
				}
				parts = append(parts, strings.Split(m[3], ", ")...)
			}
			slices.Sort(parts)
			if len(ms) != 2 || !slices.Equal(parts, []string{"0", "1", "2", "3"}) {
				return fmt.Errorf("%s: members table %s; want node1 and node2 sharing partitions 0-3", n.ID, rows)
			}
			return nil
		})
	}
	t.Logf("with a backlog both pages list a member on node1 and one on node2 sharing partitions 0-3, %s after producing",
		time.Since(start).Round(100*time.Millisecond))

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
		var parts []int32
		for j, m := range ms {
			if m.Node != nodes[j%2].ID || m.MemberID != topic+"-"+m.Node || len(m.Partitions) == 0 {
				t.Errorf("event's member %d = %+v; want %s, its member and its partitions", j, m, nodes[j%2].ID)
			}
			parts = append(parts, m.Partitions...)
		}
		slices.Sort(parts)
		if len(ms) != 2 || !slices.Equal(parts, []int32{0, 1, 2, 3}) {
			t.Fatalf("event's members = %+v; want node1 and node2 sharing partitions 0-3", ms)
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
