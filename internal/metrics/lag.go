package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// lagCollector reads each pipe's consumer lag when Prometheus scrapes, so the gauge is never stale and
// partitions that a rebalance took away disappear instead of keeping their last value.
type lagCollector struct {
	desc *prometheus.Desc

	mu      sync.Mutex
	next    uint64
	sources map[string]lagSource
}

type lagSource struct {
	id  uint64
	lag func() map[int32]int64
}

func newLagCollector() *lagCollector {
	return &lagCollector{
		desc: prometheus.NewDesc("sluice_source_consumer_lag_records",
			"Records between the pipe's committed position and the end of each partition it reads.",
			[]string{"pipe", "partition"}, nil),
		sources: map[string]lagSource{},
	}
}

// add registers (or replaces) the lag function of a pipe; the returned stop removes it unless a newer
// registration replaced it in between (a restarted pipe must not lose its new source's lag).
func (c *lagCollector) add(pipe string, lag func() map[int32]int64) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	id := c.next
	c.sources[pipe] = lagSource{id: id, lag: lag}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if s, ok := c.sources[pipe]; ok && s.id == id {
			delete(c.sources, pipe)
		}
	}
}

func (c *lagCollector) remove(pipe string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sources, pipe)
}

// Describe implements prometheus.Collector.
func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. The lag functions are called outside the lock: they may take
// the source's own locks, and a slow one must not block add or remove.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	snapshot := make(map[string]func() map[int32]int64, len(c.sources))
	for pipe, s := range c.sources {
		snapshot[pipe] = s.lag
	}
	c.mu.Unlock()
	for pipe, lag := range snapshot {
		for partition, n := range lag() {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n),
				pipe, strconv.FormatInt(int64(partition), 10))
		}
	}
}
