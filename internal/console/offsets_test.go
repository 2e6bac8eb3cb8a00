package console

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// onePipe is a Backend that knows one pipe's definition (what DescribePipe returns); the offsets are
// read from a real cluster.
type onePipe struct {
	noPipes
	name string
	def  json.RawMessage
}

func (b onePipe) DescribePipe(_ context.Context, name string) (json.RawMessage, error) {
	if name != b.name {
		return nil, &Error{Type: "NotFoundException", Message: "no pipe " + name}
	}
	return b.def, nil
}

// TestOffsets reads a pipe's committed and end offsets per partition (issue 14, pipe page: live
// per-partition lag and offsets) on kfake and on the real broker: partitions without a commit show
// none, committed ones their lag; the read is cached for a second and leaves the consumer group
// without members.
func TestOffsets(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, kc *kafkatest.Cluster) {
		topic := kc.CreateTopic(t, 2)
		var recs []*kgo.Record
		for i := range 7 {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 2), Value: fmt.Appendf(nil, "%d", i)})
		}
		kc.Produce(t, recs...) // partition 0: 4 records, partition 1: 3
		name := "offsets-" + topic
		group := "sluice-" + name
		def, _ := json.Marshal(map[string]any{"Name": name, "Source": "smk://" + kc.Bootstrap[0], "Target": "file:///dev/null",
			"SourceParameters": map[string]any{"SelfManagedKafkaParameters": map[string]any{"TopicName": topic}}})
		now := time.Unix(1_700_000_000, 0)
		c, err := New(Options{Backend: onePipe{name: name, def: def}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		rows, err := c.offsets(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		want := []PartitionOffsets{{0, -1, 4, -1}, {1, -1, 3, -1}}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Fatalf("before any commit: %v, want %v", rows, want)
		}

		adm := kc.Admin(t)
		var commit kadm.Offsets
		commit.Add(kadm.Offset{Topic: topic, Partition: 0, At: 1, LeaderEpoch: -1})
		resp, err := adm.CommitOffsets(ctx, group, commit)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		if rows, _ := c.offsets(ctx, name); fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("within a second of the last read: %v, want the cached %v", rows, want)
		}
		now = now.Add(offsetsTTL)
		rows, err = c.offsets(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		want = []PartitionOffsets{{0, 1, 4, 3}, {1, -1, 3, -1}}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("after a commit: %v, want %v", rows, want)
		}
		// The client is kept between reads, and closed once no page has asked for a while.
		kept := c.offs.m[name].cl
		now = now.Add(offsetsTTL)
		if _, err := c.offsets(ctx, name); err != nil || c.offs.m[name].cl != kept || kept == nil {
			t.Errorf("a second read made a new client (err %v)", err)
		}
		now = now.Add(offsetsIdle + time.Second)
		c.offsets(ctx, "other")
		if _, ok := c.offs.m[name]; ok {
			t.Errorf("the client of a pipe no page asked about for %v is still kept", offsetsIdle)
		}
		groups, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		if g := groups[group]; len(g.Members) != 0 {
			t.Errorf("reading the offsets left members in group %s: %+v", group, g.Members)
		}
		if _, err := c.offsets(ctx, "other"); err == nil {
			t.Error("the offsets of an unknown pipe: no error")
		}
		c.StopStreams()
		if len(c.offs.m) != 0 {
			t.Errorf("StopStreams left %d offsets clients", len(c.offs.m))
		}
	})
}
