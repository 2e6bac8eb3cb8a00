package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/console"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/store"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 256 << 10
	DefaultRate         = 50 // API requests per second, sustained
	DefaultBurst        = 100
)

// Supervisor runs the pipes: the API hands it every lifecycle change (*supervisor.Manager is the one
// implementation; the interface keeps the API to HTTP). Records it returns are the stored ones; its
// errors are the store's and the supervisor's, mapped to AWS exceptions in errors.go.
type Supervisor interface {
	// Create stores a new pipe (defaulted and valid, tags included) and starts converging it.
	Create(ctx context.Context, def *pipe.Definition) (*store.Record, error)
	// Update applies fn (the UpdatePipe merge) to the stored definition and restarts the pipe.
	Update(ctx context.Context, name string, fn func(old *pipe.Definition) (*pipe.Definition, error)) (*store.Record, error)
	// Start, Stop and Delete set the pipe's desired state.
	Start(ctx context.Context, name string) (*store.Record, error)
	Stop(ctx context.Context, name string) (*store.Record, error)
	Delete(ctx context.Context, name string) (*store.Record, error)
	// Resume brings the stored pipes to their desired states after a start of the server.
	Resume(ctx context.Context) error
	// Close stops every pipe, keeping the desired states.
	Close(ctx context.Context) error
}

// Config configures a Server.
type Config struct {
	// Store holds the pipes (required): the API reads it (DescribePipe, ListPipes, tags) and writes
	// tags; lifecycle changes go through Supervisor, which must use the same store.
	Store store.Store
	// Supervisor runs the pipes (required): supervisor.NewManager over Store.
	Supervisor Supervisor
	// Region and Account appear in pipe ARNs; defaults awsid.DefaultRegion and awsid.DefaultAccount.
	Region, Account string
	// Keys maps access key IDs to secret access keys; requests must carry a valid SigV4 signature by
	// one of them. Empty means no authentication: the caller must then listen on loopback only, and the
	// Handler refuses every request that does not come from a client on this machine (LocalOnly:
	// loopback Host, no cross-site browser request, JSON bodies only). With keys the signature is the
	// protection (a web page cannot sign), so those checks are off: a server behind a proxy sees
	// other Host names, and any signed client may send what it likes.
	Keys map[string]string
	// MaxBodyBytes bounds request bodies; default 256 KiB.
	MaxBodyBytes int64
	// Rate and Burst bound API requests across all clients (ThrottlingException beyond); defaults 50/s
	// and 100. A negative Rate disables throttling.
	Rate  float64
	Burst int
	// Registerer receives the API's metrics and Gatherer serves /metrics; either may be nil.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Logger receives request and lifecycle logs; nil discards them.
	Logger *slog.Logger
	// Sandbox is the operator's policy for pipes created through the API: CreatePipe and UpdatePipe
	// refuse local files outside its file roots (confine.go). The runtime enforces the whole policy
	// (supervisor.RuntimeOptions.Deps.Sandbox); give both the same value. The zero value is unrestricted.
	Sandbox sandbox.Policy
	// Console, when set, serves the web console at / and under /console/ on the same handler, with the
	// same access keys (console.go); its Backend, Keys, Region and Account are filled in here.
	Console *console.Options
	// Members, in cluster mode, says which nodes run a pipe's members and the partitions they own: the
	// console's pipe page lists them ("Members by node"). Nil (a single node) leaves the list out.
	Members func(ctx context.Context, name string) ([]console.Member, error)
	// Registry holds the target and enrichment plugins that CreatePipe and UpdatePipe validate with
	// (pipe.Load); nil means plugin.Default. Give supervisor.RuntimeOptions.Deps.Registry the same value.
	Registry *plugin.Registry
}

// registry is the plugin registry definitions are validated with.
func (s *Server) registry() *plugin.Registry {
	if s.cfg.Registry != nil {
		return s.cfg.Registry
	}
	return plugin.Default
}

// Server is the Pipes API: an http.Handler for the REST operations, /metrics and /healthz, over a
// Supervisor that runs the pipes.
type Server struct {
	cfg     Config
	arns    ARNs
	pipes   Supervisor
	verify  *Verifier
	limiter *rate.Limiter
	log     *slog.Logger
	metrics *apiMetrics
	handler http.Handler
	console *console.Console // nil without Config.Console
}

