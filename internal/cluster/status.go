package cluster

import (
	"github.com/prometheus/client_golang/prometheus"
)

// throttledMetric is the runtime's count of executions the target throttled, per pipe
// (internal/metrics: ExecutionThrottled).
const throttledMetric = "sluice_pipe_executions_throttled_total"

// ThrottledFrom reads, from a node's metrics, how many executions the target throttled per pipe since
// the node started: the overload signal a node publishes in its status (Config.Status).
func ThrottledFrom(g prometheus.Gatherer) map[string]float64 {
	out := map[string]float64{}
	mfs, err := g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != throttledMetric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pipe" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
