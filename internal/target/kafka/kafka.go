// Package kafka is the `kafka://` target, a Sluice extension beyond Pipes: it produces every delivered
// event as the value of one record on a Kafka topic, on the source's cluster or another one.
//
// Target string: `kafka://host:port[,host:port...]/topic` (the bootstrap brokers, then the topic).
//
// Target parameters (a Sluice extension inside TargetParameters, read only for kafka:// targets):
//
//	"KafkaParameters": {
//	  "Key": "$.value.orderId",                       // optional: JSON path, or a static key
//	  "AdditionalBootstrapServers": ["host:port"],    // optional: more brokers of the target cluster
//	  "Credentials": {"SaslScram512Auth": "<secret>"}, // optional: the source's Credentials union
//	  "ServerRootCaCertificate": "<secret>",           // optional: private CA of the brokers
//	  "ExactlyOnce": true                              // optional: one transaction with the source offsets
//	}
//
// Key: a JSON path is evaluated, like every dynamic parameter in Pipes, against the event as it was before the
// target input template (the Kafka record with its value parsed when it is JSON, or the enrichment's output);
// a string result is used as the key's bytes, any other JSON value as its JSON text, and a path that finds
// nothing gives a null key (the record is still produced; Kafka then spreads null-keyed records over
// partitions). A Key that is not a JSON path is a static key. Without Key every record has a null key.
//
// Auth: the same modes and secret formats as the source (SASL/PLAIN, SCRAM-SHA-256/512 over TLS, mTLS, a
// private root CA), built by package kafkaauth; TLS is always verified.
//
// Delivery: the producer is idempotent with acks from all in-sync replicas, and Deliver produces the whole
// batch and waits until the broker has acknowledged every record (or one failed), so the runtime commits
// source offsets only for events stored in the target topic. Within one Deliver call records keep their order
// per target partition; a failed Deliver may have stored part of the batch, which the retry then produces
// again (at-least-once). A record is bounded by the broker's and the producer's maximum message size (1 MB by
// default); a larger one fails the batch permanently.
//
// ExactlyOnce (transact.go): the records are produced by the source's client into the transaction that
// also commits the source offsets, so a read_committed reader of the topic sees each source record's
// output exactly once, across crashes and rebalances. The target must be on the source's cluster
// (checked by cluster ID when the pipe starts) and connects as the source does (no Credentials or
// ServerRootCaCertificate of its own); a failed record aborts the transaction and its batches are read
// again, instead of being retried or dead-lettered.
package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/transform"
)

// Kind is the URI scheme this target registers under.
const Kind = "kafka"

// deliveryTimeout bounds how long one record may wait for the broker (through leader changes and retries)
// before Deliver fails and the runtime's retry policy takes over.
const deliveryTimeout = 30 * time.Second

func init() {
	plugin.Default.AddTarget(Spec)
}

// Spec is the registry entry of the "kafka" target.
var Spec = plugin.TargetSpec{
	Kinds:    []string{Kind},
	Members:  []string{"KafkaParameters"},
	Validate: Validate,
	Files:    Files,
	New: func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		return New(ctx, env, c.Endpoint, c.Params)
	},
}

// Address is the parsed form of a `kafka://` target string.
type Address struct {
	Brokers []string
	Topic   string
}

// Target produces events to one topic. It is safe for concurrent use.
type Target struct {
	addr     Address
	cl       *kgo.Client
	keyPath  *transform.Path
	key      []byte // static key when keyPath is nil
	pipeName string
	scratch  sync.Pool // *scratch
	refusals *refusals // under an egress policy; nil otherwise
	// exactlyOnce: produce into the source's transaction (transact.go), not with cl.
	exactlyOnce bool
}

// refusals ends the Delivers in flight when the egress policy refuses a broker connection: franz-go
// retries a refused dial until the delivery timeout (30 s), though no retry can succeed, and the
// record is better failed (permanently: dead-lettered) at once, with the refusal as its reason.
type refusals struct {
	mu     sync.Mutex
	ctx    context.Context // cancelled, with the refusal as its cause, at the next refusal
	cancel context.CancelCauseFunc
}

func newRefusals() *refusals {
	r := &refusals{}
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
	return r
}

// refuse ends the Delivers waiting now; later ones wait for the next refusal.
func (r *refusals) refuse(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancel(err)
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
}

