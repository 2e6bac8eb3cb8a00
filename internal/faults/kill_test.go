package faults_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// kafkaPipe is the definition of a pipe from topic in to topic out on c (Kafka target, untransformed
// events), with extra SelfManagedKafkaParameters merged in.
func kafkaPipe(c *kafkatest.Cluster, name, in, out, group string, batchSize int) map[string]any {
	return map[string]any{
		"Name":   name,
		"Source": "smk://" + c.Bootstrap[0],
		"SourceParameters": map[string]any{"SelfManagedKafkaParameters": map[string]any{
			"TopicName": in, "StartingPosition": "TRIM_HORIZON", "BatchSize": batchSize, "ConsumerGroupID": group,
		}},
		"Target": "kafka://" + strings.Join(c.Bootstrap, ",") + "/" + out,
	}
}

// Acceptance bounds of the kill -9 test (issue 11): a kill replays at most the batches delivered but not
// yet committed, and a restarted run takes its partitions back (static group membership) instead of
// waiting out the killed member's session timeout.
const (
	maxDuplicatesPerKill = 1000
	maxMedianRestart     = 10 * time.Second
)

// TestKill9 kills `sluice run` with SIGKILL while it delivers, restarting it each time, while the
// workload arrives in the source topic one slice per restart, and checks that every record reached the
// target topic in per-key order, that each kill caused at most maxDuplicatesPerKill duplicates (a record
// delivered again after kill i is counted for kill i), and that the median time from restarting
// `sluice run` to its first new delivery is at most maxMedianRestart. Nobody evicts the killed member:
// the restart must reclaim its partitions itself.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	k := newKillRun(t)
	def := writeDefinition(t, k.pipe("kill9", "fault-kill-"))
	start := time.Now()
	// After each kill, everything the output holds so far is read: its end offset is the kill's boundary
	// for duplicatesPerKill.
	restarts, boundaries := k.cycles(t, def, 42, func(end int64) {
		k.reader.readUntil(t, 30*time.Second, parseDelivered, func() bool { return int64(len(k.reader.ids)) >= end }, nil)
	})
	k.reader.poll(t, time.Second, parseDelivered)

	v := k.w.check(t, k.reader.ids, nil)
	perKill := duplicatesPerKill(k.reader.ids, k.reader.offsets, boundaries)
	med := median(restarts)
	t.Logf("kill -9 x%d over %d records in %v: %d delivered, %d distinct, %d duplicates; per kill: %v",
		len(boundaries), k.w.total(), time.Since(start).Round(time.Millisecond), v.delivered, v.distinct, v.duplicates, perKill)
	t.Logf("restart to first new delivery: %v; median %v", roundAll(restarts), med.Round(time.Millisecond))
	for i, d := range perKill {
		if d > maxDuplicatesPerKill {
			t.Errorf("kill %d caused %d duplicates, want at most %d", i+1, d, maxDuplicatesPerKill)
		}
	}
	if med > maxMedianRestart {
		t.Errorf("median time from restart to first new delivery %v, want at most %v", med, maxMedianRestart)
	}
}

// killRun is what the kill -9 tests (TestKill9, TestKill9ExactlyOnce) share: the workload of
// -fault.records records, its source topic, the target topic (one partition: the output is one total
// order) and a reader of it.
type killRun struct {
	c       *kafkatest.Cluster
	w       workload
	in, out string
	reader  *topicReader
}

// newKillRun creates the topics of a kill -9 test and builds the sluice binary (the restart times must
// not include the build). readerOpts go to the output's reader (its isolation level).
func newKillRun(t *testing.T, readerOpts ...kgo.Opt) *killRun {
	t.Helper()
	c := cluster(t)
	k := &killRun{c: c, w: workload{keys: 100, perKey: max(*faultRecords/100, 1), partitions: 4}}
	k.in = c.CreateTopic(t, k.w.partitions)
	k.out = c.CreateTopic(t, 1)
	k.reader = newTopicReader(t, c, k.out, readerOpts...)
	sluicetest.Binary(t)
	return k
}

