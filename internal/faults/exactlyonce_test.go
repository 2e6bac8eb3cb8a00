package faults_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestKill9ExactlyOnce is TestKill9 with a Kafka target in exactly-once mode
// (TargetParameters.KafkaParameters.ExactlyOnce): `sluice run` is killed with SIGKILL while it delivers,
// restarted each time (a restart on the same host takes the same instance ID, hence the same
// transactional ID, and fences its killed predecessor, aborting its open transaction), while the
// workload arrives one slice per start. A read_committed reader of the target topic must then see
// every record exactly once (0 lost, 0 duplicates) in per-key order. Size: -fault.records (200000 for
// the full size) and -fault.kills.
// maxEOSRestart bounds each restart of the exactly-once fault test: well below the transaction timeout
// (a minute), which is what a restart that does not fence its predecessor waits.
const maxEOSRestart = 20 * time.Second

func TestKill9ExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	c := cluster(t)
	w := workload{keys: 100, perKey: max(*faultRecords/100, 1), partitions: 4}
	in := c.CreateTopic(t, w.partitions)
	out := c.CreateTopic(t, 1)
	group := "fault-eos-" + in
	def := kafkaPipe(c, "kill9eos", in, out, group, 100)
	def["TargetParameters"] = map[string]any{"KafkaParameters": map[string]any{"ExactlyOnce": true}}
	defPath := writeDefinition(t, def)
	reader := &topicReader{cl: c.Client(t, kgo.ConsumeTopics(out), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))}
	sluicetest.Binary(t)

	const chunks = 10
	nChunks := (*faultKills + 1) * chunks
	prod := producer(t, c)
	produceChunk := func(i int) {
		var recs []*kgo.Record
		for n := i * w.total() / nChunks; n < (i+1)*w.total()/nChunks; n++ {
			recs = append(recs, w.record(in, n%w.keys, n/w.keys))
		}
		produceAll(t, prod, recs)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 43))
	var restarts []time.Duration
	kills := 0
	start := time.Now()
	end := int64(0)
	for kill := 0; kill <= *faultKills; kill++ {
		produceChunk(kill * chunks)
		started := time.Now()
		p := startSluice(t, defPath)
		rest := make(chan struct{})
		go func() {
			defer close(rest)
			for i := 1; i < chunks; i++ {
				time.Sleep(50 * time.Millisecond)
				produceChunk(kill*chunks + i)
			}
		}()
		// The output's end offset moves with every produce, committed or not: this is the restart's
		// first new delivery, not its first commit.
		first := waitForDelivery(t, c, out, end, p)
		if kill > 0 {
			restarts = append(restarts, first)
		}
		if kill == *faultKills {
			<-rest
			reader.readUntil(t, 5*time.Minute, parseDelivered, func() bool { return distinctCount(reader.ids) >= w.total() }, p.exited)
			p.stop(t)
			break
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		p.kill(t)
		kills++
		<-rest
		end = endOffset(t, c, out)
		reader.poll(t, time.Second, parseDelivered)
		t.Logf("kill %d %v after its start, first new delivery %v after the start (%v into the test): output end offset %d, %d committed records read, %d distinct of %d",
			kill+1, time.Since(started).Round(time.Millisecond), first.Round(time.Millisecond), time.Since(start).Round(time.Millisecond),
			end, len(reader.ids), distinctCount(reader.ids), w.total())
	}
	// Anything committed late (there should be nothing after the clean stop) is read too.
	reader.poll(t, 2*time.Second, parseDelivered)

	v := w.check(t, reader.ids, nil)
	t.Logf("exactly-once kill -9 x%d over %d records in %v: %d read by a read_committed reader, %d distinct, %d duplicates; output log end %d (aborted records and transaction markers included)",
		kills, w.total(), time.Since(start).Round(time.Millisecond), v.delivered, v.distinct, v.duplicates, endOffset(t, c, out))
	t.Logf("restart to first new delivery: %v; median %v", roundAll(restarts), median(restarts).Round(time.Millisecond))
	if v.duplicates != 0 {
		t.Errorf("a read_committed reader saw %d duplicates, want 0", v.duplicates)
	}
	// A restart fences its killed predecessor at once (same transactional ID), also when the kill came
	// between the predecessor's offset commit and its transaction's end: without that, the pending
	// offsets hold the restart's offset fetch for the transaction timeout (a minute).
	if med := median(restarts); med > maxMedianRestart {
		t.Errorf("median time from restart to first new delivery %v, want at most %v", med, maxMedianRestart)
	}
	if slowest := slices.Max(append(restarts, 0)); slowest > maxEOSRestart {
		t.Errorf("slowest restart to first new delivery %v, want at most %v", slowest, maxEOSRestart)
	}
	if v.distinct != w.total() {
		t.Errorf("a read_committed reader saw %d distinct records of %d", v.distinct, w.total())
	}
}
