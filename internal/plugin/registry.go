package plugin

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Registry maps a kind (URI scheme such as "file", "https", "kafka", or an ARN's service such as "sqs") to
// the spec of the target or enrichment serving it. Plugins add themselves to Default in init(); tests
// build their own with NewRegistry.
type Registry struct {
	mu        sync.RWMutex
	targets   map[string]*TargetSpec
	enrichers map[string]*EnricherSpec
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{targets: map[string]*TargetSpec{}, enrichers: map[string]*EnricherSpec{}}
}

// Default is the registry that plugin packages add themselves to from init(), the one place where plugins
// announce themselves; cmd/sluice blank-imports them.
var Default = NewRegistry()

// AddTarget adds a target spec under each of its kinds. A spec without kinds or a constructor, or a kind
// registered twice, is a programming error and panics.
func (r *Registry) AddTarget(s TargetSpec) {
	if len(s.Kinds) == 0 || s.New == nil {
		panic(fmt.Sprintf("plugin: target spec %v needs Kinds and New", s.Kinds))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range s.Kinds {
		if _, dup := r.targets[k]; dup {
			panic(fmt.Sprintf("plugin: target kind %q registered twice", k))
		}
	}
	for _, k := range s.Kinds {
		r.targets[k] = &s
	}
}

// AddEnricher adds an enrichment spec under each of its kinds; it panics as AddTarget does.
func (r *Registry) AddEnricher(s EnricherSpec) {
	if len(s.Kinds) == 0 || s.New == nil {
		panic(fmt.Sprintf("plugin: enrichment spec %v needs Kinds and New", s.Kinds))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range s.Kinds {
		if _, dup := r.enrichers[k]; dup {
			panic(fmt.Sprintf("plugin: enrichment kind %q registered twice", k))
		}
	}
	for _, k := range s.Kinds {
		r.enrichers[k] = &s
	}
}

// TargetSpec returns the spec serving a Target (or dead-letter) string, or false when its kind is unknown.
func (r *Registry) TargetSpec(endpoint string) (TargetSpec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := lookup(r.targets, endpoint)
	if !ok {
		return TargetSpec{}, false
	}
	return *s, true
}

// EnricherSpec returns the spec serving an Enrichment string, or false when its kind is unknown.
func (r *Registry) EnricherSpec(endpoint string) (EnricherSpec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := lookup(r.enrichers, endpoint)
	if !ok {
		return EnricherSpec{}, false
	}
	return *s, true
}

// TargetKinds lists the registered target kinds, sorted, for error messages and documentation.
func (r *Registry) TargetKinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return sortedKeys(r.targets)
}

// EnricherKinds lists the registered enrichment kinds, sorted.
func (r *Registry) EnricherKinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return sortedKeys(r.enrichers)
}

// TargetMemberKinds returns the kinds of the target specs owning a TargetParameters member, sorted
// (none: no registered target uses it).
func (r *Registry) TargetMemberKinds(member string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for k, s := range r.targets {
		if slices.Contains(s.Members, member) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// EnricherMemberKinds is TargetMemberKinds for EnrichmentParameters members.
func (r *Registry) EnricherMemberKinds(member string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for k, s := range r.enrichers {
		if slices.Contains(s.Members, member) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Kind returns the kind of a Target or Enrichment string: the service of an ARN
// ("arn:aws:sqs:..." -> "sqs") or the scheme of a URI ("https://..." -> "https").
func Kind(s string) string {
	if strings.HasPrefix(s, "arn:") {
		parts := strings.SplitN(s, ":", 4)
		if len(parts) >= 3 {
			return parts[2]
		}
		return ""
	}
	// Not url.Parse: a kafka:// list of brokers ("a:9092,b:9093") is no valid URL host.
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || !reScheme.MatchString(scheme) {
		return ""
	}
	return strings.ToLower(scheme)
}

var reScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.\-]*$`)

// ResourceKind returns the finer registry key of an ARN, its service and resource type, the resource
// up to its first '/' or ':' ("arn:aws:events:...:api-destination/NAME/UUID" ->
// "events:api-destination"); "" for a URI. A spec registered under it serves those ARNs instead of the
// service's spec (an API destination and an event bus are both "events").
func ResourceKind(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	typ := parts[5]
	if i := strings.IndexAny(typ, "/:"); i >= 0 {
		typ = typ[:i]
	}
	return parts[2] + ":" + typ
}

// lookup returns the spec serving endpoint: its ResourceKind's, else its Kind's.
func lookup[S any](m map[string]*S, endpoint string) (*S, bool) {
	if k := ResourceKind(endpoint); k != "" {
		if s, ok := m[k]; ok {
			return s, true
		}
	}
	s, ok := m[Kind(endpoint)]
	return s, ok
}

// WithTarget returns a copy of r in which s serves its kinds instead of the specs registered for them
// (sluice dev binds file:///dev/stdout to its own output this way). r is unchanged.
func (r *Registry) WithTarget(s TargetSpec) *Registry {
	r.mu.RLock()
	out := &Registry{targets: make(map[string]*TargetSpec, len(r.targets)), enrichers: make(map[string]*EnricherSpec, len(r.enrichers))}
	for k, v := range r.targets {
		out.targets[k] = v
	}
	for k, v := range r.enrichers {
		out.enrichers[k] = v
	}
	r.mu.RUnlock()
	for _, k := range s.Kinds {
		delete(out.targets, k)
	}
	out.AddTarget(s)
	return out
}
