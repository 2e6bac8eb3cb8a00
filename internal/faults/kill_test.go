package faults_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

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

// TestKill9 kills `sluice run` with SIGKILL at random moments while a producer streams the workload into
// the source topic, restarting it each time, and checks that every record reached the target topic in
// per-key order. Duplicates are allowed (at-least-once) and reported per kill: a record delivered again
// after kill i is counted for kill i.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	c := cluster(t)
	w := workload{keys: 100, perKey: max(*faultRecords/100, 1), partitions: 4}
	in := c.CreateTopic(t, w.partitions)
	out := c.CreateTopic(t, 1) // one partition: the output is one total order
	group := "fault-kill-" + in
	def := writeDefinition(t, kafkaPipe(c, "kill9", in, out, group, 100))
	reader := newTopicReader(t, c, out)
	adm := c.Admin(t)
	admCl := c.Client(t)

	// The records arrive over about as long as the kills take, so that every kill lands mid-run.
	sluicetest.Binary(t) // build first: the clock starts with the producer
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		w.produceOver(t, c, in, time.Duration(*faultKills)*1200*time.Millisecond)
	}()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	var boundaries []int64 // the output's end offset at each kill
	start := time.Now()
	for kill := 1; kill <= *faultKills; kill++ {
		p := startSluice(t, def)
		// A random moment of the process's life: 0.2 s to 2 s after it started, so kills land while it
		// joins the group, fetches, delivers, produces and commits (commits happen every second).
		uptime := time.Duration(200+rng.IntN(1800)) * time.Millisecond
		time.Sleep(uptime)
		if err := p.exited(); err != nil {
			t.Fatal(err)
		}
		p.kill(t)
		end := endOffset(t, c, out)
		boundaries = append(boundaries, end)
		reader.readUntil(t, 30*time.Second, parseDelivered, func() bool { return int64(len(reader.ids)) >= end }, nil)
		t.Logf("kill %d after %v of uptime (%v into the test): %d records in the output, %d distinct of %d",
			kill, uptime, time.Since(start).Round(time.Millisecond), len(reader.ids), distinctCount(reader.ids), w.total())
		evictGroupMembers(t, adm, admCl, group)
	}
	<-produced
	p := startSluice(t, def)
	reader.readUntil(t, 5*time.Minute, parseDelivered, func() bool { return distinctCount(reader.ids) >= w.total() }, p.exited)
	p.stop(t)
	reader.poll(t, time.Second, parseDelivered)

	v := w.check(t, reader.ids, nil)
	perKill := duplicatesPerKill(reader.ids, reader.offsets, boundaries)
	t.Logf("kill -9 x%d over %d records in %v: %d delivered, %d distinct, %d duplicates; per kill: %v",
		len(boundaries), w.total(), time.Since(start).Round(time.Millisecond), v.delivered, v.distinct, v.duplicates, perKill)
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
