// Package httpenrich is the HTTP(S) enrichment: each event is sent to an endpoint with the API
// destination behaviour of internal/target/http (method, path/header/query parameters, Basic, API
// key or OAuth client-credentials authorization, rate limit, 5 s timeout, keep-alive, the same
// error classification), and the response body replaces the event. It registers the enrichment
// kinds "http" and "https" into plugin.Default.
//
// The response body (gzip or deflate decoded, at most 6 MB) becomes the events passed on:
//
//	empty body, "", {} or []       no event (the target is skipped for it)
//	a JSON array [a, b, ...]       one event per element, in order ([{}] gives one empty-object event)
//	any other JSON value           one event
//	a body that is not JSON        one event: the body as a JSON string
//
// The operator's egress policy (plugin.Env.Sandbox.Egress) applies as for the HTTP target: a refused
// address (link-local, cloud metadata, the server's own listener) is a permanent failure.
//
// Pipes sends API destination enrichments one event at a time (batch size 1, which validation
// enforces); given several events, Enrich calls the endpoint once per event and concatenates the
// results in order.
package httpenrich

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

func init() {
	plugin.Default.AddEnricher(Spec)
}

// Spec is the registry entry of the "http" and "https" enrichments: one event per request, as API
// destination enrichments take, hence a source BatchSize of 1 by default.
var Spec = plugin.EnricherSpec{
	Kinds:   []string{"http", "https"},
	Members: []string{"HttpParameters", "ApiDestinationParameters"},
	Validate: func(c plugin.Check) []plugin.FieldError {
		return httptarget.ValidateEndpoint(c, "Enrichment", "EnrichmentParameters", "enrichment")
	},
	Files:            httptarget.Files("EnrichmentParameters"),
	MaxBatch:         1,
	DefaultBatchSize: 1,
	New:              newEnricher,
}

// Enricher calls an HTTP endpoint per event and returns what it answers.
type Enricher struct {
	client *httptarget.Client
}

var (
	_ plugin.Enricher = (*Enricher)(nil)
	_ plugin.Closer   = (*Enricher)(nil)
)

// newEnricher is Spec.New: c.Params is the pipe's EnrichmentParameters JSON.
func newEnricher(ctx context.Context, env plugin.Env, c plugin.Check) (plugin.Enricher, error) {
	e, err := New(ctx, env, c.Endpoint, c.Params)
	if err != nil {
		return nil, err // not e: a nil *Enricher in a plugin.Enricher is a non-nil interface
	}
	return e, nil
}

// New builds the enrichment for the pipe's Enrichment URL and EnrichmentParameters JSON.
func New(ctx context.Context, env plugin.Env, enrichment string, params json.RawMessage, opts ...httptarget.Option) (*Enricher, error) {
	var ep httptarget.Parameters
	if len(params) > 0 && string(params) != "null" {
		if err := json.Unmarshal(params, &ep); err != nil {
			return nil, fmt.Errorf("decoding EnrichmentParameters of pipe %s: %w", env.PipeName, err)
		}
	}
	c, err := httptarget.NewClient(ctx, httptarget.Config{URL: enrichment, HTTP: ep.HttpParameters,
		APIDestination: ep.ApiDestinationParameters, Secrets: env.Secrets, Egress: env.Sandbox.Egress}, opts...)
	if err != nil {
		return nil, fmt.Errorf("building HTTP enrichment of pipe %s: %w", env.PipeName, err)
	}
	return &Enricher{client: c}, nil
}

// Enrich sends each payload, evaluating JSON-path parameters against b.Inputs[i], the untransformed
// event behind b.Payloads[i] (the Kafka record before the enrichment InputTemplate). Nil Inputs means
// the payloads themselves.
func (e *Enricher) Enrich(ctx context.Context, b plugin.Batch) ([]json.RawMessage, error) {
	events, inputs := b.Payloads, b.Inputs
	if inputs != nil && len(inputs) != len(events) {
		return nil, plugin.Permanent(fmt.Errorf("HTTP enrichment %s: %d events but %d inputs", e.client.Name(), len(events), len(inputs)))
	}
	var out []json.RawMessage
	for i, ev := range events {
		src := ev
		if inputs != nil {
			src = inputs[i]
		}
		resp, err := e.client.Do(ctx, ev, src, true)
		if err != nil {
			return nil, err
		}
		out = append(out, Split(resp.Body)...)
	}
	return out, nil
}

// Split turns a response body into events, per the table in the package comment.
func Split(body []byte) []json.RawMessage {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil
	}
	if !json.Valid(b) {
		s, _ := json.Marshal(string(body)) // invalid UTF-8 becomes U+FFFD
		return []json.RawMessage{s}
	}
	switch b[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return []json.RawMessage{b}
		}
		return items
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err == nil && len(obj) == 0 {
			return nil
		}
	case '"':
		if string(b) == `""` {
			return nil
		}
	}
	return []json.RawMessage{b}
}

// Close releases idle connections.
func (e *Enricher) Close(context.Context) error {
	e.client.Close()
	return nil
}
