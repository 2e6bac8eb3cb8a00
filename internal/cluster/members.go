package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	kafkasrc "github.com/sluicehq/sluice/internal/source/kafka"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// Members runs this node's members: for every pipe the assignment gives the node (Apply), one runner
// built by the supervisor's Factory, in the pipe's consumer group; it stops the members of pipes no
// longer assigned, and restarts a member whose stored definition changed (Refresh, from the store's
// Watch). The lifecycle states (CREATING, RUNNING, ...) stay the supervisor's; a member is only
// "this node consumes for the pipe".
type Members struct {
	store   store.Store
	factory supervisor.Factory
	log     *slog.Logger
	stop    time.Duration

	mu       sync.Mutex
	assigned []string
	running  map[string]*member
	wg       sync.WaitGroup
}

type member struct {
	rev    uint64
	cancel context.CancelFunc
	done   chan struct{}
	runner supervisor.Runner // nil until built; guarded by Members.mu
}

// partitioned is what *runtime.Pipe offers about the partitions its member owns now.
type partitioned interface {
	Lag() map[int32]int64
}

// Owned returns, per pipe, how many source partitions this node's member owns now (the pipe's group
// protocol decides): the node status' Partitions and sluice_cluster_owned_partitions.
func (ms *Members) Owned() map[string]int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := map[string]int{}
	for name, m := range ms.running {
		if p, ok := m.runner.(partitioned); ok {
			out[name] = len(p.Lag())
		}
	}
	return out
}

// NewMembers returns the member runner of a node; stopTimeout bounds a member's drain.
func NewMembers(st store.Store, factory supervisor.Factory, stopTimeout time.Duration, log *slog.Logger) *Members {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Members{store: st, factory: factory, log: log, stop: stopTimeout, running: map[string]*member{}}
}

// Apply makes the running members those of pipes (Config.Apply).
func (ms *Members) Apply(ctx context.Context, pipes []string) {
	ms.mu.Lock()
	ms.assigned = slices.Clone(pipes)
	var names []string
	for name := range ms.running {
		names = append(names, name)
	}
	ms.mu.Unlock()
	for _, name := range slices.Concat(names, pipes) {
		ms.Refresh(ctx, name)
	}
}

// Refresh brings the member of one pipe in line with the assignment and the stored record: started
// when assigned and RUNNING, stopped when not, restarted when the record's definition changed.
func (ms *Members) Refresh(ctx context.Context, name string) {
	ms.mu.Lock()
	want := slices.Contains(ms.assigned, name)
	cur := ms.running[name]
	ms.mu.Unlock()
	var rec *store.Record
	if want {
		r, err := ms.store.Get(ctx, name)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				ms.log.Warn("cluster member: reading the pipe", "pipe", name, "error", err)
			}
			want = false
		} else if r.DesiredState != pipe.StateRunning {
			want = false
		} else {
			rec = r
		}
	}
	if cur != nil && (!want || definitionChanged(cur, rec)) {
		ms.stopMember(name, cur)
		cur = nil
	}
	if want && cur == nil {
		ms.startMember(ctx, rec)
	}
}

// definitionChanged reports whether rec holds another definition than the member runs: a member
// restarts for UpdatePipe, not for the state writes the supervisor makes (those bump the record's
// Revision too, so the definition's own bytes are compared).
func definitionChanged(m *member, rec *store.Record) bool {
	return rec != nil && m.rev != defRevision(rec)
}

