package faults_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestBrokerRestart stops and restarts the real broker while `sluice run` is mid-run: the source and the
// Kafka target both lose their connections, and the run must still deliver everything in per-key order.
func TestBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	c := kafkatest.Real(t) // kfake cannot be restarted under a client
	w := workload{keys: 50, perKey: 400, partitions: 4}
	in := c.CreateTopic(t, w.partitions)
	out := c.CreateTopic(t, 1)
	w.produce(t, c, in)
	def := writeDefinition(t, kafkaPipe(c, "broker-restart", in, out, "fault-restart-"+in, 100))
	reader := newTopicReader(t, c, out)

	start := time.Now()
	p := startSluice(t, def)
	reader.readUntil(t, time.Minute, parseDelivered, func() bool { return len(reader.ids) >= w.total()/4 }, p.exited)
	t.Logf("restarting the broker with %d of %d records delivered", distinctCount(reader.ids), w.total())
	kafkatest.RestartBroker(t)
	t.Logf("broker back after %v", time.Since(start).Round(time.Millisecond))
	reader.readUntil(t, 3*time.Minute, parseDelivered, func() bool { return distinctCount(reader.ids) >= w.total() }, p.exited)
	p.stop(t)
	reader.poll(t, time.Second, parseDelivered)
	v := w.check(t, reader.ids, nil)
	t.Logf("broker restart: %d records delivered in %v, %d distinct, %d duplicates", v.delivered,
		time.Since(start).Round(time.Millisecond), v.distinct, v.duplicates)
}
