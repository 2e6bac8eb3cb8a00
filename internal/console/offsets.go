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
	"github.com/twmb/franz-go/pkg/kgo"

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
// each pipe's offsets a second (a failed read is kept longer, so that an unreachable cluster does not
// hold every update of the page for offsetsTimeout). Each pipe's client is kept between reads, while its
// source stays the same, for at most offsetsClientAge (credentials are resolved again after that), and
// closed once no page has asked for offsetsIdle.
const (
	offsetsTimeout   = 3 * time.Second
	offsetsTTL       = time.Second
	offsetsErrTTL    = 5 * time.Second
	offsetsIdle      = time.Minute
	offsetsClientAge = 5 * time.Minute
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

	cl     *kgo.Client // the source's client, kept between reads
	source string      // what cl was made for: the definition's Source and SelfManagedKafkaParameters
	made   time.Time
	used   time.Time
}

func (e *offsetsEntry) closeClient() {
	if e.cl != nil {
		e.cl.Close()
		e.cl = nil
	}
}

// closeAll closes every kept client (on shutdown).
func (oc *offsetsCache) closeAll() {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	for name, e := range oc.m {
		e.mu.Lock()
		e.closeClient()
		e.mu.Unlock()
		delete(oc.m, name)
	}
}

// offsets returns the committed and end offsets of pipe name's source partitions, read at most once a
// second. It reads them with the pipe's own connection: an OffsetFetch of the pipe's consumer group and
// a ListOffsets of its topic, admin requests that neither join the group nor change its membership or
// its commits.
func (c *Console) offsets(ctx context.Context, name string) ([]PartitionOffsets, error) {
	now := c.o.Now()
	c.offs.mu.Lock()
	if c.offs.m == nil {
		c.offs.m = map[string]*offsetsEntry{}
	}
	for other, e := range c.offs.m {
		// Pipes no page watches any more (or deleted): close their clients. An entry being read is
		// in use, so skip it.
		if other != name && e.mu.TryLock() {
			if now.Sub(e.used) > offsetsIdle {
				e.closeClient()
				delete(c.offs.m, other)
			}
			e.mu.Unlock()
		}
	}
	e := c.offs.m[name]
	if e == nil {
		e = &offsetsEntry{}
		c.offs.m[name] = e
	}
	c.offs.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	e.used = now
	ttl := offsetsTTL
	if e.err != nil {
		ttl = offsetsErrTTL
	}
	if !e.at.IsZero() && now.Sub(e.at) < ttl {
		return e.rows, e.err
	}
	e.rows, e.err = c.readOffsets(ctx, name, e)
	if e.err != nil {
		e.closeClient() // start over with a new connection next time
	}
	e.at = c.o.Now()
	return e.rows, e.err
}

func (c *Console) readOffsets(ctx context.Context, name string, e *offsetsEntry) ([]PartitionOffsets, error) {
	raw, err := c.o.Backend.DescribePipe(ctx, name)
	if err != nil {
		return nil, err
	}
	var def pipe.Definition
	if err := json.Unmarshal(raw, &def); err != nil {
		return nil, fmt.Errorf("decoding pipe %s: %w", name, err)
	}
	def.Name = name
	group, topic := "", ""
	var smk *pipe.SelfManagedKafkaParameters
	if sp := def.SourceParameters; sp != nil && sp.SelfManagedKafkaParameters != nil {
		smk = sp.SelfManagedKafkaParameters
		group, topic = smk.ConsumerGroupID, smk.TopicName
	}
	if group == "" {
		group = pipe.DefaultConsumerGroupIDPrefix + name
	}
	ctx, cancel := context.WithTimeout(ctx, offsetsTimeout)
	defer cancel()
	source, _ := json.Marshal(struct {
		Source string
		SMK    *pipe.SelfManagedKafkaParameters
	}{def.Source, smk})
	if e.cl == nil || e.source != string(source) || c.o.Now().Sub(e.made) > offsetsClientAge {
		e.closeClient()
		cl, _, err := c.sourceClient(ctx, &def, offsetsTimeout)
		if err != nil {
			return nil, err
		}
		e.cl, e.source, e.made = cl, string(source), c.o.Now()
	}
	cl := e.cl
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the end offsets of topic %s: %w", topic, err)
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, group, topic)
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
		if o, ok := committed.Lookup(topic, e.Partition); ok && o.At >= 0 {
			row.Committed = o.At
			row.Lag = max(e.Offset-o.At, 0)
		}
		out = append(out, row)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out, nil
}
