package httptarget

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/transform"
)

// Limits of the API destination behaviour.
const (
	// DefaultTimeout bounds one request, as API destinations do (5 s).
	DefaultTimeout = 5 * time.Second
	// MaxResponseBytes is the largest response body read for an enrichment (Pipes' 6 MB limit).
	MaxResponseBytes = plugin.MaxPayloadBytes
	// drainBytes is how much of an unread response is consumed so the connection can be reused.
	drainBytes = 64 << 10
	// UserAgent is the User-Agent API destinations send.
	UserAgent = "Amazon/EventBridge/ApiDestinations"
)

// Config is what a Client is built from: the endpoint and the pipe's HTTP settings.
type Config struct {
	// URL is the http(s) endpoint; "*" in its path are filled from HTTP.PathParameterValues.
	URL string
	// HTTP holds the path, header and query parameters (may be nil).
	HTTP *HttpParameters
	// APIDestination holds the method, rate limit and connection (may be nil: POST, 300/s, no auth).
	APIDestination *ApiDestinationParameters
	// Secrets resolves the connection's secret references.
	Secrets plugin.SecretResolver
	// Egress is the operator's egress policy (plugin.Env.Sandbox.Egress), applied in the dialer to every
	// connection, the OAuth token endpoint's included; nil allows any address.
	Egress *sandbox.Egress
	// Invocation holds an EventBridge connection's InvocationHttpParameters (an API destination ARN's):
	// literal headers and query parameters that replace HTTP's of the same name (connection values
	// win). Its BodyParameters are not applied.
	Invocation *ConnectionHttpParameters
	// Sign, when set, authorizes each request instead of APIDestination.Connection, once every other
	// header is set (API Gateway's SigV4); the body is readable through req.GetBody.
	Sign func(ctx context.Context, req *http.Request) error
}

// Option adjusts a Client; the options exist for tests and embedding.
type Option func(*Client)

// WithTransport makes the Client send through rt (for example an httptest TLS server's transport). The
// egress policy lives in the default transport's dialer, so rt replaces it: tests and embedding only.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.hc.Transport = rt }
}

// WithTimeout replaces the 5 s request timeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.hc.Timeout = d }
}

func withClock(k clock) Option {
	return func(c *Client) { c.clock = k }
}

// Client sends one event per request to an HTTP endpoint with the API destination behaviour. It is
// safe for concurrent use; the rate limit and the OAuth token are shared by all callers.
type Client struct {
	method     string
	base       *url.URL // the endpoint with its path template
	pathParts  []string // the escaped path split at "*"
	pathParams []param
	headers    []param
	query      []param
	auth       authorizer
	limiter    *rate.Limiter
	clock      clock
	hc         *http.Client
	name       string // method and URL without query, for errors
}

// param is a static value or a JSON path evaluated per event.
type param struct {
	name   string
	static string
	path   *transform.Path
}

// Response is a successful (2xx) response.
type Response struct {
	Status int
	Header http.Header
	// Body is the decoded body, read only when Do was asked to.
	Body []byte
}