// NewServer builds a Server. Call Resume to start the stored pipes, serve Handler, and Close to stop.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Supervisor == nil {
		return nil, errors.New("api server: Store and Supervisor are required")
	}
	if cfg.Region == "" {
		cfg.Region = awsid.DefaultRegion
	}
	if cfg.Account == "" {
		cfg.Account = awsid.DefaultAccount
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:   cfg,
		arns:  ARNs{Region: cfg.Region, Account: cfg.Account},
		pipes: cfg.Supervisor,
		log:   cfg.Logger,
	}
	if len(cfg.Keys) > 0 {
		s.verify = NewVerifier(cfg.Keys)
	}
	if cfg.Rate > 0 {
		// Pipes throttles control-plane calls, and a runaway script should get ThrottlingException
		// (which the SDKs retry with backoff) rather than starve the pipes of CPU: one token bucket is
		// shared by all API requests.
		s.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	m, err := newAPIMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	var metricsHandler http.Handler
	if cfg.Gatherer != nil {
		metricsHandler = promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{})
	}
	// No http.ServeMux: it answers paths it finds unclean (a pipe named "..", "//", "%2F") with a
	// redirect and its 404/405 with text, where every API answer must be AWS-shaped JSON. The paths
	// are few enough to dispatch by hand, on the path exactly as sent.
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		get := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch p := r.URL.EscapedPath(); {
		case p == "/healthz" && get:
			s.healthz(w, r)
		case p == "/metrics" && get && metricsHandler != nil:
			metricsHandler.ServeHTTP(w, r)
		default:
			s.serveAPI(w, r)
		}
	})
	if s.verify == nil {
		h = LocalOnly(h)
	}
	if cfg.Console != nil {
		if h, err = s.withConsole(*cfg.Console, h); err != nil {
			return nil, err
		}
	}
	s.handler = s.recoverPanics(h)
	return s, nil
}

// recoverPanics answers a request whose handler panicked with an InternalException instead of letting
// net/http drop the connection, logs the stack and counts it (sluice_api_panics_total). serveOp has its
// own recover so that the operation's metrics see the failure; this one covers the rest.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p) // net/http's own way to abort a response; not a defect
				}
				s.panicked(w, r, p)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// panicked logs and counts a recovered panic and answers with an InternalException; it returns that.
