package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	kafkatarget "github.com/sluicehq/sluice/internal/target/kafka"
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
		plain = append(plain, runPipe(b, c, src, n, matched, batchSize))
		eos = append(eos, runPipeEOS(b, c, src, n, matched, batchSize))
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

// runPipeEOS is runPipe with ExactlyOnce.
func runPipeEOS(b *testing.B, c *kafkatest.Cluster, src string, n, matched, batchSize int) float64 {
	b.Helper()
	out := outTopic(b, c, "eos")
	ct := &countingTarget{want: int64(matched), done: make(chan struct{})}
	reg := plugin.NewRegistry()
	spec := kafkatarget.Spec
	spec.New = func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Target, error) {
		t, err := kafkatarget.New(ctx, env, c.Endpoint, c.Params)
		if err != nil {
			return nil, err
		}
		ct.Target = t.(*kafkatarget.Target)
		return ct, nil
	}
	reg.AddTarget(spec)
	smk := map[string]any{"TopicName": src, "StartingPosition": "TRIM_HORIZON"}
	if batchSize > 0 {
		smk["BatchSize"] = batchSize
	}
	raw, _ := json.Marshal(map[string]any{
		"Name":   fmt.Sprintf("bench-eos-%d", time.Now().UnixNano()),
		"Source": "smk://" + c.Bootstrap[0],
		"SourceParameters": map[string]any{
			"FilterCriteria":             map[string]any{"Filters": []map[string]string{{"Pattern": filter}}},
			"SelfManagedKafkaParameters": smk,
		},
		"Target": "kafka://" + c.Bootstrap[0] + "/" + out,
		"TargetParameters": map[string]any{
			"InputTemplate":   template,
			"KafkaParameters": map[string]any{"Key": "$.value.orderId", "ExactlyOnce": true},
		},
	})
	runPipeUntil(b, raw, reg, ct.done, ct.delivered.Load, matched)
	return float64(n) / ct.last.Sub(ct.first).Seconds()
}
