package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/supervisor"
)

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

// errRefused is what dialling a broker that is down gives.
var errRefused = fmt.Errorf("connecting to broker 127.0.0.1:1: %w",
	&net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}})

// flakyFactory fails transiently (refused) until healed, then builds the test runner.
type flakyFactory struct {
	*testFactory
	mu      sync.Mutex
	healed  bool
	attempt map[string]int
}

func (f *flakyFactory) build(ctx context.Context, def *pipe.Definition, hooks Hooks) (Runner, error) {
	f.mu.Lock()
	f.attempt[def.Name]++
	healed := f.healed
	f.mu.Unlock()
	if !healed {
		return nil, errRefused
	}
	return f.testFactory.factory(ctx, def, hooks)
}

func (f *flakyFactory) heal() {
	f.mu.Lock()
	f.healed = true
	f.mu.Unlock()
}

func (f *flakyFactory) attempts(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempt[name]
}

func newFlaky(t *testing.T) (*harness, *flakyFactory) {
	ff := &flakyFactory{attempt: map[string]int{}}
	h := newHarness(t, func(c *Config) {
		c.Factory = func(ctx context.Context, def *pipe.Definition, hooks Hooks) (Runner, error) {
			return ff.build(ctx, def, hooks)
		}
	})
	ff.testFactory = h.factory
	return h, ff
}

// fastBackoff makes the harness's manager retry within milliseconds.
func fastBackoff(h *harness) {
	setBackoff(h, supervisor.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond})
}

func setBackoff(h *harness, b supervisor.Backoff) {
	h.srv.mgr.mu.Lock()
	h.srv.mgr.backoff = b
	h.srv.mgr.mu.Unlock()
}

// TestStartRetry covers a broker outage at the manager: a transient failure keeps the pipe in its
// transitional state with a StateReason naming the retry, and the pipe runs once the failure goes (it
// used to fail the pipe for good).
func TestStartRetry(t *testing.T) {
	h, ff := newFlaky(t)
	fastBackoff(h)
	h.create("p", types.RequestedPipeStateRunning)
	d := h.waitReason("p", types.PipeStateCreating, `^retrying in [0-9.]+m?s, at \d\d:\d\d:\d\dZ \(attempt \d+ failed\): connecting to broker 127\.0\.0\.1:1: .*connection refused$`)
	t.Logf("StateReason while retrying: %s", aws.ToString(d.StateReason))
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if n := ff.attempts("p"); n < 3 {
			return fmt.Errorf("%d attempts, want 3 or more", n)
		}
		return nil
	})
	ff.heal()
	d = h.waitState("p", types.PipeStateRunning)
	if r := aws.ToString(d.StateReason); r != "" {
		t.Errorf("StateReason of the running pipe = %q, want none", r)
	}
	metrics := scrapeMetrics(t, h)
	for _, want := range []string{`sluice_pipe_state{pipe="p",state="RUNNING"} 1`, `sluice_pipe_start_retries_total{pipe="p"} `} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `sluice_pipe_start_next_attempt_timestamp_seconds{pipe="p"}`) {
		t.Errorf("/metrics still has the next attempt of a running pipe")
	}

	// Resume retries too: STARTING, then RUNNING.
	h.stop()
	ff.mu.Lock()
	ff.healed = false
	ff.mu.Unlock()
	h.start(func(c *Config) {
		c.Factory = func(ctx context.Context, def *pipe.Definition, hooks Hooks) (Runner, error) {
			return ff.build(ctx, def, hooks)
		}
	})
	fastBackoff(h) // the first attempt may already have failed with the default backoff (at most 1s)
	h.waitReason("p", types.PipeStateStarting, `^retrying in `)
	if m := scrapeMetrics(t, h); !strings.Contains(m, `sluice_pipe_state{pipe="p",state="STARTING"} 1`) ||
		!strings.Contains(m, `sluice_pipe_start_next_attempt_timestamp_seconds{pipe="p"}`) {
		t.Errorf("/metrics of a retrying pipe lacks its state or next attempt:\n%s", grepLines(m, "sluice_pipe_"))
	}
	ff.heal()
	h.waitState("p", types.PipeStateRunning)
}