func (s *Server) panicked(w http.ResponseWriter, r *http.Request, p any) *Error {
	s.metrics.panics.Inc()
	s.log.Error("panic serving API request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
	e := internalError("An internal error occurred; see the server log.")
	writeError(w, e)
	return e
}

// Handler returns the HTTP handler of the API, /metrics and /healthz.
func (s *Server) Handler() http.Handler { return s.handler }

// ARNs returns the ARN scheme of this server.
func (s *Server) ARNs() ARNs { return s.arns }

// Resume starts every stored pipe whose desired state is RUNNING, through the Supervisor.
func (s *Server) Resume(ctx context.Context) error { return s.pipes.Resume(ctx) }

// Close stops every pipe through the Supervisor (their desired states are kept for the next start).
func (s *Server) Close(ctx context.Context) error { return s.pipes.Close(ctx) }

// CreatePipe creates a pipe as the CreatePipe operation does (defaults, validation, then CREATING),
// for callers inside the process such as `sluice dev`. def.Name must be set.
func (s *Server) CreatePipe(ctx context.Context, def *pipe.Definition) error {
	d := def.Clone()
	d.SetDefaults(s.registry())
	if fe := d.Validate(s.registry()); len(fe) > 0 {
		return fe
	}
	if fe := s.confine(d); len(fe) > 0 {
		return fe
	}
	_, err := s.pipes.Create(ctx, d)
	return err
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := s.cfg.Store.Count(r.Context()); err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// operation is a routed API call.
type operation struct {
	name    string // the AWS operation name, for metrics and logs
	pipe    string // the pipe name from the path, unescaped ("" for ListPipes and tag operations)
	arn     string // the resource ARN of tag operations
	handler func(ctx context.Context, op *operation, r *http.Request, body []byte) (any, error)
}

// route maps method and path to an operation; nil means no such operation. The path is taken exactly as
// sent (no cleaning, no redirects): under /v1/pipes/ a path that is not NAME, NAME/start or NAME/stop
// with a valid NAME is answered with the ValidationException of its name, so that "..", "a/", "a//b"
// or "%2F" tell the client what is wrong with the name rather than that no operation exists.
func (s *Server) route(r *http.Request) *operation {
	path := r.URL.EscapedPath()
	if path == "/v1/pipes" {
		if r.Method == http.MethodGet {
			return &operation{name: "ListPipes", handler: s.listPipes}
		}
		return nil
	}
	if rest, ok := strings.CutPrefix(path, "/v1/pipes/"); ok {
		name, action, _ := strings.Cut(rest, "/")
		n, err := url.PathUnescape(name)
		if err != nil || checkName(n) != nil {
			return invalidNameOp(rest)
		}
		switch {
		case action == "" && !strings.HasSuffix(rest, "/"):
			switch r.Method {
			case http.MethodPost:
				return &operation{name: "CreatePipe", pipe: n, handler: s.createPipe}
			case http.MethodGet:
				return &operation{name: "DescribePipe", pipe: n, handler: s.describePipe}
			case http.MethodPut:
				return &operation{name: "UpdatePipe", pipe: n, handler: s.updatePipe}
			case http.MethodDelete:
				return &operation{name: "DeletePipe", pipe: n, handler: s.deletePipe}
			}
		case action == "start" && r.Method == http.MethodPost:
			return &operation{name: "StartPipe", pipe: n, handler: s.startPipe}
		case action == "stop" && r.Method == http.MethodPost:
			return &operation{name: "StopPipe", pipe: n, handler: s.stopPipe}
		case action == "" || action != "start" && action != "stop":
			return invalidNameOp(rest) // "NAME/" or "NAME/x/y": a name with a slash, which no pipe has
		}
		return nil
	}
	if rest, ok := strings.CutPrefix(path, "/tags/"); ok && rest != "" {
		// The ARN is one encoded segment from the SDKs (pipe%2FNAME); a hand-made request may leave
		// its slash unencoded, so the whole remainder is the ARN.
		arn, err := url.PathUnescape(rest)
		if err != nil {
			return nil
		}
		switch r.Method {
		case http.MethodPost:
			return &operation{name: "TagResource", arn: arn, handler: s.tagResource}
		case http.MethodDelete:
			return &operation{name: "UntagResource", arn: arn, handler: s.untagResource}
		case http.MethodGet:
			return &operation{name: "ListTagsForResource", arn: arn, handler: s.listTags}
		}
	}
	return nil
}

// invalidNameOp answers a path under /v1/pipes/ that holds no valid pipe name; the whole remainder of
// the path (an unescaped slash included) is what the client took for the name, and the error shows it.
func invalidNameOp(rest string) *operation {
	name, err := url.PathUnescape(rest)
	if err != nil {
		name = rest
	}
	return &operation{name: "InvalidName", pipe: name, handler: invalidName}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	op := s.route(r)
	opName := "Unknown"
	if op != nil {
		opName = op.name
	}
	code := s.serveOp(w, r, op)
	s.metrics.observe(opName, code, time.Since(start))
}

// serveOp runs one API request and returns the error type sent ("" on success) for metrics.
func (s *Server) serveOp(w http.ResponseWriter, r *http.Request, op *operation) (code string) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			code = s.panicked(w, r, p).Type
		}
	}()
	fail := func(e *Error) string {
		writeError(w, e)
		lvl := slog.LevelDebug
		if e.Status >= 500 {
			lvl = slog.LevelError
		}
		s.log.Log(r.Context(), lvl, "API request failed", "method", r.Method, "path", r.URL.Path, "type", e.Type, "message", e.Message)
		return e.Type
	}
	// Unauthenticated requests are refused before their body is read.
	if s.verify != nil && r.Header.Get("Authorization") == "" {
		if e := s.verify.Verify(r, nil); e != nil {
			return fail(e)
		}
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return fail(tooLarge(s.cfg.MaxBodyBytes))
	}
	body, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return fail(tooLarge(s.cfg.MaxBodyBytes))
		}
		return fail(validationError("Reading the request body failed."))
	}
	if s.verify != nil {
		if e := s.verify.Verify(r, body); e != nil {
			return fail(e)
		}
	}
	if s.limiter != nil && !s.limiter.Allow() {
		return fail(&Error{Type: TypeThrottling, Status: http.StatusTooManyRequests, Message: "Rate exceeded",
			ServiceCode: serviceCode, QuotaCode: quotaCodeAPIRequest, RetryAfter: time.Second})
	}
	if op == nil {
		return fail(&Error{Type: TypeUnknownOperation, Status: http.StatusNotFound,
			Message: "No Pipes operation is " + r.Method + " " + r.URL.EscapedPath() + "."})
	}
	out, err := op.handler(r.Context(), op, r, body)
	if err != nil {
		name := op.pipe
		if name == "" {
			name = op.arn
		}
		return fail(toAPIError(err, name))
	}
	// Templates hold '<' and '>': send them as they were given, not as \u003c escapes.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err = enc.Encode(out)
	data := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if err != nil {
		s.log.Error("encoding API response", "operation", op.name, "err", err)
		return fail(internalError("Encoding the response failed."))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(data)
	return ""
}

func tooLarge(limit int64) *Error {
	return validationError("Request body is larger than the limit of " + humanBytes(limit) + ".")
}

func humanBytes(n int64) string {
	if n%(1<<10) == 0 {
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}
