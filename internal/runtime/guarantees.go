package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/execlog"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/retry"
	"github.com/sluicehq/sluice/internal/source/kafka"
)

// DefaultExecutionTimeout is the execution limit (enrichment + target for one batch), Pipes' 5 minutes.
const DefaultExecutionTimeout = 5 * time.Minute

// guarantees is a pipe's delivery policy: its retry policy and dead-letter destination, its execution
// limit, its execution log and its metrics. deliver.go and execution.go apply it.
//
// Decisions where Pipes is silent (documented for users in the README):
//   - The execution log's awsRequest is the JSON array sent to the enrichment or target and, for an
//     enrichment, awsResponse the array it returned; plugins do not hand the runtime their raw HTTP
//     exchange. Secrets the pipe resolves (connection API keys, passwords, SASL credentials) are masked
//     wherever they would appear in a log record.
//   - EXECUTION_PARTIALLY_FAILED, TARGET_STAGE_PARTIALLY_FAILED and TARGET_INVOCATION_PARTIALLY_FAILED
//     are emitted when a batch API accepted some entries and refused others (plugin.PartialError), as
//     Pipes does for such targets; a failed response body such as batchItemFailures is a whole failure
//     for Kafka sources. A bisected batch logs one execution per attempted range.
//   - A template that fails on an event is a permanent failure: with a dead-letter destination the event
//     is isolated and dead-lettered at once; without one it is retried at the backoff cap, blocking its
//     partition like any other failure in Pipes.
type guarantees struct {
	policy  retry.Policy
	timeout time.Duration

	dlq    plugin.Target // nil: no dead-letter destination
	dlqArn string
	dlqMax int // the destination's MaxBatch (0: no limit)

	xlog       *execlog.Logger  // never nil; at Level OFF it writes nothing
	metrics    *metrics.Pipe    // nil when Deps.Metrics is nil
	metricsSet *metrics.Metrics // the process's series, for the Kafka client hooks
	stopLag    func()
}

// newGuarantees builds the delivery policy of def: the retry limits and dead-letter destination of the
// SelfManagedKafkaParameters extensions (the destination built through the plugin registry like a
// target: kafka://, file://, or a registered ARN kind), the execution log of LogConfiguration written to
// deps.ExecutionLog, and the metrics registered with deps.Metrics. It replaces env.Secrets by a resolver
// that tells the execution log every secret value resolved, so that plugins built after it are covered.
func newGuarantees(ctx context.Context, def *pipe.Definition, deps Deps, reg *plugin.Registry, env *plugin.Env) (*guarantees, error) {
	g := &guarantees{timeout: deps.ExecutionTimeout}
	if g.timeout <= 0 {
		g.timeout = DefaultExecutionTimeout
	}

	var cfg execlog.Config
	if lc := def.LogConfiguration; lc != nil {
		var err error
		if cfg, err = execlog.ParseConfig(lc.Level, lc.IncludeExecutionData); err != nil {
			return nil, fmt.Errorf("pipe %s: LogConfiguration: %w", def.Name, err)
		}
	}
	w := deps.ExecutionLog
	if w == nil {
		w = os.Stderr
	}
	g.xlog = execlog.New(w, env.PipeArn, cfg)
	if env.Secrets != nil {
		env.Secrets = &secretTap{inner: env.Secrets, log: g.xlog}
	}

	var smk *pipe.SelfManagedKafkaParameters
	if def.SourceParameters != nil {
		smk = def.SourceParameters.SelfManagedKafkaParameters
	}
	var maxRetries, maxAge *int
	if smk != nil {
		maxRetries, maxAge = smk.MaximumRetryAttempts, smk.MaximumRecordAgeInSeconds
		if smk.DeadLetterConfig != nil && smk.DeadLetterConfig.Arn != "" {
			g.dlqArn = smk.DeadLetterConfig.Arn
			spec, ok := reg.TargetSpec(g.dlqArn)
			if !ok {
				return nil, fmt.Errorf("pipe %s: SelfManagedKafkaParameters.DeadLetterConfig.Arn %q: unknown kind %q",
					def.Name, g.dlqArn, plugin.Kind(g.dlqArn))
			}
			t, err := spec.New(ctx, *env, def.DeadLetterCheck(g.dlqArn))
			if err == nil && isNil(t) {
				err = errors.New("the plugin returned no destination")
			}
			if err != nil { // g.dlq stays nil: a typed nil would be closed by close
				return nil, fmt.Errorf("pipe %s: creating the dead-letter destination %s: %w", def.Name, g.dlqArn, err)
			}
			g.dlq, g.dlqMax = t, spec.MaxBatch
		}
	}
	b := deps.Retry.withDefaults()
	g.policy = retry.FromPipe(maxRetries, maxAge, g.dlq != nil)
	g.policy.Base, g.policy.Cap = b.Initial, b.Max

	if deps.Metrics != nil {
		g.metricsSet = metrics.NewMetrics(deps.Metrics)
		g.metrics = g.metricsSet.Pipe(def.Name)
	}
	return g, nil
}

