package bench

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// BenchmarkExactlyOnce measures the cost of TargetParameters.KafkaParameters.ExactlyOnce: the pipe of
// BenchmarkPipeVsBareLoop (filter, template, Kafka target) with and without it, over the same records in
// the same run, alternating. The exactly-once rate is timed like the other, from the first delivery to the
// last acknowledged one; the last transaction's commit comes after (a few milliseconds).
func BenchmarkExactlyOnce(b *testing.B) {
	b.Run("kfake", func(b *testing.B) { compareEOS(b, kafkatest.Kfake(b), 0) })
	b.Run("kafka", func(b *testing.B) { compareEOS(b, kafkatest.Real(b), 0) })
	b.Run("kafka-batch1000", func(b *testing.B) { compareEOS(b, kafkatest.Real(b), 1000) })
}

func compareEOS(b *testing.B, c *kafkatest.Cluster, batchSize int) {
	n := max(b.N, minRecords)
	src := c.CreateTopic(b, partitions)
	matched := fill(b, c, src, n)
	b.ResetTimer()
	var plain, eos []float64
	for r := 1; r <= benchRounds(); r++ {
		p, _ := runPipe(b, c, src, fmt.Sprintf("bench-%d", time.Now().UnixNano()), n, matched, batchSize, false)
		e, _ := runPipe(b, c, src, fmt.Sprintf("bench-eos-%d", time.Now().UnixNano()), n, matched, batchSize, true)
		plain, eos = append(plain, p), append(eos, e)
	}
	p, e := slices.Max(plain), slices.Max(eos)
	b.Logf("%s rounds: plain %s, exactly-once %s", c.Name, kilo(plain), kilo(eos))
	b.StopTimer()
	b.ReportMetric(p, "plain-rec/s")
	b.ReportMetric(e, "eos-rec/s")
	b.ReportMetric(e/p, "ratio")
	b.Logf("%s, %d records of %d B (%d match), batch size %d, best of %d: plain %.0f rec/s, exactly-once %.0f rec/s, ratio %.2f",
		c.Name, n, valueSize, matched, max(batchSize, 100), len(plain), p, e, e/p)
}
