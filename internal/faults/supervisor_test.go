package faults_test

// Regression tests of pipes that cannot be built and of broker outages, against the built binary:
// `sluice serve` must survive pipes that cannot be built (no crash, no crash loop after kill -9), and
// pipes created, started or resumed while the broker is down must retry until it is up.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// apiClient speaks the Pipes REST API of a keyless server with plain JSON requests: the pipes of these
// tests use Sluice's extension members, which the AWS SDK does not know.
type apiClient struct {
	t    *testing.T
	base string
}

func (c apiClient) do(method, path string, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: answer is not JSON: %q", method, path, data)
		}
	}
	return resp.StatusCode, out, nil
}

func (c apiClient) create(name string, def map[string]any) {
	c.t.Helper()
	code, out, err := c.do(http.MethodPost, "/v1/pipes/"+name, def)
	if err != nil || code != http.StatusOK {
		c.t.Fatalf("CreatePipe(%s) = %d %v, %v", name, code, out, err)
	}
}

// waitState waits until DescribePipe shows the pipe in a state matching state and a StateReason
// matching reason, and returns the reason.
func (c apiClient) waitState(name, state, reason string, d time.Duration) string {
	c.t.Helper()
	rs, rr := regexp.MustCompile("^(?:"+state+")$"), regexp.MustCompile(reason)
	var last string
	deadline := time.Now().Add(d)
	for {
		code, out, err := c.do(http.MethodGet, "/v1/pipes/"+name, nil)
		if err == nil && code == http.StatusOK {
			st, _ := out["CurrentState"].(string)
			re, _ := out["StateReason"].(string)
			if rs.MatchString(st) && rr.MatchString(re) {
				return re
			}
			last = fmt.Sprintf("%s (reason %q)", st, re)
		} else {
			last = fmt.Sprintf("DescribePipe: %d %v %v", code, out, err)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("pipe %s: %s after %v, want state %s with a reason matching %q", name, last, d, state, reason)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pipeDef is a CreatePipe body reading topic from broker.
func pipeDef(broker, topic, target string) map[string]any {
	return map[string]any{
		"Source":  "smk://" + broker,
		"Target":  target,
		"RoleArn": "arn:aws:iam::000000000000:role/sluice",
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": map[string]any{
			"TopicName": topic, "StartingPosition": "TRIM_HORIZON", "BatchSize": 1, // as HTTP targets require
		}},
	}
}

// basicAuth is ApiDestinationParameters whose BASIC secret reference does not resolve.
func basicAuth(ref string) map[string]any {
	return map[string]any{"ApiDestinationParameters": map[string]any{"Connection": map[string]any{
		"AuthorizationType": "BASIC",
		"AuthParameters":    map[string]any{"BasicAuthParameters": map[string]any{"SecretArn": ref}},
	}}}
}

// unbuildable are pipes whose target or enrichment cannot be built: before the fix each one crashed the
// server with a nil-pointer panic in (*Pipe).Close.
func unbuildable(broker, topic, dir string) map[string]map[string]any {
	const unset = "env:SLUICE_TEST_NEVER_SET_4711"
	missing := pipeDef(broker, topic, "file://"+filepath.Join(dir, "no-such-dir", "out.jsonl"))
	onDir := pipeDef(broker, topic, "file://"+dir)
	httpTarget := pipeDef(broker, topic, "http://127.0.0.1:1/orders")
	httpTarget["TargetParameters"] = basicAuth(unset)
	httpEnrich := pipeDef(broker, topic, "file://"+filepath.Join(dir, "enriched.jsonl"))
	httpEnrich["Enrichment"] = "http://127.0.0.1:1/enrich"
	httpEnrich["EnrichmentParameters"] = basicAuth(unset)
	return map[string]map[string]any{
		"file-missing-dir": missing, "file-on-dir": onDir, "http-target-unset-secret": httpTarget,
		"http-enrichment-unset-secret": httpEnrich,
	}
}

// reasons are what each unbuildable pipe's StateReason must say.
var unbuildableReasons = map[string]string{
	"file-missing-dir":             `no such file or directory`,
	"file-on-dir":                  `is a directory`,
	"http-target-unset-secret":     `SLUICE_TEST_NEVER_SET_4711.*not set`,
	"http-enrichment-unset-secret": `SLUICE_TEST_NEVER_SET_4711.*not set`,
}

// TestUnbuildablePipesFailWithoutCrash: each pipe that cannot be built (each used to crash the server) answers
// 200, ends CREATE_FAILED with a reason, and the server keeps serving (and runs a good pipe beside them).
func TestUnbuildablePipesFailWithoutCrash(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	dir := t.TempDir()
	proc, url := sluicetest.Serve(t, t.TempDir(), "--file-root", dir) // the targets live in dir
	api := apiClient{t, url}

	good := filepath.Join(dir, "good.jsonl")
	api.create("good", pipeDef(c.Bootstrap[0], topic, "file://"+good))
	api.waitState("good", "RUNNING", "", 20*time.Second)
	for name, def := range unbuildable(c.Bootstrap[0], topic, dir) {
		api.create(name, def)
	}
	for name, reason := range unbuildableReasons {
		api.waitState(name, "CREATE_FAILED", reason, 20*time.Second)
	}
	if proc.Exited() {
		t.Fatalf("sluice serve exited; stderr:\n%s", sluicetest.Tail(proc.Stderr.String(), 4000))
	}
	if strings.Contains(proc.Stderr.String(), "panic") {
		t.Errorf("the server log mentions a panic:\n%s", sluicetest.Tail(proc.Stderr.String(), 4000))
	}
	api.waitState("good", "RUNNING", "", time.Second)
}

// TestUnbuildablePipeNoCrashLoop guards against a crash loop: with a stored RUNNING pipe that cannot be
// built, the server killed with SIGKILL and restarted on the same data directory, the API answers and
// the pipe is START_FAILED with its reason, on every restart.
func TestUnbuildablePipeNoCrashLoop(t *testing.T) {
	c := kafkatest.Kfake(t)
	topic := c.CreateTopic(t, 1)
	dir, data := t.TempDir(), t.TempDir()
	// The target's directory exists at create time, so the pipe runs and is stored RUNNING; removing
	// it makes the pipe unbuildable for the next start, as a deleted volume or a rotated secret would.
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	proc, url := sluicetest.Serve(t, data, "--file-root", dir)
	api := apiClient{t, url}
	api.create("p", pipeDef(c.Bootstrap[0], topic, "file://"+filepath.Join(outDir, "out.jsonl")))
	api.waitState("p", "RUNNING", "", 20*time.Second)
	proc.Kill(t)
	if err := os.RemoveAll(outDir); err != nil {
		t.Fatal(err)
	}

	for round := range 2 {
		proc, url = sluicetest.Serve(t, data, "--file-root", dir)
		api = apiClient{t, url}
		api.waitState("p", "START_FAILED", `no such file or directory`, 20*time.Second)
		if proc.Exited() {
			t.Fatalf("round %d: sluice serve exited; stderr:\n%s", round, sluicetest.Tail(proc.Stderr.String(), 4000))
		}
		if code, out, err := api.do(http.MethodGet, "/v1/pipes", nil); err != nil || code != http.StatusOK {
			t.Fatalf("round %d: ListPipes = %d %v %v", round, code, out, err)
		}
		proc.Kill(t)
	}
}

// freePort returns a loopback address nothing listens on (yet).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fakeOn starts a kfake broker with topic on addr, a port that refused connections until now. It is
// closed when the test ends, or earlier by calling the returned function.
func fakeOn(t *testing.T, addr, topic string) (*kafkatest.Cluster, func()) {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(p), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatalf("starting kfake on %s: %v", addr, err)
	}
	var once sync.Once
	stop := func() { once.Do(fc.Close) }
	t.Cleanup(stop)
	return &kafkatest.Cluster{Name: "kfake", Bootstrap: fc.ListenAddrs(), Fake: fc}, stop
}

