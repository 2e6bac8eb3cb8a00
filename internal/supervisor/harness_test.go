package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
	"github.com/sluicehq/sluice/internal/supervisor/supervisortest"
	_ "github.com/sluicehq/sluice/internal/target/file" // the file:// target of the test pipes
)

// harness is a Manager over a bbolt store in a temporary directory, its pipes built by a scripted
// factory (supervisortest) unless an option gives another. It drives the Manager as the API does.
type harness struct {
	t       *testing.T
	dir     string
	opts    []harnessOpt
	store   *store.Bolt
	mgr     *supervisor.Manager
	reg     *prometheus.Registry
	plugins *plugin.Registry
	factory *supervisortest.Factory
}

// setup is what a harnessOpt may change.
type setup struct {
	Factory  supervisor.Factory
	Options  supervisor.ManagerOptions
	Registry *plugin.Registry // the plugins definitions are loaded with; default plugin.Default
}

type harnessOpt func(*setup)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), factory: supervisortest.New(), opts: opts}
	h.start()
	return h
}

// start opens the store and starts a Manager on h.dir (again, after stop), resuming the stored pipes.
func (h *harness) start(opts ...harnessOpt) {
	t := h.t
	t.Helper()
	st, err := store.Open(h.dir, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	su := setup{Factory: h.factory.Build, Registry: plugin.Default,
		Options: supervisor.ManagerOptions{StopTimeout: 5 * time.Second, Registerer: reg}}
	for _, o := range append(h.opts, opts...) {
		o(&su)
	}
	h.store, h.reg, h.plugins = st, reg, su.Registry
	h.mgr = supervisor.NewManager(st, su.Factory, su.Options)
	if err := h.mgr.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.mgr == nil {
		return
	}
	if err := h.mgr.Close(context.Background()); err != nil {
		h.t.Errorf("closing the manager: %v", err)
	}
	h.store.Close()
	h.mgr = nil
}

// definition is a valid test pipe: a Kafka source (never dialled by the scripted factory) and a file
// target.
func (h *harness) definition(name, desired string) *pipe.Definition {
	h.t.Helper()
	body := fmt.Sprintf(`{"Source":"smk://127.0.0.1:9092","Target":"file:///tmp/sluice-supervisor-test/%s.jsonl",
		"RoleArn":"arn:aws:iam::000000000000:role/sluice","DesiredState":%q,
		"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"orders","BatchSize":10}}}`, name, desired)
	return h.load(name, body)
}

// load loads a CreatePipe body as the API does.
func (h *harness) load(name, body string) *pipe.Definition {
	h.t.Helper()
	def, err := pipe.Load([]byte(body), h.plugins, func(d *pipe.Definition) error { d.Name = name; return nil })
	if err != nil {
		h.t.Fatalf("loading pipe %s: %v", name, err)
	}
	return def
}

func (h *harness) create(name, desired string) *store.Record {
	h.t.Helper()
	return h.createDef(h.definition(name, desired))
}

func (h *harness) createDef(def *pipe.Definition) *store.Record {
	h.t.Helper()
	rec, err := h.mgr.Create(h.t.Context(), def)
	if err != nil {
		h.t.Fatalf("Create(%s): %v", def.Name, err)
	}
	return rec
}

func (h *harness) get(name string) *store.Record {
	h.t.Helper()
	r, err := h.store.Get(h.t.Context(), name)
	if err != nil {
		h.t.Fatalf("Get(%s): %v", name, err)
	}
	return r
}

// waitState waits until the pipe's CurrentState is want.
func (h *harness) waitState(name, want string) *store.Record {
	h.t.Helper()
	return h.waitReason(name, want, "")
}

// waitReason waits until the pipe is in state want with a StateReason matching re.
func (h *harness) waitReason(name, want, re string) *store.Record {
	h.t.Helper()
	rx := regexp.MustCompile(re)
	var last *store.Record
	kafkatest.Eventually(h.t, 20*time.Second, func() error {
		r, err := h.store.Get(h.t.Context(), name)
		if err != nil {
			return err
		}
		last = r
		if r.CurrentState != want || !rx.MatchString(r.StateReason) {
			return fmt.Errorf("pipe %s is %s (reason %q), want %s with a reason matching %q", name, r.CurrentState, r.StateReason, want, re)
		}
		return nil
	})
	return last
}

// waitGone waits until the pipe's record is gone.
func (h *harness) waitGone(name string) {
	h.t.Helper()
	kafkatest.Eventually(h.t, 10*time.Second, func() error {
		_, err := h.store.Get(h.t.Context(), name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("Get(%s) = %v, want ErrNotFound", name, err)
	})
}

// waitRunners waits until the pipe's runner was built builds times and live of them are running.
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

// metrics returns the manager's series in the text exposition format.
func (h *harness) metrics() string {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
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