// watch returns ctx, cancelled with the cause of the next refusal, and the function releasing it.
func (r *refusals) watch(ctx context.Context) (context.Context, func()) {
	if r == nil {
		return ctx, func() {}
	}
	r.mu.Lock()
	next := r.ctx
	r.mu.Unlock()
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(next, func() { cancel(context.Cause(next)) })
	return ctx, func() { stop(); cancel(nil) }
}

var (
	_ plugin.Target         = (*Target)(nil)
	_ plugin.Keyed          = (*Target)(nil)
	_ plugin.Closer         = (*Target)(nil)
	_ plugin.PayloadLimiter = (*Target)(nil)
)

// ParseTarget parses `kafka://host:port[,host:port...]/topic`.
func ParseTarget(target string) (Address, error) {
	rest, ok := strings.CutPrefix(target, Kind+"://")
	if !ok {
		return Address{}, fmt.Errorf("kafka target %q: must start with kafka://", target)
	}
	hosts, topic, ok := strings.Cut(rest, "/")
	if !ok || topic == "" {
		return Address{}, fmt.Errorf("kafka target %q: missing topic (kafka://host:port/topic)", target)
	}
	if err := validTopic(topic); err != nil {
		return Address{}, fmt.Errorf("kafka target %q: %w", target, err)
	}
	var a Address
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return Address{}, fmt.Errorf("kafka target %q: broker %q must be host:port", target, h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Address{}, fmt.Errorf("kafka target %q: broker %q: port must be 1..65535", target, h)
		}
		a.Brokers = append(a.Brokers, h)
	}
	a.Topic = topic
	return a, nil
}

func validTopic(t string) error {
	if len(t) > 249 {
		return errors.New("topic longer than 249 characters")
	}
	if t == "." || t == ".." {
		return fmt.Errorf("topic %q not allowed", t)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic %q: only letters, digits, '.', '_' and '-' are allowed", t)
		}
	}
	return nil
}

// ParseParameters reads TargetParameters.KafkaParameters from the raw TargetParameters (which may be
// empty); absent parameters give the zero value.
func ParseParameters(targetParams json.RawMessage) (Parameters, error) {
	var tp struct {
		KafkaParameters *Parameters `json:"KafkaParameters"`
	}
	if len(targetParams) > 0 && string(targetParams) != "null" {
		if err := json.Unmarshal(targetParams, &tp); err != nil {
			return Parameters{}, fmt.Errorf("decoding TargetParameters.KafkaParameters: %w", err)
		}
	}
	if tp.KafkaParameters == nil {
		return Parameters{}, nil
	}
	return *tp.KafkaParameters, nil
}

// New is the target factory: it parses the target string and parameters, resolves the credentials and
// builds the producer. It does not wait for the brokers; the first Deliver reports an unreachable cluster.
func New(ctx context.Context, env plugin.Env, target string, params json.RawMessage) (plugin.Target, error) {
	addr, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	p, err := ParseParameters(params)
	if err != nil {
		return nil, err
	}
	for _, b := range p.AdditionalBootstrapServers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return nil, fmt.Errorf("TargetParameters.KafkaParameters.AdditionalBootstrapServers: %q must be host:port", b)
		}
		addr.Brokers = append(addr.Brokers, b)
	}
	if err := kafkaauth.CheckBrokers(env.Sandbox.Egress, addr.Brokers); err != nil {
		return nil, plugin.Permanent(fmt.Errorf("kafka target %s of pipe %s: %w", addr.Topic, env.PipeName, err))
	}
	mech, ref := p.Credentials.Mechanism()
	auth := kafkaauth.Auth{Mechanism: mech, SecretRef: ref, RootCARef: p.ServerRootCaCertificate, Egress: env.Sandbox.Egress}
	t := &Target{addr: addr, pipeName: env.PipeName, exactlyOnce: p.ExactlyOnce}
	if auth.Egress != nil {
		t.refusals = newRefusals()
		auth.OnRefused = t.refusals.refuse
	}
	t.scratch.New = func() any { return new(scratch) }
	if p.Key != "" {
		if transform.IsPath(p.Key) {
			if t.keyPath, err = transform.ParsePath(p.Key); err != nil {
				return nil, fmt.Errorf("TargetParameters.KafkaParameters.Key: %w", err)
			}
		} else {
			t.key = []byte(p.Key)
		}
	}
	authOpts, err := kafkaauth.Options(ctx, auth, env.Secrets)
	if err != nil {
		return nil, fmt.Errorf("configuring auth for kafka target %s of pipe %s: %w", addr.Topic, env.PipeName, err)
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(addr.Brokers...),
		kgo.DefaultProduceTopic(addr.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // required by the idempotent producer, which is on by default
		kgo.RecordDeliveryTimeout(deliveryTimeout),
		// Deliver waits for its records' acknowledgement, so nothing more comes to batch with them: the
		// default 10 ms linger was a 10 ms wait per delivery, most of a batch's time.
		kgo.ProducerLinger(0),
		kgo.ClientID("sluice"),
	}, authOpts...)
	if t.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("creating producer for kafka target %s of pipe %s: %w", addr.Topic, env.PipeName, err)
	}
	return t, nil
}

