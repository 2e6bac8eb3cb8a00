package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/pipe"
)

// PartitionOffsets is one partition of a pipe's source topic: the offset the pipe's consumer group has
// committed (-1: none yet), the topic's end offset (the next record's), and the lag between them (-1
// while nothing is committed).
type PartitionOffsets struct {
	Partition int32 `json:"partition"`
	Committed int64 `json:"committed"`
	End       int64 `json:"end"`
	Lag       int64 `json:"lag"`
}

// Offsets reads are bounded in time and cached, so that any number of open pipe pages cost one read of
// each pipe's offsets a second.
const (
	offsetsTimeout = 3 * time.Second
	offsetsTTL     = time.Second
)

// offsetsCache holds the last read of each pipe's offsets.
type offsetsCache struct {
	mu sync.Mutex
	m  map[string]*offsetsEntry
}

type offsetsEntry struct {
	mu   sync.Mutex // one read at a time per pipe; others wait for it and take its result
	at   time.Time
	rows []PartitionOffsets
	err  error
}

// offsets returns the committed and end offsets of pipe name's source partitions, read at most once a
// second. It reads them with the pipe's own connection: an OffsetFetch of the pipe's consumer group and
// a ListOffsets of its topic, admin requests that neither join the group nor change its membership or
// its commits.
func (c *Console) offsets(ctx context.Context, name string) ([]PartitionOffsets, error) {
	c.offs.mu.Lock()
	if c.offs.m == nil {
		c.offs.m = map[string]*offsetsEntry{}
	}
	e := c.offs.m[name]
	if e == nil {
		e = &offsetsEntry{}
		c.offs.m[name] = e
	}
	c.offs.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if now := c.o.Now(); !e.at.IsZero() && now.Sub(e.at) < offsetsTTL {
		return e.rows, e.err
	}
	e.rows, e.err = c.readOffsets(ctx, name)
	e.at = c.o.Now()
	return e.rows, e.err
}

func (c *Console) readOffsets(ctx context.Context, name string) ([]PartitionOffsets, error) {
	raw, err := c.o.Backend.DescribePipe(ctx, name)
	if err != nil {
		return nil, err
	}
	var def pipe.Definition
	if err := json.Unmarshal(raw, &def); err != nil {
		return nil, fmt.Errorf("decoding pipe %s: %w", name, err)
	}
	def.Name = name
	group := ""
	if sp := def.SourceParameters; sp != nil && sp.SelfManagedKafkaParameters != nil {
		group = sp.SelfManagedKafkaParameters.ConsumerGroupID
	}
	if group == "" {
		group = pipe.DefaultConsumerGroupIDPrefix + name
	}
	ctx, cancel := context.WithTimeout(ctx, offsetsTimeout)
	defer cancel()
	cl, cfg, err := c.sourceClient(ctx, &def, offsetsTimeout)
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
		return nil, fmt.Errorf("listing the end offsets of topic %s: %w", cfg.Topic, err)
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, group, cfg.Topic)
	if err == nil {
		err = committed.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		// A group that never committed: some brokers say so rather than answer -1 per partition.
		committed, err = kadm.OffsetResponses{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetching the offsets of consumer group %s: %w", group, err)
	}
	out := []PartitionOffsets{}
	ends.Each(func(e kadm.ListedOffset) {
		row := PartitionOffsets{Partition: e.Partition, Committed: -1, End: e.Offset, Lag: -1}
		if o, ok := committed.Lookup(cfg.Topic, e.Partition); ok && o.At >= 0 {
			row.Committed = o.At
			row.Lag = max(e.Offset-o.At, 0)
		}
		out = append(out, row)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out, nil
}
