package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// describe returns a node's DescribePipe answer as a map, or nil with the status when it is not 200.
func describe(t *testing.T, url, name string) (map[string]any, int) {
	t.Helper()
	code, body := apiCall(t, http.MethodGet, url+"/v1/pipes/"+name, "")
	if code != http.StatusOK {
		return nil, code
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("DescribePipe %s: %v: %s", name, err, body)
	}
	return m, code
}

// onEvery waits until check holds on every node's DescribePipe answer (nil when the pipe is absent).
func onEvery(t *testing.T, nodes []*sluicetest.Node, d time.Duration, name string, check func(m map[string]any) error) {
	t.Helper()
	for _, n := range nodes {
		kafkatest.Eventually(t, d, func() error {
			m, _ := describe(t, n.URL, name)
			if err := check(m); err != nil {
				return fmt.Errorf("%s: %w", n.ID, err)
			}
			return nil
		})
	}
}

// TestClusterThreeNodes runs three `sluice serve --cluster` processes on the real broker: writes made on
// any node are seen on all, concurrent creates of one name give exactly one success, and a node started
// empty serves the full pipe list within 5 s.
func TestClusterThreeNodes(t *testing.T) {
	c := kafkatest.Real(t)
	broker := c.Bootstrap[0]
	cluster := testCluster(t, c, "three")
	topic := c.CreateTopic(t, 1)
	root := t.TempDir()
	nodes := sluicetest.ServeCluster(t, 3, broker, cluster, "--file-root", root)
	body := func(extra map[string]any) string {
		top := map[string]any{"DesiredState": "STOPPED", "Target": "file://" + filepath.Join(root, "out.jsonl")}
		for k, v := range extra {
			top[k] = v
		}
		return pipeBody(t, broker, topic, top, nil)
	}

	// Created on node 1, visible on node 3 within 2 s.
	start := time.Now()
	if code, out := apiCall(t, http.MethodPost, nodes[0].URL+"/v1/pipes/p1", body(nil)); code != http.StatusOK {
		t.Fatalf("CreatePipe on node1 = %d %s", code, out)
	}
	kafkatest.Eventually(t, 2*time.Second, func() error {
		if _, code := describe(t, nodes[2].URL, "p1"); code != http.StatusOK {
			return fmt.Errorf("DescribePipe on node3 = %d", code)
		}
		return nil
	})
	t.Logf("a pipe created on node1 was visible on node3 after %v", time.Since(start))

	// Concurrent creates of one name on two nodes: exactly one success, ConflictException for the other.
	for i := range 10 {
		name := fmt.Sprintf("race%d", i)
		codes := make([]int, 2)
		outs := make([]string, 2)
		var wg sync.WaitGroup
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[j], outs[j] = apiCall(t, http.MethodPost, nodes[j].URL+"/v1/pipes/"+name, body(nil))
			}()
		}
		wg.Wait()
		ok, conflict := 0, 0
		for j := range 2 {
			switch {
			case codes[j] == http.StatusOK:
				ok++
			case codes[j] == http.StatusConflict && strings.Contains(outs[j], "ConflictException"):
				conflict++
			default:
				t.Fatalf("round %d: CreatePipe on %s = %d %s", i, nodes[j].ID, codes[j], outs[j])
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("round %d: %d successes and %d conflicts (%v), want 1 and 1", i, ok, conflict, outs)
		}
	}

	// Update on node 2.
	if code, out := apiCall(t, http.MethodPut, nodes[1].URL+"/v1/pipes/p1", body(map[string]any{"Description": "changed on node2"})); code != http.StatusOK {
		t.Fatalf("UpdatePipe on node2 = %d %s", code, out)
	}
	onEvery(t, nodes, 2*time.Second, "p1", func(m map[string]any) error {
		if m == nil || m["Description"] != "changed on node2" {
			return fmt.Errorf("Description = %v", m["Description"])
		}
		return nil
	})
	// Tag on node 3.
	m, _ := describe(t, nodes[2].URL, "p1")
	arn, _ := m["Arn"].(string)
	if code, out := apiCall(t, http.MethodPost, nodes[2].URL+"/tags/"+arn, `{"tags":{"team":"node3"}}`); code != http.StatusOK {
		t.Fatalf("TagResource on node3 = %d %s", code, out)
	}
	onEvery(t, nodes, 2*time.Second, "p1", func(m map[string]any) error {
		tags, _ := m["Tags"].(map[string]any)
		if m == nil || tags["team"] != "node3" {
			return fmt.Errorf("Tags = %v", m["Tags"])
		}
		return nil
	})
	// Start on node 1, stop on node 3.
	// The update before may still be UPDATING (a transition answers ConflictException until it ends).
	kafkatest.Eventually(t, 20*time.Second, func() error {
		if code, out := apiCall(t, http.MethodPost, nodes[0].URL+"/v1/pipes/p1/start", ""); code != http.StatusOK {
			return fmt.Errorf("StartPipe on node1 = %d %s", code, out)
		}
		return nil
	})
	onEvery(t, nodes, 2*time.Second, "p1", func(m map[string]any) error {
		if m == nil || m["DesiredState"] != "RUNNING" {
			return fmt.Errorf("DesiredState = %v", m["DesiredState"])
		}
		return nil
	})
	kafkatest.Eventually(t, 30*time.Second, func() error {
		code, out := apiCall(t, http.MethodPost, nodes[2].URL+"/v1/pipes/p1/stop", "")
		if code != http.StatusOK {
			return fmt.Errorf("StopPipe on node3 = %d %s", code, out)
		}
		return nil
	})
	onEvery(t, nodes, 2*time.Second, "p1", func(m map[string]any) error {
		if m == nil || m["DesiredState"] != "STOPPED" {
			return fmt.Errorf("DesiredState = %v", m["DesiredState"])
		}
		return nil
	})

	// A node started empty (no data dir) serves the full list within 5 s.
	start = time.Now()
	fresh := sluicetest.ServeNode(t, "node4", broker, cluster, "--file-root", root)
	kafkatest.Eventually(t, 5*time.Second, func() error {
		code, out := apiCall(t, http.MethodGet, fresh.URL+"/v1/pipes", "")
		if code != http.StatusOK {
			return fmt.Errorf("ListPipes on node4 = %d %s", code, out)
		}
		var l struct{ Pipes []struct{ Name string } }
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			return err
		}
		if len(l.Pipes) != 11 {
			return fmt.Errorf("node4 lists %d pipes, want 11", len(l.Pipes))
		}
		return nil
	})
	t.Logf("a node started empty served the full list %v after it was started", time.Since(start))

	// Delete on node 2: gone everywhere, node 4 included.
	kafkatest.Eventually(t, 30*time.Second, func() error {
		code, out := apiCall(t, http.MethodDelete, nodes[1].URL+"/v1/pipes/p1", "")
		if code != http.StatusOK {
			return fmt.Errorf("DeletePipe on node2 = %d %s", code, out)
		}
		return nil
	})
	onEvery(t, append(nodes, fresh), 30*time.Second, "p1", func(m map[string]any) error {
		if m != nil {
			return fmt.Errorf("still described: %v", m["CurrentState"])
		}
		return nil
	})
	// With placement the Managers still run the source preflight: a pipe whose secret is missing shows
	// CREATE_FAILED, naming the reference, on every node.
	missing := "file://" + filepath.Join(root, "no-such-secret.json") // under --file-root, or refused at once
	bad := pipeBody(t, broker, topic, map[string]any{"DesiredState": "RUNNING", "Target": "file://" + filepath.Join(root, "bad.jsonl")},
		map[string]any{"Credentials": map[string]any{"SaslScram512Auth": missing}})
	if code, out := apiCall(t, http.MethodPost, nodes[0].URL+"/v1/pipes/bad-secret", bad); code != http.StatusOK {
		t.Fatalf("CreatePipe bad-secret = %d %s", code, out)
	}
	onEvery(t, append(nodes, fresh), 30*time.Second, "bad-secret", func(m map[string]any) error {
		if m == nil || m["CurrentState"] != "CREATE_FAILED" || !strings.Contains(fmt.Sprint(m["StateReason"]), "no-such-secret.json") {
			return fmt.Errorf("CurrentState %v (%v), want CREATE_FAILED naming the secret", m["CurrentState"], m["StateReason"])
		}
		return nil
	})
	// Placement is on by default in cluster mode (--scale-interval 1m): one node leads.
	kafkatest.Eventually(t, 20*time.Second, func() error {
		for _, n := range append(nodes, fresh) {
			if strings.Contains(n.Proc.Stderr.String(), "cluster leader elected") {
				return nil
			}
		}
		return fmt.Errorf("no node logged \"cluster leader elected\" without --scale-interval")
	})
}