// NewClient builds a Client, resolving the connection's secrets through cfg.Secrets.
func NewClient(ctx context.Context, cfg Config, opts ...Option) (*Client, error) {
	base, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing HTTP endpoint: %w", err)
	}
	ad := APIDestination(cfg.APIDestination)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	transport.DisableCompression = true // Accept-Encoding is set, and decoded, here
	// The egress policy checks the address each connection is made to, after DNS resolution (so DNS
	// rebinding cannot get around it), before connecting. Through a proxy the connection would be to the
	// proxy and the proxy would choose the address, so under a policy the environment's HTTP_PROXY and
	// HTTPS_PROXY are not used for pipe traffic.
	transport.DialContext = cfg.Egress.Dialer(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if cfg.Egress != nil {
		transport.Proxy = nil
	}
	c := &Client{
		method: ad.HttpMethod,
		base:   base,
		clock:  realClock{},
		hc: &http.Client{
			Transport: transport,
			Timeout:   DefaultTimeout,
			// A redirect is an outcome, not something to follow with the credentials attached.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.name = c.method + " " + base.Scheme + "://" + base.Host + base.EscapedPath()
	c.pathParts = strings.Split(base.EscapedPath(), "*")
	limit := *ad.InvocationRateLimitPerSecond
	c.limiter = rate.NewLimiter(rate.Limit(limit), 1)
	if limit <= 0 {
		c.limiter.SetLimit(rate.Inf) // API Gateway: no rate limit of Sluice's own (validation keeps users at >= 1)
	}
	if hp := cfg.HTTP; hp != nil {
		for i, v := range hp.PathParameterValues {
			p, err := newParam(strconv.Itoa(i), v)
			if err != nil {
				return nil, fmt.Errorf("HttpParameters.PathParameterValues[%d]: %w", i, err)
			}
			c.pathParams = append(c.pathParams, p)
		}
		for k, v := range hp.HeaderParameters {
			p, err := newParam(k, v)
			if err != nil {
				return nil, fmt.Errorf("HttpParameters.HeaderParameters[%s]: %w", k, err)
			}
			c.headers = append(c.headers, p)
		}
		for k, v := range hp.QueryStringParameters {
			p, err := newParam(k, v)
			if err != nil {
				return nil, fmt.Errorf("HttpParameters.QueryStringParameters[%s]: %w", k, err)
			}
			c.query = append(c.query, p)
		}
	}
	if inv := cfg.Invocation; inv != nil {
		for _, kv := range inv.HeaderParameters {
			c.headers = slices.DeleteFunc(c.headers, func(p param) bool { return strings.EqualFold(p.name, kv.Key) })
			c.headers = append(c.headers, param{name: kv.Key, static: kv.Value})
		}
		for _, kv := range inv.QueryStringParameters {
			c.query = slices.DeleteFunc(c.query, func(p param) bool { return p.name == kv.Key })
			c.query = append(c.query, param{name: kv.Key, static: kv.Value})
		}
	}
	if len(c.pathParams) != len(c.pathParts)-1 {
		return nil, fmt.Errorf("endpoint %s has %d \"*\" wildcards but %d path parameter values", c.name, len(c.pathParts)-1, len(c.pathParams))
	}
	for _, o := range opts {
		o(c)
	}
	if cfg.Sign != nil {
		c.auth = signer(cfg.Sign)
		return c, nil
	}
	c.auth, err = newAuthorizer(ctx, ad.Connection, cfg.Secrets, c)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func newParam(name, v string) (param, error) {
	if transform.IsPath(v) {
		p, err := transform.ParsePath(v)
		if err != nil {
			return param{}, err
		}
		return param{name: name, path: p}, nil
	}
	return param{name: name, static: v}, nil
}

// value returns the parameter's value for one event, and false when its path is missing.
func (p param) value(source []byte) (string, bool, error) {
	if p.path == nil {
		return p.static, true, nil
	}
	return p.path.LookupText(source)
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Name is the method and URL (without query) for messages.
func (c *Client) Name() string { return c.name }

// Do sends one event: body is the (transformed) payload, source the untransformed event that JSON-path
// parameters read. It waits for the rate limiter, authorizes, retries once after a 401/407 with a
// fresh OAuth token, and classifies the outcome (see the package comment). With readBody the decoded
// response body is returned, and a body over MaxResponseBytes is a permanent error.
func (c *Client) Do(ctx context.Context, body, source []byte, readBody bool) (*Response, error) {
	resp, err := c.do(ctx, body, source, readBody)
	var retry *authRetry
	if errors.As(err, &retry) {
		c.auth.invalidate(retry.credential)
		resp, err = c.do(ctx, body, source, readBody)
		if errors.As(err, &retry) {
			return nil, plugin.Permanent(retry.err)
		}
	}
	return resp, err
}

// authRetry reports a 401/407 that a fresh credential may cure.
type authRetry struct {
	credential string
	err        error
}

func (e *authRetry) Error() string { return e.err.Error() }

func (c *Client) do(ctx context.Context, body, source []byte, readBody bool) (*Response, error) {
	req, bodies, err := c.request(ctx, body, source)
	if err != nil {
		return nil, err
	}
	if bodies != nil {
		// body is borrowed from the caller: do not return before the transport let go of it.
		defer bodies.wait(c.hc.Timeout + time.Second)
	}
	// A request that never reaches the transport must release its body itself, or the wait above
	// would hold the pipe for the whole request timeout.
	abandon := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	if err := c.wait(ctx); err != nil {
		abandon()
		return nil, err
	}
	credential, err := c.auth.apply(ctx, req)
	if err != nil {
		abandon()
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, transportError(c.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		out := &Response{Status: resp.StatusCode, Header: resp.Header}
		if !readBody {
			_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
			return out, nil
		}
		out.Body, err = readDecoded(resp)
		if err != nil {
			return nil, fmt.Errorf("%s: reading response: %w", c.name, err)
		}
		return out, nil
	}
	_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
	statusErr := &StatusError{Endpoint: c.name, Code: resp.StatusCode}
	if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusProxyAuthRequired) && c.auth.refreshable() {
		return nil, &authRetry{credential: credential, err: statusErr}
	}
	return nil, classify(resp, statusErr)
}

// StatusError is a non-2xx response. Its HTTPStatusCode method is what the retry policy classifies on and
// what the execution log reports as error.httpStatusCode.
type StatusError struct {
	Endpoint string // the endpoint as logged (no credentials)
	Code     int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: status %d %s", e.Endpoint, e.Code, http.StatusText(e.Code))
}

// HTTPStatusCode returns the response's status code.
func (e *StatusError) HTTPStatusCode() int { return e.Code }

// classify maps a non-2xx response to the error kinds the runtime acts on.
func classify(resp *http.Response, err error) error {
	wait, hasWait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &plugin.ThrottledError{Err: err, RetryAfter: wait}
	case resp.StatusCode >= 500:
		if hasWait {
			return &plugin.RetryAfterError{Err: err, RetryAfter: wait}
		}
		return err
	}
	return plugin.Permanent(err)
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func (c *Client) wait(ctx context.Context) error {
	now := c.clock.Now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("%s: rate limiter refused the request", c.name)
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := c.clock.Sleep(ctx, d); err != nil {
			r.CancelAt(c.clock.Now())
			return err
		}
	}
	return nil
}

// request builds the request for one event.
func (c *Client) request(ctx context.Context, body, source []byte) (*http.Request, *bodyTracker, error) {
	var path strings.Builder
	path.WriteString(c.pathParts[0])
	for i, p := range c.pathParams {
		v, ok, err := p.value(source)
		if err != nil {
			return nil, nil, plugin.Permanent(fmt.Errorf("%s: path parameter %d: %w", c.name, i, err))
		}
		if !ok {
			return nil, nil, plugin.Permanent(fmt.Errorf("%s: path parameter %d (%s) is missing from the event", c.name, i, p.path))
		}
		path.WriteString(url.PathEscape(v))
		path.WriteString(c.pathParts[i+1])
	}
	u := *c.base
	u.RawPath = path.String()
	if p, err := url.PathUnescape(u.RawPath); err == nil {
		u.Path = p
	}
	if len(c.query) > 0 {
		q := u.Query()
		for _, p := range c.query {
			v, ok, err := p.value(source)
			if err != nil {
				return nil, nil, plugin.Permanent(fmt.Errorf("%s: query parameter %s: %w", c.name, p.name, err))
			}
			if ok {
				q.Set(p.name, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u.String(), nil)
	if err != nil {
		return nil, nil, plugin.Permanent(fmt.Errorf("%s: building request: %w", c.name, err))
	}
	var bodies *bodyTracker
	if c.method != http.MethodGet && c.method != http.MethodHead {
		bodies = &bodyTracker{data: body}
		req.Body = bodies.body()
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return bodies.body(), nil }
		if len(body) == 0 {
			req.Body, req.GetBody = http.NoBody, nil
			bodies = nil
		}
	}
	h := req.Header
	h.Set("User-Agent", UserAgent)
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Range", "bytes=0-1048575")
	h.Set("Accept-Encoding", "gzip,deflate")
	for _, p := range c.headers {
		v, ok, err := p.value(source)
		if err != nil {
			return nil, nil, plugin.Permanent(fmt.Errorf("%s: header %s: %w", c.name, p.name, err))
		}
		if !ok {
			continue
		}
		if !validHeaderValue(v) {
			return nil, nil, plugin.Permanent(fmt.Errorf("%s: header %s: value from the event holds control characters", c.name, p.name))
		}
		h.Set(p.name, v)
	}
	return req, bodies, nil
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// readDecoded reads a response body, undoing gzip or deflate, up to MaxResponseBytes.
func readDecoded(resp *http.Response) ([]byte, error) {
	var r io.Reader = resp.Body
	switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("decoding gzip body: %w", err)
		}
		defer zr.Close()
		r = zr
	case "deflate":
		// "deflate" is zlib-wrapped by the standard, raw DEFLATE in practice from some servers.
		raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
		if err != nil {
			return nil, err
		}
		if zr, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
			defer zr.Close()
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(raw))
		}
	default:
		return nil, plugin.Permanent(fmt.Errorf("unsupported Content-Encoding %q", resp.Header.Get("Content-Encoding")))
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseBytes {
		return nil, plugin.Permanent(fmt.Errorf("response body is larger than %d bytes", MaxResponseBytes))
	}
	return b, nil
}

// transportError wraps a failed round trip: an address the egress policy refuses is permanent (retrying
// cannot change the operator's policy); timeouts and connection failures are worth retrying.
func transportError(name string, err error) error {
	err = fmt.Errorf("%s: %w", name, scrub(err))
	if errors.Is(err, sandbox.ErrEgressRefused) {
		return plugin.Permanent(err)
	}
	return err
}

// scrub removes the query string from a url.Error's URL, in case it carries parameters taken from
// events, and keeps the cause.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
