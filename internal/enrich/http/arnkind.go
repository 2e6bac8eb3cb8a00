package httpenrich

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/fieldcheck"
	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

// ARNKind is a Target and Enrichment kind whose ARN resolves to an HTTP endpoint: an API destination, an
// API Gateway method. AddARNKind registers its target and enrichment with what they share.
type ARNKind struct {
	// Kind is the registry key ("events:api-destination", "execute-api"); Name names the kind in
	// messages ("API destination").
	Kind, Name string
	// Validate reports the problems with the ARN (field is "Target" or "Enrichment") and with hp, the
	// decoded HttpParameters (nil when absent), under field+"Parameters.HttpParameters", beyond what
	// AddARNKind checks: strict decoding and httptarget.ValidateHTTPParameters (lengths, patterns, JSON
	// paths), BatchSize 1, no use as a dead-letter destination.
	Validate func(field string, c plugin.Check, hp *httptarget.HttpParameters) []plugin.FieldError
	// Resolve returns the HTTP client's configuration for the ARN; env.AWS is set. AddARNKind fills in
	// HTTP (hp) and Egress.
	Resolve func(ctx context.Context, env plugin.Env, c plugin.Check, hp *httptarget.HttpParameters) (httptarget.Config, error)
}

// AddARNKind adds k's target and enrichment to reg: one event per call (MaxBatch 1, and a source
// BatchSize of 1 by default and at most, as Pipes requires of API destinations and API Gateway),
// HttpParameters their member, the HTTP target's requests and this enrichment's handling of responses.
func AddARNKind(reg *plugin.Registry, k ARNKind) {
	conf := k.config
	reg.AddTarget(plugin.TargetSpec{Kinds: []string{k.Kind}, Members: []string{"HttpParameters"}, Validate: k.validate("Target"),
		MaxBatch: 1, DefaultBatchSize: 1, New: httptarget.NewTargetFrom(conf)})
	reg.AddEnricher(plugin.EnricherSpec{Kinds: []string{k.Kind}, Members: []string{"HttpParameters"}, Validate: k.validate("Enrichment"),
		MaxBatch: 1, DefaultBatchSize: 1, New: NewFrom(conf)})
}

func (k ARNKind) validate(field string) func(c plugin.Check) []plugin.FieldError {
	return func(c plugin.Check) []plugin.FieldError {
		if c.DeadLetter {
			return []plugin.FieldError{plugin.Errorf(field, "an %s cannot be a dead-letter destination: use kafka://host:port/topic or file:///path", k.Name)}
		}
		prefix := field + "Parameters"
		var hp *httptarget.HttpParameters
		_, fe := fieldcheck.Decode(c.Params, prefix, "HttpParameters", &hp)
		// The number of "*" path wildcards is the kind's to check (k.Validate): the URL is not the ARN.
		fe = append(fe, httptarget.ValidateHTTPParameters(prefix+".HttpParameters", hp, nil)...)
		fe = append(fe, k.Validate(field, c, hp)...)
		if c.BatchSize > 1 {
			fe = append(fe, plugin.Errorf("SourceParameters.SelfManagedKafkaParameters.BatchSize",
				"must be 1 with an %s %s, which takes one event per request", k.Name, strings.ToLower(field)))
		}
		return fe
	}
}

func (k ARNKind) config(ctx context.Context, env plugin.Env, c plugin.Check) (httptarget.Config, error) {
	if env.AWS == nil {
		return httptarget.Config{}, plugin.Permanent(errors.New(k.Name + " " + c.Endpoint + " needs AWS support, which this Sluice has not configured"))
	}
	hp, err := httptarget.HTTPParameters(c)
	if err != nil {
		return httptarget.Config{}, plugin.Permanent(err)
	}
	cfg, err := k.Resolve(ctx, env, c, hp)
	if err != nil {
		return httptarget.Config{}, err
	}
	cfg.HTTP, cfg.Egress = hp, env.Sandbox.Egress
	return cfg, nil
}

// NewFrom returns an EnricherSpec.New that enriches as this enrichment does, at the endpoint f resolves.
func NewFrom(f httptarget.ConfigFunc) func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Enricher, error) {
	return func(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Enricher, error) {
		cl, err := f.Client(ctx, env, c)
		if err != nil {
			return nil, fmt.Errorf("building enrichment %s of pipe %s: %w", c.Endpoint, env.PipeName, err)
		}
		return &Enricher{client: cl}, nil
	}
}