// TestClusterAuth: a node reaching the cluster's Kafka over SASL_SSL with SCRAM-SHA-512 and a private
// root CA (secrets in the pipe source formats) shares the pipes with a node on the PLAINTEXT listener.
func TestClusterAuth(t *testing.T) {
	l := kafkatest.RealListeners(t)
	pki := kafkatest.PKI(t)
	cluster := testCluster(t, kafkatest.Real(t), "auth") // kafkatest.Real is l.Plaintext's broker, through which the topics go
	root := t.TempDir()
	sasl := sluicetest.ServeNode(t, "sasl", l.SASL, cluster, "--file-root", root, "--cluster-auth", "SCRAM-SHA-512",
		"--cluster-credentials", "file://"+pki.Secrets.Scram512, "--cluster-root-ca", "file://"+pki.Secrets.RootCA)
	plain := sluicetest.ServeNode(t, "plain", l.Plaintext, cluster, "--file-root", root)
	body := pipeBody(t, l.Plaintext, "some-topic", map[string]any{"DesiredState": "STOPPED", "Target": "file://" + filepath.Join(root, "o.jsonl")}, nil)
	if code, out := apiCall(t, http.MethodPost, sasl.URL+"/v1/pipes/viasasl", body); code != http.StatusOK {
		t.Fatalf("CreatePipe on the SASL node = %d %s", code, out)
	}
	kafkatest.Eventually(t, 5*time.Second, func() error {
		if _, code := describe(t, plain.URL, "viasasl"); code != http.StatusOK {
			return fmt.Errorf("DescribePipe on the PLAINTEXT node = %d", code)
		}
		return nil
	})

	// Wrong credentials: the node does not start, and says why without the secret.
	p := sluicetest.Start(t, "serve", "--cluster", l.SASL, "--cluster-name", cluster, "--node-id", "bad", "--listen", "127.0.0.1:0",
		"--cluster-auth", "SCRAM-SHA-512", "--cluster-credentials", "file://"+pki.Secrets.Scram512WrongPassword,
		"--cluster-root-ca", "file://"+pki.Secrets.RootCA)
	if code := p.Wait(t, 90*time.Second); code == 0 {
		t.Errorf("a node with wrong cluster credentials exited 0")
	}
	t.Logf("wrong credentials: %s", sluicetest.Tail(p.Stderr.String(), 400))
}
