package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/event"
	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/source/kafka"
)

// Bounds of a peek: it reads at most MaxPeekRecords records and MaxPeekBytes bytes of them, and gives
// up after PeekTimeout, whatever the topic holds.
const (
	DefaultPeekRecords = 10
	MaxPeekRecords     = 50
	MaxPeekBytes       = 1 << 20
	PeekTimeout        = 10 * time.Second
)

// Sample is one peeked record as a pipe sees it: Event is the Pipes event JSON (internal/event), Value
// and Key the decoded bytes shown as text (UTF-8; otherwise base64 with Binary set).
type Sample struct {
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Event     json.RawMessage `json:"event"`
	Key       string          `json:"key"`
	Value     string          `json:"value"`
	Binary    bool            `json:"binary,omitempty"`
}

// PeekResult is what a peek found.
type PeekResult struct {
	Topic      string   `json:"topic"`
	Partitions int      `json:"partitions"`
	Records    int64    `json:"records"` // records the topic holds now (end minus start offsets)
	Samples    []Sample `json:"samples"`
}

// sourceClient is a client of def's source cluster with def's connection (brokers, TLS, credentials
// resolved through the console's secret resolver, the operator's egress policy), as the pipe would
// connect. It joins no group: callers assign partitions or use admin requests.
func (c *Console) sourceClient(ctx context.Context, def *pipe.Definition, retry time.Duration, extra ...kgo.Opt) (*kgo.Client, kafka.Config, error) {
	cfg, err := runtime.SourceConfig(def, c.o.Secrets, c.log)
	if err != nil {
		return nil, cfg, err
	}
	if cfg.Topic == "" {
		return nil, cfg, errors.New("the source has no TopicName")
	}
	cfg.Auth.Egress = c.o.Egress
	if err := kafkaauth.CheckBrokers(cfg.Auth.Egress, cfg.Brokers); err != nil {
		return nil, cfg, fmt.Errorf("source %s: %w", def.Source, err)
	}
	opts, err := kafkaauth.Options(ctx, cfg.Auth, c.o.Secrets)
	if err != nil {
		return nil, cfg, fmt.Errorf("source credentials: %w", err)
	}
	opts = append(opts, kgo.SeedBrokers(cfg.Brokers...), kgo.RetryTimeout(retry))
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, cfg, fmt.Errorf("source %s: %w", def.Source, err)
	}
	return cl, cfg, nil
}

// Peek reads the last n records of the source topic of def with def's connection (brokers, TLS,
// credentials resolved through the console's secret resolver, the operator's egress policy). It is a
// direct consumer of assigned partitions: it joins no consumer group and commits nothing, so no pipe's
// group or offsets are touched. n = 0 only checks the connection and counts the topic's records.
func (c *Console) Peek(ctx context.Context, def *pipe.Definition, n int) (*PeekResult, error) {
	n = min(max(n, 0), MaxPeekRecords)
	if def.Name == "" {
		def.Name = "console-peek"
	}
	ctx, cancel := context.WithTimeout(ctx, PeekTimeout)
	defer cancel()
	cl, cfg, err := c.sourceClient(ctx, def, PeekTimeout, kgo.FetchMaxBytes(MaxPeekBytes), kgo.FetchMaxPartitionBytes(MaxPeekBytes))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, cfg.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the offsets of topic %s at %s: %w", cfg.Topic, strings.Join(cfg.Brokers, ","), err)
	}
	starts, err := adm.ListStartOffsets(ctx, cfg.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the offsets of topic %s: %w", cfg.Topic, err)
	}
	res := &PeekResult{Topic: cfg.Topic, Samples: []Sample{}}
	// From each partition the last n records (the newest n overall are among them); their end offsets
	// bound the read, so records produced meanwhile do not keep it going.
	assign := map[int32]kgo.Offset{}
	want := map[int32]int64{} // partition -> end offset still to reach
	ends.Each(func(e kadm.ListedOffset) {
		res.Partitions++
		start := e.Offset
		if s, ok := starts.Lookup(cfg.Topic, e.Partition); ok {
			start = s.Offset
		}
		res.Records += e.Offset - start
		from := max(start, e.Offset-int64(n))
		if n > 0 && from < e.Offset {
			assign[e.Partition] = kgo.NewOffset().At(from)
			want[e.Partition] = e.Offset
		}
	})
	if len(assign) == 0 {
		return res, nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: assign})
	enc := event.NewEncoder(cfg.Brokers)
	var recs []*kgo.Record
	size := 0
	for len(want) > 0 && size < MaxPeekBytes {
		fs := cl.PollRecords(ctx, 500)
		if err := ctx.Err(); err != nil {
			if len(recs) > 0 {
				break // what arrived in time is shown
			}
			return nil, fmt.Errorf("reading topic %s: no records within %s", cfg.Topic, PeekTimeout)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("reading topic %s partition %d: %w", t, p, err) })
		if ferr != nil {
			return nil, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := want[r.Partition]; ok {
				recs = append(recs, r)
				size += len(r.Key) + len(r.Value)
				if r.Offset+1 >= end {
					delete(want, r.Partition)
				}
			}
		})
	}
	// Newest first, by timestamp, then the n newest.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Timestamp.After(recs[j].Timestamp) })
	if len(recs) > n {
		recs = recs[:n]
	}
	for _, r := range recs {
		s := Sample{Partition: r.Partition, Offset: r.Offset, Event: enc.Append(nil, r)}
		s.Key, s.Binary = text(r.Key)
		var bin bool
		s.Value, bin = text(r.Value)
		s.Binary = s.Binary || bin
		res.Samples = append(res.Samples, s)
	}
	return res, nil
}

// text shows bytes as text when they are UTF-8, else as base64 (binary true).
func text(b []byte) (string, bool) {
	if utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}