// lines waits until the file at path has at least n lines.
func waitLines(t *testing.T, path string, n int, d time.Duration) {
	t.Helper()
	kafkatest.Eventually(t, d, func() error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if got := bytes.Count(data, []byte("\n")); got < n {
			return fmt.Errorf("%s has %d lines, want %d", path, got, n)
		}
		return nil
	})
}

func metricsText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBrokerOutageServe covers a broker outage under `sluice serve`: a pipe created while its broker is
// down stays CREATING with a StateReason naming the retry, and runs once the broker comes up; after a
// kill -9 with the broker down again, the resumed pipe stays STARTING, retrying, and runs when the
// broker is back. Before the fix the pipe was CREATE_FAILED (then START_FAILED) for good.
func TestBrokerOutageServe(t *testing.T) {
	addr, topic := freePort(t), "outage"
	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.jsonl")
	data := t.TempDir()
	proc, url := sluicetest.Serve(t, data, "--file-root", outDir)
	api := apiClient{t, url}
	api.create("p", pipeDef(addr, topic, "file://"+out))
	reason := api.waitState("p", "CREATING", `^retrying in .*\(attempt \d+ failed\): connecting to broker `+regexp.QuoteMeta(addr)+`: .*connection refused`, 20*time.Second)
	t.Logf("StateReason while the broker is down: %s", reason)
	m := metricsText(t, url)
	for _, want := range []string{`sluice_pipe_state{pipe="p",state="CREATING"} 1`, `sluice_pipe_start_retries_total{pipe="p"}`,
		`sluice_pipe_start_next_attempt_timestamp_seconds{pipe="p"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	c, stop := fakeOn(t, addr, topic)
	up := time.Now()
	api.waitState("p", "RUNNING", "^$", 30*time.Second)
	t.Logf("RUNNING %v after the broker came up", time.Since(up).Round(100*time.Millisecond))
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"n":1}`)})
	waitLines(t, out, 1, 20*time.Second)
	if !strings.Contains(metricsText(t, url), `sluice_pipe_state{pipe="p",state="RUNNING"} 1`) {
		t.Errorf("/metrics lacks the RUNNING state of p")
	}

	// Resume with the broker down: STARTING while retrying, RUNNING when it is back.
	proc.Kill(t)
	stop()
	proc, url = sluicetest.Serve(t, data, "--file-root", outDir)
	api = apiClient{t, url}
	api.waitState("p", "STARTING", `^retrying in .*connecting to broker `+regexp.QuoteMeta(addr), 20*time.Second)
	c, _ = fakeOn(t, addr, topic)
	api.waitState("p", "RUNNING", "^$", 30*time.Second)
	c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"n":2}`)})
	waitLines(t, out, 2, 20*time.Second)
	if proc.Exited() {
		t.Fatalf("sluice serve exited")
	}
}

// runDef writes a `sluice run` definition reading topic from broker into out.
func runDef(t *testing.T, broker, topic, out string) string {
	t.Helper()
	def := pipeDef(broker, topic, "file://"+out)
	def["Name"] = "run-outage"
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pipe.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrokerOutageRun covers a broker outage for `sluice run`: it waits for a broker that is down, logging
// each attempt, and delivers once the broker is up; --fail-fast exits 1 at once; a SIGTERM during the
// wait exits 0 at once (nothing was consumed).
func TestBrokerOutageRun(t *testing.T) {
	t.Run("waits and delivers", func(t *testing.T) {
		addr, topic := freePort(t), "outage"
		out := filepath.Join(t.TempDir(), "out.jsonl")
		p := sluicetest.Start(t, "run", "--file", runDef(t, addr, topic, out), "--drain-timeout", "5s",
			"--metrics-listen", "127.0.0.1:0")
		p.WaitFor(t, 20*time.Second, `"msg":"pipe cannot start yet; retrying[^"]*".*"attempt":2.*connection refused`)
		// The metrics listener serves while the pipe waits for its broker: /healthz answers.
		m := p.WaitFor(t, 5*time.Second, `"msg":"serving metrics","address":"(http://[^"/]+)/metrics"`)
		resp, err := http.Get(m[1] + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz while waiting for the broker = %v, %v; want 200", resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
		c, _ := fakeOn(t, addr, topic)
		c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"n":1}`)})
		waitLines(t, out, 1, 30*time.Second)
		p.Signal(t, syscall.SIGTERM)
		if code := p.Wait(t, 20*time.Second); code != 0 {
			t.Errorf("exit status %d after SIGTERM, want 0", code)
		}
	})
	t.Run("fail-fast", func(t *testing.T) {
		addr := freePort(t)
		start := time.Now()
		p := sluicetest.Start(t, "run", "--file", runDef(t, addr, "t", filepath.Join(t.TempDir(), "o.jsonl")), "--fail-fast")
		code := p.Wait(t, 10*time.Second)
		took := time.Since(start)
		t.Logf("--fail-fast exited %d after %v", code, took.Round(time.Millisecond))
		if code != 1 || !strings.Contains(p.Stderr.String(), "connection refused") {
			t.Errorf("--fail-fast: exit %d, stderr:\n%s\nwant 1 and the broker's error", code, sluicetest.Tail(p.Stderr.String(), 2000))
		}
		if took > 5*time.Second {
			t.Errorf("--fail-fast took %v, want well under 5s", took)
		}
	})
	t.Run("SIGTERM while waiting", func(t *testing.T) {
		addr := freePort(t)
		p := sluicetest.Start(t, "run", "--file", runDef(t, addr, "t", filepath.Join(t.TempDir(), "o.jsonl")))
		p.WaitFor(t, 20*time.Second, `pipe cannot start yet; retrying`)
		start := time.Now()
		p.Signal(t, syscall.SIGTERM)
		code := p.Wait(t, 10*time.Second)
		took := time.Since(start)
		t.Logf("SIGTERM during the retry wait: exit %d after %v", code, took.Round(time.Millisecond))
		if code != 0 || took > 2*time.Second {
			t.Errorf("SIGTERM during the retry wait: exit %d after %v, want 0 within 2s", code, took)
		}
	})
}
