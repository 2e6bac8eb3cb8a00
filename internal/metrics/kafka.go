package metrics

import (
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// Kafka client roles, the value of the client label of the sluice_kafka_* series.
const (
	ClientSource     = "source"
	ClientTarget     = "target"
	ClientDeadLetter = "dead_letter"
)

// KafkaHooks returns the kgo option that publishes a franz-go client's metrics (connections, bytes and
// records fetched and produced, buffered records, errors; see the kprom package) as sluice_kafka_* series
// labelled with the pipe and the client's role. Give each client its own call: kprom registers its
// series when the client starts and unregisters them when it closes.
func (m *Metrics) KafkaHooks(pipe, role string) kgo.Opt {
	k := kprom.NewMetrics("sluice",
		kprom.Subsystem("kafka"),
		kprom.Registerer(m.kafkaReg),
		kprom.WithStaticLabel(prometheus.Labels{"pipe": pipe, "client": role}),
		// Records and batches per topic; no node_id on these, which the broker-level series already carry.
		kprom.FetchAndProduceDetail(kprom.ByTopic, kprom.Records, kprom.Batches, kprom.UncompressedBytes, kprom.ConsistentNaming),
	)
	return kgo.WithHooks(k)
}

// kafkaRegisterer lets a pipe's new client take over the series of an old one that has not closed yet (a
// restart racing the old client's Close): kprom registers through MustRegister, which would panic on the
// duplicate, and unregisters on Close, which must then leave the new client's series alone.
type kafkaRegisterer struct {
	prometheus.Registerer

	mu    sync.Mutex
	owner map[string]prometheus.Collector // descriptor set -> the collector currently registered for it
}

func newKafkaRegisterer(reg prometheus.Registerer) *kafkaRegisterer {
	return &kafkaRegisterer{Registerer: reg, owner: map[string]prometheus.Collector{}}
}

// MustRegister registers cs, replacing collectors of identical descriptors.
func (r *kafkaRegisterer) MustRegister(cs ...prometheus.Collector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		key := descKey(c)
		if old, ok := r.owner[key]; ok {
			r.Registerer.Unregister(old)
		}
		if err := r.Registerer.Register(c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				panic(err)
			}
			r.Registerer.Unregister(dup.ExistingCollector)
			r.Registerer.MustRegister(c)
		}
		r.owner[key] = c
	}
}

// Unregister removes c only when it is still the registered collector for its descriptors.
func (r *kafkaRegisterer) Unregister(c prometheus.Collector) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := descKey(c)
	if r.owner[key] != c {
		return false
	}
	delete(r.owner, key)
	return r.Registerer.Unregister(c)
}

func descKey(c prometheus.Collector) string {
	ch := make(chan *prometheus.Desc, 4)
	go func() { c.Describe(ch); close(ch) }()
	var descs []string
	for d := range ch {
		descs = append(descs, d.String())
	}
	sort.Strings(descs)
	return strings.Join(descs, "\n")
}