// Deliver produces b.Payloads as record values, keyed with b.Keys when the runtime evaluated the key path
// (plugin.Keyed), otherwise from b.Inputs (the events before the target input template; the payloads
// themselves when nil).
func (t *Target) Deliver(ctx context.Context, b plugin.Batch) error {
	if b.Keys != nil {
		return t.DeliverKeyed(ctx, b.Payloads, b.Keys)
	}
	inputs := b.Inputs
	if inputs == nil {
		inputs = b.Payloads
	}
	return t.DeliverInputs(ctx, b.Payloads, inputs)
}

// DeliverInputs produces events[i] keyed from inputs[i], the event before the target input template.
func (t *Target) DeliverInputs(ctx context.Context, events, inputs []json.RawMessage) error {
	if len(events) == 0 {
		return nil
	}
	if len(inputs) != len(events) {
		return fmt.Errorf("kafka target %s: %d inputs for %d events", t.addr.Topic, len(inputs), len(events))
	}
	return t.produce(ctx, events, func(dst []byte, i int) ([]byte, bool, error) { return t.appendKey(dst, inputs[i]) })
}

// KeyPath returns the JSON path the record key is read from, nil when the key is static or absent. With
// DeliverKeyed it lets the runtime evaluate the key in the same pass as the target input template, so that
// each record's value is decoded once (transform.Scope) rather than once for the template and again here.
func (t *Target) KeyPath() *transform.Path { return t.keyPath }

// MaxPayloadBytes is the producer's maximum record batch size (franz-go's default, 1000012 bytes, is Kafka's
// max.message.bytes default): a larger value cannot be produced, so the runtime fails it while rendering,
// before building it in full (plugin.PayloadLimiter). A record's key and headers still count against the
// broker's limit, which then rejects the record permanently.
func (t *Target) MaxPayloadBytes() int {
	if v, ok := t.cl.OptValue(kgo.ProducerBatchMaxBytes).(int32); ok {
		return int(v)
	}
	return 0
}

// DeliverKeyed is DeliverInputs with the key path (KeyPath) already evaluated by the caller on each input
// event: keys[i] is the raw JSON the path found on the event behind events[i], nil when it found nothing. A
// target without a key path ignores keys.
func (t *Target) DeliverKeyed(ctx context.Context, events, keys []json.RawMessage) error {
	if len(events) == 0 {
		return nil
	}
	if len(keys) != len(events) {
		return fmt.Errorf("kafka target %s: %d keys for %d events", t.addr.Topic, len(keys), len(events))
	}
	if t.keyPath == nil {
		return t.produce(ctx, events, func(dst []byte, _ int) ([]byte, bool, error) { return t.appendKey(dst, nil) })
	}
	return t.produce(ctx, events, func(dst []byte, i int) ([]byte, bool, error) {
		if keys[i] == nil {
			return dst, true, nil
		}
		start := len(dst)
		return keyText(append(dst, keys[i]...), start)
	})
}

