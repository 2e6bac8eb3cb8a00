package kafka

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/transform"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name, target string
		want         Address
		wantErr      string
	}{
		{name: "one broker", target: "kafka://127.0.0.1:9092/orders", want: Address{Brokers: []string{"127.0.0.1:9092"}, Topic: "orders"}},
		{name: "brokers", target: "kafka://a:9092,b.example:9093/out.v1_x-y", want: Address{Brokers: []string{"a:9092", "b.example:9093"}, Topic: "out.v1_x-y"}},
		{name: "no scheme", target: "127.0.0.1:9092/orders", wantErr: "must start with kafka://"},
		{name: "no topic", target: "kafka://127.0.0.1:9092", wantErr: "missing topic"},
		{name: "empty topic", target: "kafka://127.0.0.1:9092/", wantErr: "missing topic"},
		{name: "bad topic", target: "kafka://127.0.0.1:9092/a/b", wantErr: "only letters"},
		{name: "dot topic", target: "kafka://127.0.0.1:9092/..", wantErr: "not allowed"},
		{name: "long topic", target: "kafka://h:1/" + strings.Repeat("t", 250), wantErr: "longer than 249"},
		{name: "no port", target: "kafka://broker/orders", wantErr: "must be host:port"},
		{name: "bad port", target: "kafka://broker:99999/orders", wantErr: "port must be"},
		{name: "empty broker", target: "kafka://a:1,/orders", wantErr: "must be host:port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.target)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseTarget(%s) error = %v, want one containing %q", tc.target, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got.Brokers, tc.want.Brokers) || got.Topic != tc.want.Topic {
				t.Fatalf("ParseTarget(%s) = %+v, %v, want %+v", tc.target, got, err, tc.want)
			}
		})
	}
}

func TestParseParameters(t *testing.T) {
	p, err := ParseParameters(json.RawMessage(`{"InputTemplate":"x","KafkaParameters":{"Key":"$.value.id","Credentials":{"SaslScram512Auth":"env:S"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if mech, ref := p.Credentials.Mechanism(); p.Key != "$.value.id" || mech != "SCRAM-SHA-512" || ref != "env:S" {
		t.Fatalf("ParseParameters = %+v (%s %s)", p, mech, ref)
	}
	for _, raw := range []string{``, `null`, `{}`, `{"InputTemplate":"x"}`} {
		p, err := ParseParameters(json.RawMessage(raw))
		if err != nil || p.Key != "" || p.Credentials != nil {
			t.Fatalf("ParseParameters(%q) = %+v, %v, want zero", raw, p, err)
		}
	}
	if _, err := ParseParameters(json.RawMessage(`{"KafkaParameters":{"Key":1}}`)); err == nil {
		t.Fatalf("ParseParameters(Key: 1) = nil error, want one")
	}
}

// kafkaEvent is a Pipes Kafka record event whose value is the JSON v.
func kafkaEvent(v string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"eventSource":"SelfManagedKafka","topic":"in","partition":"0","offset":1,"key":null,"value":%q}`,
		base64.StdEncoding.EncodeToString([]byte(v))))
}