// defRevision identifies a definition: a hash of its stored bytes.
func defRevision(rec *store.Record) uint64 {
	var h uint64 = 14695981039346656037
	for _, b := range rec.Definition {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

func (ms *Members) startMember(ctx context.Context, rec *store.Record) {
	def, err := supervisor.StoredDefinition(rec, nil) // serve --cluster runs plugin.Default
	if err != nil {
		ms.log.Warn("cluster member: decoding the pipe", "pipe", rec.Name, "error", err)
		return
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m := &member{rev: defRevision(rec), cancel: cancel, done: make(chan struct{})}
	ms.mu.Lock()
	ms.running[rec.Name] = m
	ms.mu.Unlock()
	ms.wg.Go(func() {
		defer close(m.done)
		// A member that cannot be built, or whose runner stops on its own, is tried again while it
		// stays assigned: the supervisor reports the pipe's failures; the member only keeps trying.
		for delay := time.Second; mctx.Err() == nil; delay = min(2*delay, 30*time.Second) {
			if ms.runOnce(mctx, def, m) {
				delay = time.Second
			}
			select {
			case <-mctx.Done():
			case <-time.After(delay):
			}
		}
	})
}

// runOnce builds and runs the member until ctx ends or the runner stops; it reports whether the
// runner was built.
func (ms *Members) runOnce(ctx context.Context, def *pipe.Definition, m *member) bool {
	r, err := ms.factory(ctx, def, supervisor.Hooks{})
	if err != nil {
		if ctx.Err() == nil {
			ms.log.Warn("cluster member: building the pipe; retrying", "pipe", def.Name, "error", err)
		}
		return false
	}
	ms.mu.Lock()
	m.runner = r
	ms.mu.Unlock()
	defer func() {
		ms.mu.Lock()
		m.runner = nil
		ms.mu.Unlock()
	}()
	ms.log.Info("cluster member started", "pipe", def.Name)
	if err := r.Run(ctx); err != nil && ctx.Err() == nil {
		ms.log.Warn("cluster member: the runner stopped; restarting", "pipe", def.Name, "error", err)
	}
	cctx, cancel := context.WithTimeout(context.Background(), ms.stop)
	defer cancel()
	if err := r.Close(cctx); err != nil {
		ms.log.Warn("cluster member: closing", "pipe", def.Name, "error", err)
	}
	ms.log.Info("cluster member stopped", "pipe", def.Name)
	return true
}

func (ms *Members) stopMember(name string, m *member) {
	m.cancel()
	<-m.done
	ms.mu.Lock()
	if ms.running[name] == m {
		delete(ms.running, name)
	}
	ms.mu.Unlock()
}

// Running returns the pipes with a member on this node, sorted.
func (ms *Members) Running() []string {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	var out []string
	for name := range ms.running {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Close stops every member.
func (ms *Members) Close() {
	ms.Apply(context.Background(), nil)
	ms.wg.Wait()
}

// RunningPipes is a Config.Pipes over a store: the pipes whose desired state is RUNNING, except those
// whose source check failed (CREATE_FAILED, START_FAILED, UPDATE_FAILED): as on a single node, a failed
// pipe runs nowhere until StartPipe or UpdatePipe retries it. Transitional states (STARTING during a
// node's restart, UPDATING) are still placed, so that restarts do not stop members.
func RunningPipes(st store.Store) func(ctx context.Context) ([]Pipe, error) {
	return func(ctx context.Context) ([]Pipe, error) {
		recs, err := st.List(ctx)
		if err != nil {
			return nil, err
		}
		var out []Pipe
		for _, r := range recs {
			if placeable(r) {
				out = append(out, Pipe{Name: r.Name})
			}
		}
		return out, nil
	}
}

// placeable reports whether a stored pipe should have members.
func placeable(r *store.Record) bool {
	if r.DesiredState != pipe.StateRunning {
		return false
	}
	switch r.CurrentState {
	case pipe.StateCreateFailed, pipe.StateStartFailed, pipe.StateUpdateFailed:
		return false
	}
	return true
}

// PipeLag is a Config.Lag over a store: it reads the pipe's source (brokers, topic, consumer group,
// credentials) and measures with LagOf on a client made with the pipe's own credentials.
func PipeLag(st store.Store, secrets plugin.SecretResolver, log *slog.Logger) func(ctx context.Context, name string) (int64, int, error) {
	return func(ctx context.Context, name string) (int64, int, error) {
		rec, err := st.Get(ctx, name)
		if err != nil {
			return 0, 0, err
		}
		def, err := supervisor.StoredDefinition(rec, nil) // serve --cluster runs plugin.Default
		if err != nil {
			return 0, 0, err
		}
		cfg, err := runtime.SourceConfig(def, secrets, log)
		if err != nil {
			return 0, 0, err
		}
		opts, err := kafkaauth.Options(ctx, cfg.Auth, secrets)
		if err != nil {
			return 0, 0, fmt.Errorf("source credentials of pipe %s: %w", name, err)
		}
		cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(cfg.Brokers...))...)
		if err != nil {
			return 0, 0, fmt.Errorf("connecting to the source of pipe %s: %w", name, err)
		}
		defer cl.Close()
		group := cfg.ConsumerGroupID
		if group == "" {
			group = "sluice-" + name // as the source names it (internal/source/kafka)
		}
		return LagOf(ctx, kadm.NewClient(cl), cfg.Topic, group)
	}
}

// InstanceIDFor returns a supervisor.RuntimeOptions.InstanceID for node: "<group>-<node>", the pipe's
// consumer group and the node ID, so that each node's member of a pipe is one static member of the
// pipe's group (KIP-345) and keeps its partitions through a restart of the node. A result Kafka would
// refuse (over 249 characters) falls back to the source's own derivation (empty).
func InstanceIDFor(node string) func(def *pipe.Definition) string {
	return func(def *pipe.Definition) string {
		group := "sluice-" + def.Name // as the source names it (internal/source/kafka)
		if sp := def.SourceParameters; sp != nil && sp.SelfManagedKafkaParameters != nil && sp.SelfManagedKafkaParameters.ConsumerGroupID != "" {
			group = sp.SelfManagedKafkaParameters.ConsumerGroupID
		}
		id := group + "-" + node
		if kafkasrc.CheckInstanceID(id) != nil {
			return ""
		}
		return id
	}
}
