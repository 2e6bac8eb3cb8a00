package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/sluicehq/sluice/internal/console"
)

// The web console (internal/console) is served on the API's listener at / and under /console/. It
// reaches the pipes through consoleBackend, which calls the same operation handlers as the REST API,
// so that what the console submits is validated, confined and stored exactly as CreatePipe and
// UpdatePipe would, and refused with the same fieldList.

// withConsole routes the console's paths to it and the rest to api. Without access keys the console
// gets LocalOnly's Host and Origin checks (its forms post form bodies, which the API refuses, and carry
// CSRF tokens instead); with keys it signs its visitors in itself.
func (s *Server) withConsole(o console.Options, api http.Handler) (http.Handler, error) {
	o.Backend = consoleBackend{s}
	if s.cfg.Members != nil {
		o.Backend = membersBackend{consoleBackend{s}}
	}
	o.Keys = s.cfg.Keys
	o.Region, o.Account = s.cfg.Region, s.cfg.Account
	if o.Logger == nil {
		o.Logger = s.log
	}
	c, err := console.New(o)
	if err != nil {
		return nil, err
	}
	s.console = c
	var ch http.Handler = c
	if s.verify == nil {
		ch = localBrowser(c)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.EscapedPath(); console.Owns(p) && r.Header.Get("Authorization") == "" {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
			if p == console.Prefix+"signin" && r.Method == http.MethodPost && s.limiter != nil && !s.limiter.Allow() {
				// Sign-in attempts share the API's request budget, so that guessing secrets is as slow
				// through the console as through signed requests.
				w.Header().Set("Retry-After", "1")
				http.Error(w, "too many requests; try again in a moment", http.StatusTooManyRequests)
				return
			}
			ch.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}), nil
}

// StopStreams ends the web console's event streams (none without a console): give it to
// http.Server.RegisterOnShutdown, so that Shutdown need not wait for the browsers' open streams.
func (s *Server) StopStreams() {
	if s.console != nil {
		s.console.StopStreams()
	}
}

// consoleBackend is console.Backend over the Server's operations.
type consoleBackend struct{ s *Server }

// call runs an operation handler as the REST API would and maps its error for the console.
func (b consoleBackend) call(ctx context.Context, name, pipe string, body []byte,
	h func(context.Context, *operation, *http.Request, []byte) (any, error)) (any, error) {
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{}}
	out, err := h(ctx, &operation{name: name, pipe: pipe}, r.WithContext(ctx), body)
	if err != nil {
		e := toAPIError(err, pipe)
		ce := &console.Error{Type: e.Type, Message: e.Message}
		for _, f := range e.Fields {
			ce.Fields = append(ce.Fields, console.FieldError{Name: f.Name, Message: f.Message})
		}
		return nil, ce
	}
	return out, nil
}

func (b consoleBackend) ListPipes(ctx context.Context) ([]console.PipeSummary, error) {
	recs, err := b.s.cfg.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]console.PipeSummary, 0, len(recs))
	for _, r := range recs {
		it := b.s.arns.listItem(r)
		var d struct {
			SourceParameters struct{ SelfManagedKafkaParameters struct{ TopicName string } }
		}
		_ = json.Unmarshal(r.Definition, &d) // a stored definition decodes; worst case no topic shows
		out = append(out, console.PipeSummary{Name: it.Name, DesiredState: it.DesiredState, CurrentState: it.CurrentState,
			StateReason: it.StateReason, Source: it.Source, Topic: d.SourceParameters.SelfManagedKafkaParameters.TopicName,
			Target: it.Target, Enrichment: it.Enrichment})
	}
	return out, nil
}

func (b consoleBackend) DescribePipe(ctx context.Context, name string) (json.RawMessage, error) {
	out, err := b.call(ctx, "DescribePipe", name, nil, b.s.describePipe)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

func (b consoleBackend) CreatePipe(ctx context.Context, name string, body []byte) error {
	_, err := b.call(ctx, "CreatePipe", name, body, b.s.createPipe)
	return err
}

func (b consoleBackend) UpdatePipe(ctx context.Context, name string, body []byte) error {
	_, err := b.call(ctx, "UpdatePipe", name, body, b.s.updatePipe)
	return err
}

func (b consoleBackend) StartPipe(ctx context.Context, name string) error {
	_, err := b.call(ctx, "StartPipe", name, nil, b.s.startPipe)
	return err
}

func (b consoleBackend) StopPipe(ctx context.Context, name string) error {
	_, err := b.call(ctx, "StopPipe", name, nil, b.s.stopPipe)
	return err
}

func (b consoleBackend) DeletePipe(ctx context.Context, name string) error {
	_, err := b.call(ctx, "DeletePipe", name, nil, b.s.deletePipe)
	return err
}

func (b consoleBackend) Metrics(ctx context.Context) (map[string]console.Snapshot, error) {
	if b.s.cfg.Gatherer == nil {
		return nil, errors.New("the server has no metrics registry")
	}
	return console.Gather(b.s.cfg.Gatherer)
}

// membersBackend is the console's Backend in cluster mode: it also implements console.MembersBackend,
// so that the pipe page lists which node runs which member. A distinct type, because the console
// shows the list whenever its Backend has the method.
type membersBackend struct{ consoleBackend }

func (b membersBackend) Members(ctx context.Context, name string) ([]console.Member, error) {
	return b.s.cfg.Members(ctx, name)
}
