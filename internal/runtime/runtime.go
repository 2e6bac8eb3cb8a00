// Package runtime runs one pipe: it reads batches from the Kafka source, filters each record with the
// pipe's FilterCriteria, optionally enriches the survivors (EnrichmentParameters.InputTemplate per event,
// then the enrichment call), applies the target InputTemplate per event, delivers to the target in chunks
// no larger than the target accepts, and only then lets the source commit the batch's offsets.
//
// Pipes semantics kept here:
//   - filtering is per record; filtered-out records are committed with their batch, and a batch whose
//     records are all filtered out is committed without invoking the enrichment or the target;
//   - templates apply per event; `<aws.pipes.event.ingestion-time>` is the time the stage's transformer
//     received the batch, so the enrichment and target stages see different times;
//   - an enrichment may return fewer or more events than it was given; zero events (an HTTP body of "",
//     {} or []) skips the target ("target stage skipped") and the batch is committed;
//   - a batch is delivered in chunks of at most the target's MaxBatch (its plugin.TargetSpec), in order,
//     and likewise handed to an enrichment in chunks of its MaxBatch when it has one;
//   - per-partition order: the source hands out a partition's next batch only after the handler returned
//     for the previous one, and a failing batch is retried (deliver.go) before anything after it.
//
// Dynamic parameters (JSON paths in a target's parameters) read the event as it was before the target
// InputTemplate, as in Pipes: every delivery call (plugin.Batch) carries both forms, and an enrichment
// call the records before the enrichment template.
//
// Lifecycle: New validates the definition, compiles filters and templates, builds the enrichment and
// target (which dial nothing) and then the source, which checks with one metadata request that the
// cluster answers, accepts the credentials and has the topic. Run consumes until ctx ends and then
// drains: it stops taking new batches, lets in-flight executions finish for up to Deps.DrainTimeout and
// abandons the rest uncommitted, and the source commits what was delivered. Close releases the source,
// enrichment and target. Targets and enrichments must not keep the events they are given after their
// call returns.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/concurrency"
	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/source/kafka"
	"github.com/sluicehq/sluice/pattern"
	"github.com/sluicehq/sluice/transform"
)

// DefaultDrainTimeout is how long Run waits, after its context ends, for in-flight executions to finish
// before abandoning them (their batches stay uncommitted and are read again by the next consumer).
const DefaultDrainTimeout = 20 * time.Second

// shutdownGrace is the least time the source gets to commit and leave the group after the drain, even
// when the drain used up the whole drain timeout.
const shutdownGrace = time.Second

// Deps are the services a pipe uses besides its definition.
type Deps struct {
	// Registry maps Target and Enrichment strings to plugin specs; nil means plugin.Default.
	Registry *plugin.Registry
	// AWS is handed to plugins as plugin.Env.AWS (nil: the host has no AWS support configured): this
	// pipe's, awsclient.Provider.For with its name, RoleArn and sandbox (api.RuntimeOptions.AWS makes
	// one per pipe).
	AWS plugin.AWSConfig
	// Secrets resolves secret references for the source's credentials and for plugins.
	Secrets plugin.SecretResolver
	// Logger receives the runtime's logs; every record carries the pipe name. Nil discards them.
	Logger *slog.Logger
	// Metrics is where the pipe's series are registered (internal/metrics); nil registers nothing.
	Metrics prometheus.Registerer
	// Region and Account make the pipe's ARN for `<aws.pipes.pipe-arn>` (defaults awsid.DefaultRegion,
	// awsid.DefaultAccount).
	Region, Account string
	// DrainTimeout bounds the drain after Run's context ends; zero means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Retry is the backoff between attempts of a failing execution; zero fields take the defaults.
	Retry Backoff
	// ExecutionLog receives the pipe's execution log (LogConfiguration) as JSON lines; nil means
	// standard error. (guarantees.go)
	ExecutionLog io.Writer
	// ExecutionTimeout is the execution limit; zero means DefaultExecutionTimeout (5 minutes, as Pipes).
	ExecutionTimeout time.Duration
	// Sandbox confines the pipe's target, enrichment and dead-letter destination (files under the
	// operator's roots, egress checked at every dial); handed to plugins in plugin.Env. The zero value,
	// sandbox.Unrestricted, is what `sluice run` uses.
	Sandbox sandbox.Policy
	// InstanceID is the source's static group member ID (group.instance.id); empty derives one per pipe
	// and host (kafka.Config.InstanceID). Set it only where one process runs one pipe (`sluice run`).
	InstanceID string
	// SessionTimeout is the source's consumer-group session timeout; zero means kafka.DefaultSessionTimeout.
	SessionTimeout time.Duration
	// NoOverlap makes each partition filter and render its next batch only once the current one is
	// delivered (kafka.Config.Overlap off); for measurements.
	NoOverlap bool
	// Watch, when set, is told the outcome of every call to the pipe's target and enrichment (not the
	// dead-letter destination): the part ("target" or "enrichment"), its endpoint, and the call's error
	// (nil on success). Calls cut short because the execution's context ended are not reported. It is
	// called on the partitions' goroutines and must not block; internal/api's auto-stop watches them.
	Watch func(part, endpoint string, err error)
}

