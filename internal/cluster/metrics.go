package cluster

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// nodeMetrics are the node's cluster series:
//
//	sluice_cluster_pipe_members{pipe}                        members of the pipe in the cluster, as assigned
//	sluice_cluster_scaling_decisions_total{direction,reason} scaling decisions this node took as leader
//	sluice_cluster_owned_partitions{pipe}                    source partitions this node's member owns
type nodeMetrics struct {
	members   *prometheus.GaugeVec
	decisions *prometheus.CounterVec
	owned     *prometheus.GaugeVec

	mu   sync.Mutex
	seen map[string]bool
}

func newNodeMetrics(reg prometheus.Registerer) *nodeMetrics {
	m := &nodeMetrics{
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sluice", Subsystem: "cluster", Name: "pipe_members",
			Help: "Members of the pipe in the cluster, as the leader assigned them."}, []string{"pipe"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sluice", Subsystem: "cluster", Name: "scaling_decisions_total",
			Help: "Scaling decisions taken by this node while it led the cluster, by direction and reason."}, []string{"direction", "reason"}),
		owned: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sluice", Subsystem: "cluster", Name: "owned_partitions",
			Help: "Source partitions the member of the pipe on this node owns now."}, []string{"pipe"}),
		seen: map[string]bool{},
	}
	if reg != nil {
		reg.MustRegister(m.members, m.decisions, m.owned)
	}
	return m
}

func (m *nodeMetrics) observe(pipes map[string]Assignment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.seen {
		if _, ok := pipes[name]; !ok {
			m.members.DeleteLabelValues(name)
			delete(m.seen, name)
		}
	}
	for name, a := range pipes {
		m.members.WithLabelValues(name).Set(float64(len(a.Nodes)))
		m.seen[name] = true
	}
}

func (m *nodeMetrics) setOwned(owned map[string]int) {
	m.owned.Reset()
	for pipe, n := range owned {
		m.owned.WithLabelValues(pipe).Set(float64(n))
	}
}

func (m *nodeMetrics) clear() {
	m.owned.Reset()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.members.Reset()
	m.seen = map[string]bool{}
}
