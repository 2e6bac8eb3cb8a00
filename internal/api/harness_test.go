package api

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/store"
)

// behaviour scripts what the test runner of one pipe does.
type behaviour struct {
	buildErr  error         // the factory fails with this error
	block     chan struct{} // the factory waits for this channel to close (keeps the pipe transitional)
	fatal     string        // the runner calls OnFatal(fatal) once running
	exitErr   error         // the runner's Run returns this, after exitAfter
	exitAfter time.Duration // how long the runner runs before returning exitErr
	drain     chan struct{} // once stopped, Run returns only when this channel closes (keeps it STOPPING)
	panicRun  string        // Run panics with this value
	panicStop string        // Close panics with this value
	panicFn   string        // the factory panics with this value
}

// testFactory builds runners whose behaviour the test scripts per pipe name, and records every build.
// It stands in for the real runtime in the state-machine tests (the end-to-end tests run the real one).
type testFactory struct {
	mu        sync.Mutex
	behaviour map[string]behaviour
	builds    map[string]int
	lastDef   map[string]*pipe.Definition
	live      map[string]int
}

func newTestFactory() *testFactory {
	return &testFactory{behaviour: map[string]behaviour{}, builds: map[string]int{},
		lastDef: map[string]*pipe.Definition{}, live: map[string]int{}}
}

func (f *testFactory) set(name string, b behaviour) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.behaviour[name] = b
}

func (f *testFactory) stats(name string) (builds, live int, last *pipe.Definition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.builds[name], f.live[name], f.lastDef[name]
}

func (f *testFactory) factory(ctx context.Context, def *pipe.Definition, hooks Hooks) (Runner, error) {
	f.mu.Lock()
	b := f.behaviour[def.Name]
	f.builds[def.Name]++
	f.lastDef[def.Name] = def.Clone()
	f.mu.Unlock()
	if b.block != nil {
		select {
		case <-b.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if b.panicFn != "" {
		panic(b.panicFn)
	}
	if b.buildErr != nil {
		return nil, b.buildErr
	}
	return &testRunner{f: f, name: def.Name, b: b, hooks: hooks}, nil
}

type testRunner struct {
	f     *testFactory
	name  string
	b     behaviour
	hooks Hooks
}

func (r *testRunner) Run(ctx context.Context) error {
	r.f.mu.Lock()
	r.f.live[r.name]++
	r.f.mu.Unlock()
	defer func() {
		r.f.mu.Lock()
		r.f.live[r.name]--
		r.f.mu.Unlock()
	}()
	if r.b.exitErr != nil {
		select {
		case <-time.After(r.b.exitAfter):
			return r.b.exitErr
		case <-ctx.Done():
			return nil
		}
	}
	if r.b.fatal != "" {
		r.hooks.OnFatal(r.b.fatal)
	}
	if r.b.panicRun != "" {
		panic(r.b.panicRun)
	}
	<-ctx.Done()
	if r.b.drain != nil {
		<-r.b.drain
	}
	return nil
}

func (r *testRunner) Close(ctx context.Context) error {
	if r.b.panicStop != "" {
		panic(r.b.panicStop)
	}
	return nil
}

// harness is a server on a data directory with an SDK client pointed at it.
type harness struct {
	t       *testing.T
	dir     string
	cfg     Config
	srv     *Server
	hs      *httptest.Server
	client  *pipes.Client
	factory *testFactory
	store   *store.Store
}

type harnessOpt func(*Config)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), factory: newTestFactory()}
	h.start(opts...)
	return h
}

