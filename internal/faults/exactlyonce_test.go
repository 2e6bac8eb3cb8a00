package faults_test

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxEOSRestart bounds each restart of the exactly-once fault test: well below the transaction timeout
// (a minute), which is what a restart that does not fence its predecessor waits.
const maxEOSRestart = 20 * time.Second

// TestKill9ExactlyOnce is TestKill9 with a Kafka target in exactly-once mode
// (TargetParameters.KafkaParameters.ExactlyOnce): `sluice run` is killed with SIGKILL while it delivers,
// restarted each time (a restart on the same host takes the same instance ID, hence the same
// transactional ID, and fences its killed predecessor, aborting its open transaction), while the
// workload arrives one slice per start. A read_committed reader of the target topic must then see
// every record exactly once (0 lost, 0 duplicates) in per-key order. Size: -fault.records (200000 for
// the full size) and -fault.kills.
func TestKill9ExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	k := newKillRun(t, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	def := k.pipe("kill9eos", "fault-eos-")
	def["TargetParameters"] = map[string]any{"KafkaParameters": map[string]any{"ExactlyOnce": true}}
	start := time.Now()
	// After each kill, what is committed so far is read (the killed start's open transaction is aborted
	// when its restart fences it).
	restarts, ends := k.cycles(t, writeDefinition(t, def), 43, func(int64) { k.reader.poll(t, time.Second, parseDelivered) })
	// Anything committed late (there should be nothing after the clean stop) is read too.
	k.reader.poll(t, 2*time.Second, parseDelivered)

	v := k.w.check(t, k.reader.ids, nil)
	t.Logf("exactly-once kill -9 x%d over %d records in %v: %d read by a read_committed reader, %d distinct, %d duplicates; output log end %d (aborted records and transaction markers included)",
		len(ends), k.w.total(), time.Since(start).Round(time.Millisecond), v.delivered, v.distinct, v.duplicates, endOffset(t, k.c, k.out))
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
	if v.distinct != k.w.total() {
		t.Errorf("a read_committed reader saw %d distinct records of %d", v.distinct, k.w.total())
	}
}
