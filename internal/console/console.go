// Package console is Sluice's web console: server-rendered pages (HTML written by Go code, html.go) with a little of its own
// JavaScript and CSS, embedded in the binary, to list pipes and watch them run (server-sent events),
// create, edit, start, stop and delete them, and try filter patterns and input templates against records
// peeked from a pipe's source topic.
//
// The console is served by the Pipes API server on its own listener (internal/api wires it in at / and
// under /console/) and reaches the pipes only through Backend, the small interface it declares here; the
// API's validation path therefore validates what the console submits, and its errors, with the field
// they name, are shown beside that field.
//
// Security follows the API's rules. Without access keys the API serves loopback clients only, and the
// console too (the API applies its Host and Origin checks to the console's paths). With keys, a visitor
// signs in with an access key id and its secret and receives a signed, HttpOnly, SameSite=Strict session
// cookie. Every state-changing request carries a CSRF token bound to the session (in both modes). The
// console shows secret references (ARNs, file://, env:), never a secret value: definitions hold nothing
// else.
package console

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// Prefix is the path under which the console serves everything but its home page, /.
const Prefix = "/console/"

// Backend is what the console needs from the server that manages pipes. internal/api implements it
// with the same code paths as the REST operations, so that a pipe created here is validated, stored and
// started exactly as CreatePipe would.
type Backend interface {
	// ListPipes returns every pipe, sorted by name.
	ListPipes(ctx context.Context) ([]PipeSummary, error)
	// DescribePipe returns the DescribePipe response of a pipe as JSON (AWS member names).
	DescribePipe(ctx context.Context, name string) (json.RawMessage, error)
	// CreatePipe and UpdatePipe take a CreatePipe or UpdatePipe request body; a rejected request
	// returns an *Error with the fields it names.
	CreatePipe(ctx context.Context, name string, body []byte) error
	UpdatePipe(ctx context.Context, name string, body []byte) error
	StartPipe(ctx context.Context, name string) error
	StopPipe(ctx context.Context, name string) error
	DeletePipe(ctx context.Context, name string) error
	// Metrics returns a snapshot of every pipe's counters, by pipe name.
	Metrics(ctx context.Context) (map[string]Snapshot, error)
}

// PipeSummary is one pipe of the list.
type PipeSummary struct {
	Name, DesiredState, CurrentState, StateReason string
	Source, Topic, Target, Enrichment             string
}

// Error is a request the Backend refused: the API exception type, its message, and the fields it names
// (the ValidationException fieldList).
type Error struct {
	Type, Message string
	Fields        []FieldError
}

// FieldError is one problem of a request, named by its field path
// ("SourceParameters.FilterCriteria.Filters[0].Pattern").
type FieldError struct{ Name, Message string }

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Options configure the console.
type Options struct {
	// Backend manages the pipes (required).
	Backend Backend
	// Keys are the API's access keys (id -> secret). Empty: no sign-in (the API's loopback rules
	// protect the console); otherwise visitors sign in with one of them.
	Keys map[string]string
	// Secrets resolves the secret references of a pipe's source, for the playground's peek; nil
	// allows peeking only at sources without credentials.
	Secrets plugin.SecretResolver
	// Egress is the operator's network policy for pipes; the peek dials the source's brokers under
	// it, as the pipe would.
	Egress *sandbox.Egress
	// ExecutionLog, when set, is the tap of the pipes' execution log (runtime.Deps.ExecutionLog): the
	// pipe page lists its recent records.
	ExecutionLog *LogTap
	// Region and Account name pipes in ARNs (templates' <aws.pipes.pipe-arn>).
	Region, Account string
	// SessionTTL is how long a sign-in lasts; default 12 hours.
	SessionTTL time.Duration
	// Logger receives the console's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now (tests).
	Now func() time.Time
}

//go:embed web
var webFS embed.FS

// Console serves the web console. Create it with New.
type Console struct {
	o       Options
	key     []byte // signs CSRF tokens without keys; random per process (sessions: sessionKey)
	static  http.Handler
	history *history
	offs    offsetsCache
	log     *slog.Logger
	closing chan struct{} // closed by StopStreams
	stopped sync.Once
}

// StopStreams ends every event stream and closes the clients kept for reading offsets, so that a server shutting down (http.Server.Shutdown waits for
// open connections) need not wait for the browsers' streams; register it with RegisterOnShutdown.
// Pages keep being served.
func (c *Console) StopStreams() {
	c.stopped.Do(func() { close(c.closing) })
	c.offs.closeAll()
}

// New returns a console over o.Backend.
func New(o Options) (*Console, error) {
	if o.Backend == nil {
		return nil, errors.New("console: Backend is required")
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("console: making the session key: %w", err)
	}
	sub, err := fs.Sub(webFS, "web/static")
	if err != nil {
		return nil, fmt.Errorf("console: static files: %w", err)
	}
	c := &Console{o: o, key: key, log: o.Logger,
		static:  http.StripPrefix(Prefix+"static/", http.FileServer(http.FS(sub))),
		history: newHistory(o.Now), closing: make(chan struct{})}
	return c, nil
}

// Owns reports whether the console serves the path (as sent, escaped): / and everything under Prefix.
func Owns(escapedPath string) bool {
	return escapedPath == "/" || strings.HasPrefix(escapedPath, Prefix)
}

// ServeHTTP serves the console's pages, its static files and its event stream.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No third-party content, no framing, no inline script: the console's own files only.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")

	path := r.URL.Path
	if strings.HasPrefix(path, Prefix+"static/") {
		h.Set("Cache-Control", "no-cache")
		c.static.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameSite(r) {
		// SameSite=Strict keeps the session cookie off cross-site requests already; this also covers
		// the sign-in form, which has no session yet.
		http.Error(w, "cross-site requests are refused", http.StatusForbidden)
		return
	}
	if path == Prefix+"signin" {
		c.signIn(w, r)
		return
	}
	sess, ok := c.session(r)
	if !ok {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
			return
		}
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost && !c.checkCSRF(r, sess) {
		http.Error(w, "missing or invalid CSRF token: reload the page and try again", http.StatusForbidden)
		return
	}
	rest := strings.TrimPrefix(path, Prefix)
	switch {
	case path == "/" || path == Prefix:
		c.listPage(w, r, sess)
	case rest == "signout" && r.Method == http.MethodPost:
		c.signOut(w, r)
	case rest == "events":
		c.events(w, r)
	case rest == "new":
		c.createPage(w, r, sess)
	case rest == "playground":
		c.playgroundPage(w, r, sess)
	case rest == "api/peek" && r.Method == http.MethodPost:
		c.peek(w, r)
	case rest == "api/try" && r.Method == http.MethodPost:
		c.try(w, r)
	case strings.HasPrefix(rest, "pipes/"):
		name, action, _ := strings.Cut(strings.TrimPrefix(rest, "pipes/"), "/")
		c.pipeRoute(w, r, sess, name, action)
	default:
		c.notFound(w, r, sess)
	}
}

// sameSite reports whether a browser request comes from this server's own pages: Sec-Fetch-Site
// same-origin or none (typed or bookmarked), and an Origin, when sent, naming the request's Host.
// Clients that are not browsers send neither header.
func sameSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	_, host, ok := strings.Cut(origin, "://")
	return ok && strings.EqualFold(host, r.Host)
}