// produce produces events as record values, the i-th keyed by what appendKey(dst, i) appends (or null),
// and waits for the broker's acknowledgement of every record.
func (t *Target) produce(ctx context.Context, events []json.RawMessage, appendKey func(dst []byte, i int) ([]byte, bool, error)) error {
	if len(events) == 0 {
		return nil
	}
	sc := t.scratch.Get().(*scratch)
	recs, ptrs := sc.records(len(events))
	defer func() {
		clear(recs) // keep no caller's event alive in the pool
		clear(ptrs)
		t.scratch.Put(sc)
	}()
	// Keys are appended to one buffer and sliced once it stops growing.
	keys := sc.keys[:0]
	for i := range events {
		start := len(keys)
		var isNull bool
		var err error
		if keys, isNull, err = appendKey(keys, i); err != nil {
			return plugin.Permanent(fmt.Errorf("kafka target %s: evaluating key of event %d: %w", t.addr.Topic, i, err))
		}
		sc.ends[i] = len(keys)
		if isNull {
			sc.ends[i] = -1 - start
		}
	}
	sc.keys = keys
	start := 0
	for i, ev := range events {
		r := &recs[i]
		*r = kgo.Record{Topic: t.addr.Topic, Value: ev}
		if end := sc.ends[i]; end >= 0 {
			r.Key = keys[start:end:end]
			start = end
		} else {
			start = -1 - end
		}
		ptrs[i] = r
	}
	var firstErr error
	failed := 0
	ctx, release := t.refusals.watch(ctx)
	defer release()
	results, perr := t.produceSync(ctx, ptrs) // transact.go
	if perr != nil {
		return perr
	}
	for _, res := range results {
		if res.Err != nil {
			if firstErr == nil {
				firstErr = res.Err
			}
			failed++
		}
	}
	if firstErr == nil {
		return nil
	}
	if cause := context.Cause(ctx); errors.Is(cause, sandbox.ErrEgressRefused) {
		firstErr = cause // the records failed because the refusal ended the wait
	}
	err := fmt.Errorf("producing to kafka target %s (brokers %s): %d of %d records failed: %w",
		t.addr.Topic, strings.Join(t.addr.Brokers, ","), failed, len(events), firstErr)
	if isPermanent(firstErr) {
		return plugin.Permanent(err)
	}
	return err
}

// appendKey appends the record key for the untransformed event in to dst; isNull reports a null key (no key
// path or static key, a path that finds nothing, or a JSON null).
func (t *Target) appendKey(dst []byte, in json.RawMessage) (out []byte, isNull bool, err error) {
	if t.keyPath == nil {
		if t.key == nil {
			return dst, true, nil
		}
		return append(dst, t.key...), false, nil
	}
	start := len(dst)
	dst, ok, err := t.keyPath.AppendLookup(dst, in)
	if err != nil || !ok {
		return dst[:start], true, err
	}
	return keyText(dst, start)
}

// keyText turns the raw JSON value dst[start:] into the key's bytes in place: a string's content, any other
// value's JSON text, and null (isNull) for JSON null.
func keyText(dst []byte, start int) (out []byte, isNull bool, err error) {
	v := dst[start:]
	switch {
	case string(v) == "null":
		return dst[:start], true, nil
	case v[0] != '"':
		return dst, false, nil // a number, boolean, object or array: its JSON text
	case bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v):
		// The common key: a string without escapes is its content as it stands.
		return append(dst[:start], v[1:len(v)-1]...), false, nil
	}
	// Escapes or invalid UTF-8: decoded as encoding/json does (invalid bytes become U+FFFD).
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return dst[:start], true, err
	}
	return append(dst[:start], s...), false, nil
}

// scratch is the per-Deliver working memory, pooled so that a steady stream of batches allocates nothing:
// the records handed to the producer (which holds them only until ProduceSync returns) and the keys.
type scratch struct {
	recs []kgo.Record
	ptrs []*kgo.Record
	ends []int // per event: end of its key in keys, or -1-start for a null key
	keys []byte
}

func (sc *scratch) records(n int) ([]kgo.Record, []*kgo.Record) {
	if cap(sc.recs) < n {
		sc.recs = make([]kgo.Record, n)
		sc.ptrs = make([]*kgo.Record, n)
		sc.ends = make([]int, n)
	}
	sc.ends = sc.ends[:n]
	return sc.recs[:n], sc.ptrs[:n]
}

// isPermanent reports broker answers that no retry can change, and a broker address the operator's egress
// policy refuses.
func isPermanent(err error) bool {
	return errors.Is(err, sandbox.ErrEgressRefused) || errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) ||
		errors.Is(err, kerr.InvalidRecord) || errors.Is(err, kerr.TopicAuthorizationFailed) ||
		errors.Is(err, kerr.InvalidTopicException)
}

// Close flushes nothing (every Deliver waited for its records) and closes the producer.
func (t *Target) Close(context.Context) error {
	t.cl.Close()
	return nil
}
