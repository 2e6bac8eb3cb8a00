package api

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
	"github.com/sluicehq/sluice/internal/supervisor/supervisortest"
)

// harness is a server on a data directory with an SDK client pointed at it. Its pipes run with a
// scripted factory (supervisortest) unless an option gives another.
type harness struct {
	t       *testing.T
	dir     string
	cfg     Config
	srv     *Server
	mgr     *supervisor.Manager
	hs      *httptest.Server
	client  *pipes.Client
	factory *supervisortest.Factory
	store   *store.Bolt
}

// setup is what a harnessOpt may change: the server's Config, and the supervisor's factory and options.
type setup struct {
	Config
	Factory supervisor.Factory
	Manager supervisor.ManagerOptions
}

type harnessOpt func(*setup)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), factory: supervisortest.New()}
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
	su := setup{
		Config:  Config{Store: st, Keys: map[string]string{testKeyID: testSecret}, Rate: -1, Registerer: reg, Gatherer: reg},
		Factory: h.factory.Build,
		Manager: supervisor.ManagerOptions{StopTimeout: 5 * time.Second, Registerer: reg},
	}
	for _, o := range opts {
		o(&su)
	}
	su.Manager.Logger = su.Logger
	mgr := supervisor.NewManager(st, su.Factory, su.Manager)
	cfg := su.Config
	cfg.Supervisor = mgr
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.cfg, h.srv, h.mgr, h.store = cfg, srv, mgr, st
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
	recs, err := h.store.List(context.Background())
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
		b, l, _ := h.factory.Stats(name)
		if b != builds || l != live {
			return fmt.Errorf("pipe %s: runner builds/live = %d/%d, want %d/%d", name, b, l, builds, live)
		}
		return nil
	})
}

// waitReason waits until the pipe is in state with a StateReason matching re.
func (h *harness) waitReason(name string, want types.PipeState, re string) *pipes.DescribePipeOutput {
	h.t.Helper()
	rx := regexp.MustCompile(re)
	var last *pipes.DescribePipeOutput
	kafkatest.Eventually(h.t, 20*time.Second, func() error {
		out, err := h.client.DescribePipe(context.Background(), &pipes.DescribePipeInput{Name: aws.String(name)})
		if err != nil {
			return err
		}
		last = out
		if out.CurrentState != want || !rx.MatchString(aws.ToString(out.StateReason)) {
			return fmt.Errorf("pipe %s is %s (reason %q), want %s with a reason matching %q", name, out.CurrentState,
				aws.ToString(out.StateReason), want, re)
		}
		return nil
	})
	return last
}