// watchLag publishes the source's consumer lag at every scrape; called once the source exists.
func (g *guarantees) watchLag(lag func() map[int32]int64) {
	if g != nil && g.metrics != nil {
		g.stopLag = g.metrics.WatchLag(lag)
	}
}

// kafkaOpts returns the kgo options that publish a franz-go client's metrics under the pipe's name.
func (g *guarantees) kafkaOpts(role string) []kgo.Opt {
	if g == nil || g.metricsSet == nil {
		return nil
	}
	return []kgo.Opt{g.metricsSet.KafkaHooks(g.metrics.Name(), role)}
}

// observeBatch counts a batch read from Kafka and the records the filters dropped from it.
func (g *guarantees) observeBatch(records, kept int) {
	if g == nil || g.metrics == nil {
		return
	}
	g.metrics.RecordsRead.Add(float64(records))
	if records > kept {
		g.metrics.RecordsFiltered.Add(float64(records - kept))
	}
}

// close stops the lag watch and releases the dead-letter destination.
func (g *guarantees) close(ctx context.Context) error {
	if g == nil {
		return nil
	}
	if g.stopLag != nil {
		g.stopLag()
	}
	if c, ok := g.dlq.(plugin.Closer); ok {
		if err := c.Close(ctx); err != nil {
			return fmt.Errorf("closing the dead-letter destination %s: %w", g.dlqArn, err)
		}
	}
	return nil
}

// secretTap resolves through inner and registers every string value of a resolved secret (the
// Secrets Manager JSON formats: username/password, API keys, certificates and keys) with the execution
// log, which then masks them.
type secretTap struct {
	inner plugin.SecretResolver
	log   *execlog.Logger
}

func (s *secretTap) Resolve(ctx context.Context, ref string) ([]byte, error) {
	data, err := s.inner.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if json.Unmarshal(data, &fields) == nil {
		for _, v := range fields {
			if str, ok := v.(string); ok {
				s.log.AddSecrets(str)
			}
		}
	} else {
		s.log.AddSecrets(string(data))
	}
	return data, nil
}

// recordsOf returns, for each filtered event, the record it came from. filter (execute.go) keeps the
// records' own Event slices, in order, so the identity of their bytes finds them in one pass; equal
// content is accepted too (every event names its own offset), should filtering ever copy events.
func recordsOf(b *kafka.Batch, events []json.RawMessage) ([]*kafka.Record, error) {
	out := make([]*kafka.Record, len(events))
	j := 0
	for i, ev := range events {
		for j < len(b.Records) && !sameEvent(b.Records[j].Event, ev) {
			j++
		}
		if j == len(b.Records) {
			return nil, fmt.Errorf("event %d of the batch of %s/%d is not one of its records' events", i, b.Topic, b.Partition)
		}
		out[i] = &b.Records[j]
		j++
	}
	return out, nil
}

func sameEvent(a, b json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b) || bytes.Equal(a, b)
}
