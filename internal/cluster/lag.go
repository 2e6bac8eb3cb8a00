package cluster

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
)

// LagOf returns the total lag of group on topic (end offset minus committed offset, summed over the
// partitions; a partition without a commit counts from its start offset) and the topic's partition
// count.
func LagOf(ctx context.Context, adm *kadm.Client, topic, group string) (int64, int, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, 0, fmt.Errorf("listing the end offsets of %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, 0, fmt.Errorf("listing the start offsets of %s: %w", topic, err)
	}
	commits, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, 0, fmt.Errorf("fetching the offsets of group %s: %w", group, err)
	}
	var lag int64
	parts := 0
	var firstErr error
	ends.Each(func(end kadm.ListedOffset) {
		if end.Topic != topic {
			return
		}
		parts++
		if end.Err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("end offset of %s[%d]: %w", topic, end.Partition, end.Err)
			}
			return
		}
		from := int64(0)
		if s, ok := starts.Lookup(topic, end.Partition); ok && s.Err == nil {
			from = s.Offset
		}
		if c, ok := commits.Lookup(topic, end.Partition); ok && c.Err == nil && c.At >= 0 {
			from = max(from, c.At)
		}
		lag += max(end.Offset-from, 0)
	})
	if firstErr != nil {
		return 0, 0, firstErr
	}
	if parts == 0 {
		return 0, 0, fmt.Errorf("topic %s has no partitions (does it exist?)", topic)
	}
	return lag, parts, nil
}