// start opens the store and starts a server on h.dir (again, after stop).
func (h *harness) start(opts ...harnessOpt) {
	t := h.t
	t.Helper()
	st, err := store.Open(h.dir, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg := Config{Store: st, Factory: h.factory.factory, Keys: map[string]string{testKeyID: testSecret},
		Rate: -1, StopTimeout: 5 * time.Second, Registerer: reg, Gatherer: reg}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.cfg, h.srv, h.store = cfg, srv, st
	h.hs = httptest.NewServer(srv.Handler())
	h.client = sdkClient(h.hs.URL, testKeyID, testSecret)
	t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.srv == nil {
		return
	}
	h.hs.Close()
	if err := h.srv.Close(context.Background()); err != nil {
		h.t.Errorf("closing server: %v", err)
	}
	h.store.Close()
	h.srv = nil
}

func sdkClient(url, keyID, secret string) *pipes.Client {
	return pipes.New(pipes.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

const testRole = "arn:aws:iam::000000000000:role/sluice"

// createInput is a valid CreatePipe request for a test pipe.
func createInput(name string, desired types.RequestedPipeState) *pipes.CreatePipeInput {
	return &pipes.CreatePipeInput{
		Name:         aws.String(name),
		Source:       aws.String("smk://127.0.0.1:9092"),
		Target:       aws.String("file:///tmp/sluice-api-test/" + name + ".jsonl"),
		RoleArn:      aws.String(testRole),
		DesiredState: desired,
		SourceParameters: &types.PipeSourceParameters{
			SelfManagedKafkaParameters: &types.PipeSourceSelfManagedKafkaParameters{
				TopicName: aws.String("orders"),
				BatchSize: aws.Int32(10),
			},
		},
	}
}

func (h *harness) create(name string, desired types.RequestedPipeState) *pipes.CreatePipeOutput {
	h.t.Helper()
	out, err := h.client.CreatePipe(context.Background(), createInput(name, desired))
	if err != nil {
		h.t.Fatalf("CreatePipe(%s): %v", name, err)
	}
	return out
}

func (h *harness) describe(name string) *pipes.DescribePipeOutput {
	h.t.Helper()
	out, err := h.client.DescribePipe(context.Background(), &pipes.DescribePipeInput{Name: aws.String(name)})
	if err != nil {
		h.t.Fatalf("DescribePipe(%s): %v", name, err)
	}
	return out
}

// waitState waits until the pipe's CurrentState is want.
func (h *harness) waitState(name string, want types.PipeState) *pipes.DescribePipeOutput {
	h.t.Helper()
	var last *pipes.DescribePipeOutput
	kafkatest.Eventually(h.t, 10*time.Second, func() error {
		out, err := h.client.DescribePipe(context.Background(), &pipes.DescribePipeInput{Name: aws.String(name)})
		if err != nil {
			return err
		}
		last = out
		if out.CurrentState != want {
			return fmt.Errorf("pipe %s is %s (reason %q), want %s", name, out.CurrentState, aws.ToString(out.StateReason), want)
		}
		return nil
	})
	return last
}

// waitGone waits until DescribePipe says NotFound.
func (h *harness) waitGone(name string) {
	h.t.Helper()
	kafkatest.Eventually(h.t, 10*time.Second, func() error {
		_, err := h.client.DescribePipe(context.Background(), &pipes.DescribePipeInput{Name: aws.String(name)})
		var nf *types.NotFoundException
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("DescribePipe(%s) = %v, want NotFoundException", name, err)
	})
}

// snapshot returns every stored record, to show that a rejected request changed nothing.
func (h *harness) snapshot() []*store.Record {
	h.t.Helper()
	recs, err := h.store.List()
	if err != nil {
		h.t.Fatal(err)
	}
	return recs
}

// waitRunners waits until the pipe's runner was built builds times and live of them are running (a
// runner's Run starts just after the pipe is recorded RUNNING).
func (h *harness) waitRunners(name string, builds, live int) {
	h.t.Helper()
	kafkatest.Eventually(h.t, 10*time.Second, func() error {
		b, l, _ := h.factory.stats(name)
		if b != builds || l != live {
			return fmt.Errorf("pipe %s: runner builds/live = %d/%d, want %d/%d", name, b, l, builds, live)
		}
		return nil
	})
}