// consume reads n records from topic, failing the test after a timeout.
func consume(t *testing.T, c *kafkatest.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records from %s: %v", len(out), n, topic, err)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetching %s[%d]: %v", tp, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

func TestDeliver(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		tests := []struct {
			name     string
			params   string
			inputs   []json.RawMessage
			events   []json.RawMessage
			wantKeys []string // "<nil>" for a null key
			keyed    bool     // deliver with DeliverKeyed, the key path evaluated here as the runtime does
		}{
			{
				name:     "key path reads the untransformed kafka event",
				params:   `{"KafkaParameters":{"Key":"$.value.orderId"}}`,
				inputs:   []json.RawMessage{kafkaEvent(`{"orderId":"o-1"}`), kafkaEvent(`{"orderId":"o-2"}`), kafkaEvent(`{"orderId":7}`), kafkaEvent(`{"other":1}`)},
				events:   []json.RawMessage{json.RawMessage(`{"n":1}`), json.RawMessage(`{"n":2}`), json.RawMessage(`{"n":3}`), json.RawMessage(`{"n":4}`)},
				wantKeys: []string{"o-1", "o-2", "7", "<nil>"},
			},
			{
				name:   "key path evaluated by the caller (DeliverKeyed)",
				params: `{"KafkaParameters":{"Key":"$.value.orderId"}}`,
				keyed:  true,
				inputs: []json.RawMessage{kafkaEvent(`{"orderId":"o-1"}`), kafkaEvent(`{"orderId":"a\"b\u00e9"}`), kafkaEvent(`{"orderId":""}`),
					kafkaEvent(`{"orderId":{"x":[1]}}`), kafkaEvent(`{"orderId":null}`), kafkaEvent(`{"other":1}`)},
				events: []json.RawMessage{json.RawMessage(`{"n":1}`), json.RawMessage(`{"n":2}`), json.RawMessage(`{"n":3}`),
					json.RawMessage(`{"n":4}`), json.RawMessage(`{"n":5}`), json.RawMessage(`{"n":6}`)},
				wantKeys: []string{"o-1", `a"bé`, "", `{"x":[1]}`, "<nil>", "<nil>"},
			},
			{
				name:   "key forms (DeliverInputs)",
				params: `{"KafkaParameters":{"Key":"$.value.orderId"}}`,
				inputs: []json.RawMessage{kafkaEvent(`{"orderId":"a\"b\u00e9"}`), kafkaEvent(`{"orderId":""}`),
					kafkaEvent(`{"orderId":{"x":[1]}}`), kafkaEvent(`{"orderId":null}`)},
				events: []json.RawMessage{json.RawMessage(`{"n":2}`), json.RawMessage(`{"n":3}`),
					json.RawMessage(`{"n":4}`), json.RawMessage(`{"n":5}`)},
				wantKeys: []string{`a"bé`, "", `{"x":[1]}`, "<nil>"},
			},
			{
				name:     "static key",
				params:   `{"KafkaParameters":{"Key":"fixed"}}`,
				events:   []json.RawMessage{json.RawMessage(`"a"`), json.RawMessage(`plain text`)},
				wantKeys: []string{"fixed", "fixed"},
			},
			{
				name:     "no key",
				params:   ``,
				events:   []json.RawMessage{json.RawMessage(`{"a":1}`)},
				wantKeys: []string{"<nil>"},
			},
			{
				name:     "key path on a plain event",
				params:   `{"InputTemplate":"<$.id>","KafkaParameters":{"Key":"$.id"}}`,
				events:   []json.RawMessage{json.RawMessage(`{"id":"x-1"}`), json.RawMessage(`{"id":null}`)},
				wantKeys: []string{"x-1", "<nil>"},
			},
		}
		for _, tc := range tests {
			t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
				topic := c.CreateTopic(t, 3)
				target := "kafka://" + strings.Join(c.Bootstrap, ",") + "/" + topic
				tg, err := New(ctx, plugin.Env{PipeName: "p"}, target, json.RawMessage(tc.params))
				if err != nil {
					t.Fatalf("New(%s): %v", target, err)
				}
				defer tg.(plugin.Closer).Close(ctx)
				switch {
				case tc.keyed:
					kt := tg.(*Target)
					keys := make([]json.RawMessage, len(tc.inputs))
					for i, in := range tc.inputs {
						var s transform.Scope
						s.Reset(in)
						if k, found, err := kt.KeyPath().AppendLookupScope(nil, &s); err != nil {
							t.Fatal(err)
						} else if found {
							keys[i] = k
						}
					}
					err = kt.DeliverKeyed(ctx, tc.events, keys)
				case tc.inputs != nil:
					err = tg.(*Target).DeliverInputs(ctx, tc.events, tc.inputs)
				default:
					err = tg.Deliver(ctx, plugin.Batch{Payloads: tc.events})
				}
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				recs := consume(t, c, topic, len(tc.events))
				// Order across partitions is not defined; match records by value.
				got := map[string]string{}
				for _, r := range recs {
					k := "<nil>"
					if r.Key != nil {
						k = string(r.Key)
					}
					got[string(r.Value)] = k
				}
				for i, ev := range tc.events {
					k, ok := got[string(ev)]
					if !ok {
						t.Fatalf("event %s not produced; got %v", ev, got)
					}
					if k != tc.wantKeys[i] {
						t.Errorf("key of %s = %q, want %q", ev, k, tc.wantKeys[i])
					}
				}
			})
		}
	})
}

func TestDeliverKeepsOrderPerKey(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		ctx := context.Background()
		topic := c.CreateTopic(t, 3)
		tg, err := New(ctx, plugin.Env{PipeName: "p"}, "kafka://"+c.Bootstrap[0]+"/"+topic,
			json.RawMessage(`{"KafkaParameters":{"Key":"$.k","AdditionalBootstrapServers":["`+c.Bootstrap[0]+`"]}}`))
		if err != nil {
			t.Fatal(err)
		}
		defer tg.(plugin.Closer).Close(ctx)
		const keys, perKey, batches = 5, 40, 5
		seq := 0
		for range batches {
			var evs []json.RawMessage
			for range perKey {
				evs = append(evs, json.RawMessage(fmt.Sprintf(`{"k":"k%d","seq":%d}`, seq%keys, seq)))
				seq++
			}
			if err := tg.Deliver(ctx, plugin.Batch{Payloads: evs}); err != nil {
				t.Fatal(err)
			}
		}
		last := map[string]int{}
		for _, r := range consume(t, c, topic, seq) {
			var v struct {
				K   string
				Seq int
			}
			if err := json.Unmarshal(r.Value, &v); err != nil {
				t.Fatal(err)
			}
			if string(r.Key) != v.K {
				t.Fatalf("record %s has key %q", r.Value, r.Key)
			}
			if prev, ok := last[v.K]; ok && v.Seq <= prev {
				t.Fatalf("key %s: seq %d after %d: order not kept", v.K, v.Seq, prev)
			}
			last[v.K] = v.Seq
		}
	})
}

func TestDeliverUnreachableBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tg, err := New(ctx, plugin.Env{PipeName: "p"}, "kafka://127.0.0.1:1/out", nil)
	if err != nil {
		t.Fatalf("New must not dial: %v", err)
	}
	defer tg.(plugin.Closer).Close(ctx)
	err = tg.Deliver(ctx, plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}})
	if err == nil || !strings.Contains(err.Error(), "kafka target out") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Deliver to an unreachable broker = %v, want an error naming the topic and broker", err)
	}
	if plugin.IsPermanent(err) {
		t.Fatalf("unreachable broker reported permanent: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, target, params, wantErr string
	}{
		{"bad target", "kafka://nope", ``, "missing topic"},
		{"bad params", "kafka://h:1/t", `{"KafkaParameters":[]}`, "decoding TargetParameters.KafkaParameters"},
		{"bad extra broker", "kafka://h:1/t", `{"KafkaParameters":{"AdditionalBootstrapServers":["nohost"]}}`, "must be host:port"},
		{"missing secret", "kafka://h:1/t", `{"KafkaParameters":{"Credentials":{"BasicAuth":"env:SLUICE_TEST_NO_SUCH_SECRET"}}}`, "configuring auth for kafka target t of pipe p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(ctx, plugin.Env{PipeName: "p", Secrets: &secret.Resolver{}}, tc.target, json.RawMessage(tc.params))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New(%s, %s) = %v, want error containing %q", tc.target, tc.params, err, tc.wantErr)
			}
		})
	}
}

// TestDeliverWithAuth produces through the real broker's TLS and SASL_SSL listeners with the source's
// credential kinds, each secret read from a file:// reference.
func TestDeliverWithAuth(t *testing.T) {
	l := kafkatest.RealListeners(t)
	pki := kafkatest.PKI(t)
	c := kafkatest.Real(t)
	ctx := context.Background()
	s := pki.Secrets
	tests := []struct {
		name, broker, creds string
	}{
		{"mtls", l.TLS, `"ClientCertificateTlsAuth":"file://` + s.MTLSPBES1SHA1DES + `"`},
		{"plain", l.SASL, `"BasicAuth":"file://` + s.Basic + `"`},
		{"scram256", l.SASL, `"SaslScram256Auth":"file://` + s.Scram256 + `"`},
		{"scram512", l.SASL, `"SaslScram512Auth":"file://` + s.Scram512 + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topic := c.CreateTopic(t, 1)
			params := `{"KafkaParameters":{"Key":"$.id","Credentials":{` + tc.creds + `},"ServerRootCaCertificate":"file://` + s.RootCA + `"}}`
			tg, err := New(ctx, plugin.Env{PipeName: "p", Secrets: &secret.Resolver{}}, "kafka://"+tc.broker+"/"+topic, json.RawMessage(params))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer tg.(plugin.Closer).Close(ctx)
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := tg.Deliver(dctx, plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{"id":"a"}`)}}); err != nil {
				t.Fatalf("Deliver over %s: %v", tc.name, err)
			}
			recs := consume(t, c, topic, 1)
			if string(recs[0].Key) != "a" || string(recs[0].Value) != `{"id":"a"}` {
				t.Fatalf("got %q=%q", recs[0].Key, recs[0].Value)
			}
		})
	}
}

func BenchmarkDeliver(b *testing.B) {
	c := kafkatest.Kfake(b)
	topic := c.CreateTopic(b, 3)
	ctx := context.Background()
	tg, err := New(ctx, plugin.Env{PipeName: "bench"}, "kafka://"+c.Bootstrap[0]+"/"+topic, json.RawMessage(`{"KafkaParameters":{"Key":"$.value.id"}}`))
	if err != nil {
		b.Fatal(err)
	}
	defer tg.(plugin.Closer).Close(ctx)
	batch := make([]json.RawMessage, 100)
	inputs := make([]json.RawMessage, 100)
	for i := range batch {
		batch[i] = json.RawMessage(fmt.Sprintf(`{"id":"o-%d","pad":"%s"}`, i, strings.Repeat("x", 1000)))
		inputs[i] = kafkaEvent(fmt.Sprintf(`{"id":"o-%d"}`, i))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(batch[0]) * len(batch)))
	for b.Loop() {
		if err := tg.(*Target).DeliverInputs(ctx, batch, inputs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMaxPayloadBytes: the runtime renders payloads for this target within the producer's record limit
// (plugin.PayloadLimiter), lower than the Pipes 6 MB, so an oversized payload fails while rendering.
func TestMaxPayloadBytes(t *testing.T) {
	ctx := context.Background()
	tg, err := New(ctx, plugin.Env{PipeName: "p"}, "kafka://127.0.0.1:1/out", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.(plugin.Closer).Close(ctx)
	l, ok := tg.(plugin.PayloadLimiter)
	if !ok {
		t.Fatal("the kafka target does not implement plugin.PayloadLimiter")
	}
	if got := l.MaxPayloadBytes(); got != 1000012 || got >= plugin.MaxPayloadBytes {
		t.Errorf("MaxPayloadBytes() = %d, want the producer's default 1000012", got)
	}
}