// TestCallsDuringStartRetry: a pipe retrying its start stays stoppable, deletable and updatable; each
// call cancels the retries at once.
func TestCallsDuringStartRetry(t *testing.T) {
	h, ff := newFlaky(t)
	setBackoff(h, supervisor.Backoff{Initial: time.Hour, Max: time.Hour}) // only an API call can end the wait
	for _, n := range []string{"stop", "delete", "update", "start"} {
		h.create(n, types.RequestedPipeStateRunning)
		h.waitReason(n, types.PipeStateCreating, `^retrying in (\d+h)?\d+m`)
	}
	if _, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("stop")}); err != nil {
		t.Fatalf("StopPipe while retrying: %v", err)
	}
	h.waitState("stop", types.PipeStateStopped)
	if _, err := h.client.DeletePipe(bg, &pipes.DeletePipeInput{Name: aws.String("delete")}); err != nil {
		t.Fatalf("DeletePipe while retrying: %v", err)
	}
	h.waitGone("delete")
	if _, err := h.client.UpdatePipe(bg, &pipes.UpdatePipeInput{Name: aws.String("update"), RoleArn: aws.String(testRole),
		Description: aws.String("v2")}); err != nil {
		t.Fatalf("UpdatePipe while retrying: %v", err)
	}
	h.waitReason("update", types.PipeStateUpdating, `^retrying in `)
	// StartPipe on a pipe retrying its start tries again at once.
	before := ff.attempts("start")
	if _, err := h.client.StartPipe(bg, &pipes.StartPipeInput{Name: aws.String("start")}); err != nil {
		t.Fatalf("StartPipe while retrying: %v", err)
	}
	h.waitReason("start", types.PipeStateStarting, `^retrying in `)
	if after := ff.attempts("start"); after <= before {
		t.Errorf("StartPipe while retrying: %d attempts before, %d after; want a new attempt", before, after)
	}
	ff.heal()
	setBackoff(h, supervisor.Backoff{Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond})
	if _, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("update")}); err != nil {
		t.Fatal(err)
	}
	h.waitState("update", types.PipeStateStopped) // StartPipe on a pipe still STOPPING is a ConflictException
	if _, err := h.client.StartPipe(bg, &pipes.StartPipeInput{Name: aws.String("update")}); err != nil {
		t.Fatal(err)
	}
	h.waitState("update", types.PipeStateRunning)
	if _, _, last := h.factory.stats("update"); last == nil || aws.ToString(last.Description) != "v2" {
		t.Errorf("the updated pipe runs %+v, want Description v2", last)
	}
}

// TestPermanentStartFailure: a permanent failure is not retried.
func TestPermanentStartFailure(t *testing.T) {
	h := newHarness(t)
	h.factory.set("p", behaviour{buildErr: fmt.Errorf("building HTTP target: %w", errors.New("resolving secret env:X: secret not found"))})
	h.create("p", types.RequestedPipeStateRunning)
	h.waitReason("p", types.PipeStateCreateFailed, `^building HTTP target: resolving secret env:X`)
	if b, _, _ := h.factory.stats("p"); b != 1 {
		t.Errorf("factory called %d times, want 1", b)
	}
}

// TestPanicsFailOnePipe is the supervisor boundary: a panic in the factory, in Run or in Close fails
// that pipe (or, in Close, lets the stop finish) with an internal-error reason, while the server and a
// neighbouring pipe go on.
func TestPanicsFailOnePipe(t *testing.T) {
	h := newHarness(t)
	h.create("neighbour", types.RequestedPipeStateRunning)
	h.waitState("neighbour", types.PipeStateRunning)

	h.factory.set("build", behaviour{panicFn: "boom in the factory"})
	h.create("build", types.RequestedPipeStateRunning)
	h.waitReason("build", types.PipeStateCreateFailed, `^internal error: building the pipe panicked: boom in the factory; see the server log$`)

	h.factory.set("run", behaviour{panicRun: "boom in Run"})
	h.create("run", types.RequestedPipeStateRunning)
	d := h.waitReason("run", types.PipeStateStartFailed, `^internal error: running the pipe panicked: boom in Run; see the server log$`)
	if d.DesiredState != types.RequestedPipeStateDescribeResponseRunning {
		t.Errorf("desired state after a panic = %s, want RUNNING (a restart or StartPipe tries again)", d.DesiredState)
	}

	h.factory.set("close", behaviour{panicStop: "boom in Close"})
	h.create("close", types.RequestedPipeStateRunning)
	h.waitState("close", types.PipeStateRunning)
	if _, err := h.client.StopPipe(bg, &pipes.StopPipeInput{Name: aws.String("close")}); err != nil {
		t.Fatal(err)
	}
	h.waitState("close", types.PipeStateStopped)

	// The panicking pipes can be fixed and started; the neighbour never stopped.
	h.factory.set("run", behaviour{})
	if _, err := h.client.StartPipe(bg, &pipes.StartPipeInput{Name: aws.String("run")}); err != nil {
		t.Fatal(err)
	}
	h.waitState("run", types.PipeStateRunning)
	h.waitState("neighbour", types.PipeStateRunning)
	if b, live, _ := h.factory.stats("neighbour"); b != 1 || live != 1 {
		t.Errorf("neighbour: %d builds, %d live runners; want 1 and 1", b, live)
	}

	// A restart resumes the panicking pipe without crashing, and fails it again.
	h.factory.set("run", behaviour{panicRun: "boom again"})
	h.stop()
	h.start()
	h.waitReason("run", types.PipeStateStartFailed, `boom again`)
	h.waitState("neighbour", types.PipeStateRunning)
}

func scrapeMetrics(t *testing.T, h *harness) string {
	t.Helper()
	resp, err := http.Get(h.hs.URL + "/metrics")
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

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
