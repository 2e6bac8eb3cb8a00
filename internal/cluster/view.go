package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// PipeMember is one member of a pipe as an operator looks at it: the node the leader placed it on,
// its static member name in the pipe's consumer group, and the partitions the broker gave it.
type PipeMember struct {
	Node       string
	InstanceID string
	// Partitions are the source partitions the broker assigned to the member, sorted; nil when the
	// member has not joined the group (yet), or the group could not be read.
	Partitions []int32
	// Owned is the number of partitions the node itself reports for the pipe (its status on the
	// assignments topic), which is known even when the broker's view is not.
	Owned int
}

// viewCacheFor bounds how often the broker is asked about one pipe's group: the console's event
// stream asks every second for every open pipe page.
const (
	viewCacheFor = 2 * time.Second
	viewTimeout  = 3 * time.Second
)

// View answers where a pipe's members run, for the web console. The nodes come from the leader's
// placement on the assignments topic (read by this node's board, so no request); the partitions from
// one DescribeGroups of the pipe's group on the pipe's own brokers, with the pipe's credentials, an
// admin request that does not touch the group's membership. Members are `<group>-<node>` (InstanceIDFor).
type View struct {
	node    *Node
	st      store.Store
	secrets plugin.SecretResolver
	log     *slog.Logger

	mu    sync.Mutex
	cache map[string]groupView
}

type groupView struct {
	at     time.Time
	group  string
	byInst map[string][]int32 // instance ID -> partitions
	err    error
}

// NewView returns the members view of node, whose pipes are in st.
func NewView(node *Node, st store.Store, secrets plugin.SecretResolver, log *slog.Logger) *View {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &View{node: node, st: st, secrets: secrets, log: log, cache: map[string]groupView{}}
}

// Members returns the pipe's members by node, sorted by node. A pipe with no member placed has none.
// When the broker's view of the group cannot be read, the members are still listed (without
// partitions) and the error says why.
func (v *View) Members(ctx context.Context, name string) ([]PipeMember, error) {
	_, pipes, nodes, _ := v.node.board.snapshot()
	a := pipes[name]
	gv := v.group(ctx, name)
	seen := map[string]bool{}
	var out []PipeMember
	for _, n := range a.Nodes {
		seen[n] = true
		m := PipeMember{Node: n, Owned: nodes[n].Partitions[name]}
		if gv.group != "" {
			m.InstanceID = gv.group + "-" + n
			m.Partitions = gv.byInst[m.InstanceID]
		}
		out = append(out, m)
	}
	// A member the leader has moved away still owns its partitions while it drains: list it too.
	for inst, parts := range gv.byInst {
		n, ok := strings.CutPrefix(inst, gv.group+"-")
		if !ok || seen[n] {
			continue
		}
		out = append(out, PipeMember{Node: n, InstanceID: inst, Partitions: parts, Owned: nodes[n].Partitions[name]})
	}
	slices.SortFunc(out, func(x, y PipeMember) int { return cmp.Compare(x.Node, y.Node) })
	return out, gv.err
}

// group returns the broker's view of the pipe's consumer group, at most viewCacheFor old.
func (v *View) group(ctx context.Context, name string) groupView {
	v.mu.Lock()
	defer v.mu.Unlock() // one read at a time: a page open on many browsers asks once
	if g, ok := v.cache[name]; ok && time.Since(g.at) < viewCacheFor {
		return g
	}
	for k, g := range v.cache { // forget pipes nobody looks at
		if time.Since(g.at) > time.Minute {
			delete(v.cache, k)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, viewTimeout)
	defer cancel()
	g := v.describe(ctx, name)
	g.at = time.Now()
	v.cache[name] = g
	return g
}

func (v *View) describe(ctx context.Context, name string) groupView {
	rec, err := v.st.Get(ctx, name)
	if err != nil {
		return groupView{err: err}
	}
	def, err := supervisor.StoredDefinition(rec, nil) // serve --cluster runs plugin.Default
	if err != nil {
		return groupView{err: err}
	}
	cfg, err := runtime.SourceConfig(def, v.secrets, v.log)
	if err != nil {
		return groupView{err: err}
	}
	group := cfg.ConsumerGroupID
	if group == "" {
		group = "sluice-" + name // as the source names it (internal/source/kafka)
	}
	g := groupView{group: group}
	opts, err := kafkaauth.Options(ctx, cfg.Auth, v.secrets)
	if err != nil {
		g.err = fmt.Errorf("source credentials of pipe %s: %w", name, err)
		return g
	}
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(cfg.Brokers...))...)
	if err != nil {
		g.err = fmt.Errorf("connecting to the source of pipe %s: %w", name, err)
		return g
	}
	defer cl.Close()
	described, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err == nil {
		err = described.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return g // kfake's answer for a group nobody joined yet: no members
	}
	if err != nil {
		g.err = fmt.Errorf("describing the consumer group %s of pipe %s: %w", group, name, err)
		return g
	}
	g.byInst = map[string][]int32{}
	for _, m := range described[group].Members {
		if m.InstanceID == nil {
			continue // not a cluster node's member (InstanceIDFor names every one)
		}
		var parts []int32
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				if t.Topic == cfg.Topic {
					parts = append(parts, t.Partitions...)
				}
			}
		}
		slices.Sort(parts)
		g.byInst[*m.InstanceID] = parts
	}
	return g
}