// pipe is the definition of the pipe under test: from in to out, consumer group groupPrefix+in,
// BatchSize 100.
func (k *killRun) pipe(name, groupPrefix string) map[string]any {
	return kafkaPipe(k.c, name, k.in, k.out, groupPrefix+k.in, 100)
}

// cycles starts `sluice run` on defPath -fault.kills+1 times. Each start gets a slice of the workload:
// its first tenth produced before the start, so that the first new delivery measures the restart, the
// rest in nine chunks 50 ms apart while it runs, so that the kill (at most 400 ms after the first
// delivery, a random moment from a generator seeded with seed and the clock) lands while it delivers.
// Each start but the last is killed with SIGKILL; afterKill then gets the output's end offset to read
// what it needs. The last start delivers the rest, until the reader has seen every record, and stops
// cleanly. Nobody evicts a killed member: each restart must reclaim its partitions itself.
//
// It returns the time from each restart (a start after a kill) to its first new delivery, and the
// output's end offset at each kill. The end offset moves with every produce, transactional or not: in
// exactly-once mode the first new delivery is the restart's first produce, not its first commit.
func (k *killRun) cycles(t *testing.T, defPath string, seed uint64, afterKill func(end int64)) (restarts []time.Duration, ends []int64) {
	t.Helper()
	const chunks = 10
	nChunks := (*faultKills + 1) * chunks
	prod := producer(t, k.c)
	produceChunk := func(i int) {
		var recs []*kgo.Record
		for n := i * k.w.total() / nChunks; n < (i+1)*k.w.total()/nChunks; n++ {
			recs = append(recs, k.w.record(k.in, n%k.w.keys, n/k.w.keys)) // key-interleaved, in sequence order
		}
		produceAll(t, prod, recs)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), seed))
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
		first := waitForDelivery(t, k.c, k.out, end, p)
		if kill > 0 {
			restarts = append(restarts, first)
		}
		if kill == *faultKills {
			// The last start delivers the rest and stops cleanly.
			<-rest
			k.reader.readUntil(t, 5*time.Minute, parseDelivered, func() bool { return distinctCount(k.reader.ids) >= k.w.total() }, p.exited)
			p.stop(t)
			break
		}
		// A random moment while it delivers its slice.
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		p.kill(t)
		<-rest
		end = endOffset(t, k.c, k.out)
		ends = append(ends, end)
		afterKill(end)
		t.Logf("kill %d %v after its start, whose first new delivery came %v after the start (%v into the test): output end offset %d, %d records read, %d distinct of %d",
			kill+1, time.Since(started).Round(time.Millisecond), first.Round(time.Millisecond), time.Since(start).Round(time.Millisecond),
			end, len(k.reader.ids), distinctCount(k.reader.ids), k.w.total())
	}
	return restarts, ends
}

// waitForDelivery waits until the output topic grows past end (the process p delivered something new)
// and returns how long that took from now, which callers take just after starting p.
func waitForDelivery(t *testing.T, c *kafkatest.Cluster, topic string, end int64, p *proc) time.Duration {
	t.Helper()
	began := time.Now()
	deadline := began.Add(2 * time.Minute)
	for endOffset(t, c, topic) <= end {
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new delivery within 2m of starting sluice run; output:\n%s", p.stderr.tail(4000))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(began)
}

// median returns the median of ds (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// duplicatesPerKill attributes each repeated delivery to the kill that preceded it.
func duplicatesPerKill(ids []recID, offsets []int64, boundaries []int64) []int {
	per := make([]int, len(boundaries))
	seen := make(map[recID]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			seg := sort.Search(len(boundaries), func(j int) bool { return boundaries[j] > offsets[i] }) // kills before this offset
			if seg > 0 {
				per[seg-1]++
			}
			continue
		}
		seen[id] = true
	}
	return per
}

// endOffset returns the end offset of partition 0 of topic.
func endOffset(t *testing.T, c *kafkatest.Cluster, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := c.Admin(t).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("listing end offsets of %s: %v", topic, err)
	}
	o, ok := ends.Lookup(topic, 0)
	if !ok || o.Err != nil {
		t.Fatalf("end offset of %s/0: %v", topic, fmt.Sprint(o.Err))
	}
	return o.Offset
}