// Pipe is one running pipe. Its methods are safe for concurrent use; Run is called once.
type Pipe struct {
	name    string
	log     *slog.Logger
	vars    transform.Vars // identity part of the template variables; IngestionTime set per stage
	drain   time.Duration
	backoff Backoff

	filters *pattern.Set // nil: every record passes

	enricher       plugin.Enricher
	enrichMax      int // 0: no limit
	enrichLimit    int // the spec's MaxPayloadBytes (0: plugin.MaxPayloadBytes)
	enrichTemplate *transform.Template

	target         plugin.Target
	targetMax      int // 0: no limit
	targetLimit    int // the spec's MaxPayloadBytes (0: plugin.MaxPayloadBytes)
	targetTemplate *transform.Template
	// compactTarget: the target is a plugin.CompactJSONTarget, so its template is rendered compact.
	compactTarget bool
	keyed         plugin.Keyed // the target, when it reads a key path (nil otherwise)

	watch       func(part, endpoint string, err error) // Deps.Watch; nil: nobody watches
	renders     sync.Pool                              // *rendered: the target stage's payload memory (execute.go)
	prepBatches sync.Pool                              // *prepared: a batch's filtered events and payloads (execute.go)

	src *kafka.Source

	// limiter bounds the executions running at once across partitions and halves that bound when the
	// target is overloaded (package concurrency); its ceiling follows the partitions assigned.
	limiter *concurrency.Limiter

	g *guarantees // delivery policy, execution log and metrics (guarantees.go)

	mu       sync.Mutex
	draining bool
	inflight sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// New validates def with deps.Registry (already defaulted by the caller with SetDefaults; an invalid one gives an error
// wrapping pipe.FieldErrors before anything is dialled), compiles its filters and templates, and builds
// its enrichment, target and source (see the package comment for what New checks on the cluster).
func New(ctx context.Context, def *pipe.Definition, deps Deps) (*Pipe, error) {
	if def == nil {
		return nil, errors.New("creating pipe: nil definition")
	}
	reg := deps.Registry
	if reg == nil {
		reg = plugin.Default
	}
	if errs := def.Validate(reg); len(errs) > 0 {
		return nil, fmt.Errorf("pipe %s: invalid definition: %w", def.Name, errs)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Pipe{
		name: def.Name,
		log:  log.With("pipe", def.Name),
		vars: transform.Vars{
			PipeArn:       awsid.PipeArn(deps.Region, deps.Account, def.Name),
			PipeName:      def.Name,
			SourceArn:     def.Source,
			EnrichmentArn: def.Enrichment,
			TargetArn:     def.Target,
		},
		drain:   deps.DrainTimeout,
		backoff: deps.Retry.withDefaults(),
		limiter: concurrency.New(1),
		watch:   deps.Watch,
	}
	if p.drain <= 0 {
		p.drain = DefaultDrainTimeout
	}
	ok := false
	defer func() {
		if !ok {
			p.Close(context.WithoutCancel(ctx))
		}
	}()
	if err := p.compile(def); err != nil {
		return nil, err
	}
	env := plugin.Env{PipeName: def.Name, PipeArn: p.vars.PipeArn, RoleArn: def.RoleArn, Secrets: deps.Secrets,
		Sandbox: deps.Sandbox}
	if deps.AWS != nil {
		env.AWS = deps.AWS
	}
	var err error
	if p.g, err = newGuarantees(ctx, def, deps, reg, &env); err != nil { // may wrap env.Secrets
		return nil, err
	}
	if err := p.buildEnrichment(ctx, reg, env, def); err != nil {
		return nil, err
	}
	if err := p.buildTarget(ctx, reg, env, def); err != nil {
		return nil, err
	}
	cfg, err := SourceConfig(def, env.Secrets, p.log)
	if err != nil {
		return nil, err
	}
	// The source's brokers are dialled under the operator's policy.
	cfg.Auth.Egress = env.Sandbox.Egress
	cfg.InstanceID, cfg.SessionTimeout = deps.InstanceID, deps.SessionTimeout
	cfg.ClientOpts = append(cfg.ClientOpts, p.g.kafkaOpts(metrics.ClientSource)...) // franz-go client metrics
	// handle keeps no event past its return (plugins may not either, and dead letters and the execution
	// log copy what they keep), so a partition's batches can share one event buffer.
	cfg.ReuseEventBuffers = true
	// Each partition filters and renders its next batch while the current one is delivered (execute.go),
	// except in exactly-once mode, where a transaction's round ends only when every batch it polled was
	// delivered, so preparing ahead would gain nothing and hold a batch across the round's End.
	cfg.Prepare, cfg.Overlap = p.prepare, !deps.NoOverlap && cfg.ExactlyOnce == nil
	if p.src, err = kafka.New(ctx, cfg); err != nil {
		return nil, fmt.Errorf("creating source of pipe %s: %w", def.Name, err)
	}
	p.g.watchLag(p.src.Lag)
	ok = true
	return p, nil
}

// compile builds the filter set and the input templates.
func (p *Pipe) compile(def *pipe.Definition) error {
	if sp := def.SourceParameters; sp != nil && sp.FilterCriteria != nil && len(sp.FilterCriteria.Filters) > 0 {
		ps := make([][]byte, len(sp.FilterCriteria.Filters))
		for i, f := range sp.FilterCriteria.Filters {
			ps[i] = []byte(f.Pattern)
		}
		set, err := pattern.CompileSet(ps)
		if err != nil {
			return fmt.Errorf("pipe %s: compiling SourceParameters.FilterCriteria: %w", p.name, err)
		}
		p.filters = set
	}
	var err error
	if ep := def.EnrichmentParameters; ep != nil && ep.InputTemplate != nil && *ep.InputTemplate != "" {
		if p.enrichTemplate, err = transform.Parse(*ep.InputTemplate); err != nil {
			return fmt.Errorf("pipe %s: parsing EnrichmentParameters.InputTemplate: %w", p.name, err)
		}
	}
	if tp := def.TargetParameters; tp != nil && tp.InputTemplate != nil && *tp.InputTemplate != "" {
		if p.targetTemplate, err = transform.Parse(*tp.InputTemplate); err != nil {
			return fmt.Errorf("pipe %s: parsing TargetParameters.InputTemplate: %w", p.name, err)
		}
	}
	return nil
}

func (p *Pipe) buildEnrichment(ctx context.Context, reg *plugin.Registry, env plugin.Env, def *pipe.Definition) error {
	if def.Enrichment == "" {
		return nil
	}
	spec, ok := reg.EnricherSpec(def.Enrichment)
	if !ok {
		return fmt.Errorf("pipe %s: Enrichment %q: unknown kind %q (known: %s)", p.name, def.Enrichment,
			plugin.Kind(def.Enrichment), strings.Join(reg.EnricherKinds(), ", "))
	}
	c, err := def.EnrichmentCheck()
	if err != nil {
		return fmt.Errorf("pipe %s: %w", p.name, err)
	}
	// Assigned only on success: a constructor returning a typed nil with its error would make p.enricher
	// a non-nil interface, and Close would call Close on a nil pointer.
	e, err := spec.New(ctx, env, c)
	if err != nil {
		return fmt.Errorf("pipe %s: creating enrichment: %w", p.name, err)
	}
	if isNil(e) {
		return fmt.Errorf("pipe %s: creating enrichment: the %s plugin returned no enrichment", p.name, plugin.Kind(def.Enrichment))
	}
	p.enricher, p.enrichMax, p.enrichLimit = e, spec.MaxBatch, spec.MaxPayloadBytes
	return nil
}

func (p *Pipe) buildTarget(ctx context.Context, reg *plugin.Registry, env plugin.Env, def *pipe.Definition) error {
	spec, ok := reg.TargetSpec(def.Target)
	if !ok {
		return fmt.Errorf("pipe %s: Target %q: unknown kind %q (known: %s)", p.name, def.Target,
			plugin.Kind(def.Target), strings.Join(reg.TargetKinds(), ", "))
	}
	c, err := def.TargetCheck()
	if err != nil {
		return fmt.Errorf("pipe %s: %w", p.name, err)
	}
	t, err := spec.New(ctx, env, c)
	if err != nil { // p.target stays nil (see buildEnrichment)
		return fmt.Errorf("pipe %s: creating target: %w", p.name, err)
	}
	if isNil(t) {
		return fmt.Errorf("pipe %s: creating target: the %s plugin returned no target", p.name, plugin.Kind(def.Target))
	}
	p.target, p.targetMax, p.targetLimit = t, spec.MaxBatch, spec.MaxPayloadBytes
	p.keyed, _ = t.(plugin.Keyed)
	if ct, ok := t.(plugin.CompactJSONTarget); ok {
		p.compactTarget = ct.CompactJSON()
	}
	return nil
}

// SourceConfig maps a definition's Source and SelfManagedKafkaParameters to the Kafka source's Config.
func SourceConfig(def *pipe.Definition, secrets plugin.SecretResolver, log *slog.Logger) (kafka.Config, error) {
	var smk *pipe.SelfManagedKafkaParameters
	if def.SourceParameters != nil {
		smk = def.SourceParameters.SelfManagedKafkaParameters
	}
	if smk == nil {
		return kafka.Config{}, fmt.Errorf("pipe %s: SourceParameters.SelfManagedKafkaParameters is required", def.Name)
	}
	broker, ok := strings.CutPrefix(def.Source, "smk://")
	if !ok {
		return kafka.Config{}, fmt.Errorf("pipe %s: Source %q: want smk://host:port", def.Name, def.Source)
	}
	mech, ref := smk.Credentials.Mechanism()
	cfg := kafka.Config{
		Pipe:             def.Name,
		Brokers:          append([]string{broker}, smk.AdditionalBootstrapServers...),
		Topic:            smk.TopicName,
		StartingPosition: smk.StartingPosition,
		MaxBatchBytes:    plugin.MaxPayloadBytes,
		ConsumerGroupID:  smk.ConsumerGroupID,
		Auth:             kafkaauth.Auth{Mechanism: mech, SecretRef: ref, RootCARef: smk.ServerRootCaCertificate},
		Secrets:          secrets,
		Logger:           log,
	}
	if smk.BatchSize != nil {
		cfg.BatchSize = *smk.BatchSize
	}
	if smk.MaximumBatchingWindowInSeconds != nil {
		cfg.BatchWindow = time.Duration(*smk.MaximumBatchingWindowInSeconds) * time.Second
	}
	eo, err := exactlyOnceConfig(def) // exactlyonce.go
	cfg.ExactlyOnce = eo
	return cfg, err
}

// Name returns the pipe's name.
func (p *Pipe) Name() string { return p.name }

// Lag returns the consumer lag per partition (records behind the partition's end).
func (p *Pipe) Lag() map[int32]int64 { return p.src.Lag() }

// Run consumes and delivers until ctx ends, then drains. It returns nil after a drain, or the error that
// stopped the source (a failing handler never stops it: failures are retried in deliver.go).
func (p *Pipe) Run(ctx context.Context) error {
	// The source runs on its own context so that cancelling ctx does not cancel in-flight executions at
	// once: they get DrainTimeout to finish and be committed.
	srcCtx, cancelSrc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSrc()
	done := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		p.beginDrain()
		deadline := time.Now().Add(p.drain)
		finished := make(chan struct{})
		go func() { p.inflight.Wait(); close(finished) }()
		timer := time.NewTimer(p.drain)
		defer timer.Stop()
		select {
		case <-finished:
			p.log.Info("drained: in-flight batches finished")
		case <-timer.C:
			p.log.Warn("drain timeout: abandoning in-flight batches, they stay uncommitted", "timeout", p.drain)
		case <-done:
		}
		cancelSrc()
		// The source now commits what was acknowledged and leaves the group, which can block: a group
		// join in progress waits for every member, up to a dead member's session timeout (45 s). It gets
		// what is left of the drain timeout (at least shutdownGrace), then is aborted.
		abortAfter := time.NewTimer(max(time.Until(deadline), shutdownGrace))
		defer abortAfter.Stop()
		select {
		case <-done:
		case <-abortAfter.C:
			p.log.Warn("source shutdown exceeds the drain timeout: aborting it; acknowledged batches not yet committed will be read again", "timeout", p.drain)
			p.src.Abort()
		}
	}()
	p.log.Info("pipe running")
	err := p.src.Run(srcCtx, func(ctx context.Context, b *kafka.Batch) error {
		return p.guard("handling a batch", func() error { return p.handle(ctx, b) }) // recover.go
	})
	close(done)
	<-drained
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("running pipe %s: %w", p.name, err)
	}
	p.log.Info("pipe stopped")
	return nil
}

// beginDrain makes handle refuse new batches.
func (p *Pipe) beginDrain() {
	p.mu.Lock()
	p.draining = true
	p.mu.Unlock()
}

// enter registers an in-flight execution, or reports false when the pipe is draining.
func (p *Pipe) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.draining {
		return false
	}
	p.inflight.Add(1)
	return true
}

// Close commits what was delivered, leaves the consumer group and releases the enrichment and target. It
// is idempotent.
func (p *Pipe) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		var errs []error
		if p.src != nil {
			if err := p.src.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("closing source of pipe %s: %w", p.name, err))
			}
		}
		for _, part := range []any{p.enricher, p.target} {
			if c, ok := part.(plugin.Closer); ok {
				if err := c.Close(ctx); err != nil {
					errs = append(errs, fmt.Errorf("closing pipe %s: %w", p.name, err))
				}
			}
		}
		if err := p.g.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing pipe %s: %w", p.name, err))
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// Concurrency returns how many executions the pipe currently lets run at once across its partitions
// (package concurrency): the number of assigned partitions while the target keeps up, fewer after it
// throttled or failed with server errors.
func (p *Pipe) Concurrency() int { return p.limiter.Limit() }
