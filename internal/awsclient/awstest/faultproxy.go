package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultProxy is a reverse proxy in front of an AWS emulator that answers chosen calls itself, with an AWS
// error in the wire format of the call's protocol, or hands them to a test's function, and forwards every
// other call unchanged. Point an SDK client's BaseEndpoint (or sluice's --aws-endpoint) at URL.
//
// Calls are told apart by operation name (see Op). It also records every call it sees, so a test can
// check how a batch was split.
type FaultProxy struct {
	// URL is the proxy's base URL.
	URL string

	upstream *url.URL
	client   *http.Client
	srv      *httptest.Server

	mu    sync.Mutex
	rules []*rule
	calls []Call
}

// Protocol is an AWS wire protocol, which decides how an error answer is written.
type Protocol int

// The protocols the SDK speaks. ProtocolAuto picks from the request: an X-Amz-Target header is the JSON
// protocol (SQS, EventBridge, CloudWatch Logs, Kinesis, Firehose, Step Functions), a form body with an
// Action is the query protocol (SNS, STS), anything else REST-JSON (Lambda, API Gateway). REST-XML (S3)
// is never guessed: name it.
const (
	ProtocolAuto Protocol = iota
	ProtocolJSON
	ProtocolQuery
	ProtocolRESTJSON
	ProtocolRESTXML
)

// APIError is an error answer as an AWS service writes it.
type APIError struct {
	// Status is the HTTP status (400 when zero).
	Status int
	// Code is the error code the SDK reports ("ThrottlingException", "Throttling"). For the JSON
	// protocol it is written as the body's __type and the X-Amzn-ErrorType header; a service's shape
	// prefix ("com.amazonaws.sqs#") may be given and the SDK strips it.
	Code string
	// Message is the error message.
	Message string
	// QueryCode, for JSON services that keep their query-protocol codes (SQS), is sent as the
	// x-amzn-query-error header ("AWS.SimpleQueueService.NonExistentQueue"); the SDK then reports it
	// as the code.
	QueryCode string
	// Receiver marks a server-side fault (query protocol Type and x-amzn-query-error fault); the default
	// is a Sender fault.
	Receiver bool
	// Protocol overrides the protocol guessed from the request.
	Protocol Protocol
}

// Throttle returns the throttling error a service answers when asked to slow down: code is the
// service's own ("ThrottlingException" for EventBridge, CloudWatch Logs, Step Functions and Lambda's
// "TooManyRequestsException", "Throttling" or "Throttled" for SNS, "RequestThrottled" for SQS, ...).
func Throttle(code string) APIError {
	status := http.StatusBadRequest
	if code == "TooManyRequestsException" {
		status = http.StatusTooManyRequests
	}
	return APIError{Status: status, Code: code, Message: "Rate exceeded"}
}

// Call is one request the proxy saw.
type Call struct {
	// Op is the operation name (see Op).
	Op string
	// Header and Body are the request's, as the client sent them.
	Header http.Header
	Body   []byte
	// Answered says the proxy answered the call itself (an APIError or a Handle function) rather than
	// forwarding it unchanged.
	Answered bool
}

// Response is an HTTP answer, from the emulator or made by a Handle function.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Rule picks calls and says what to do with them.
type Rule struct {
	// Op is the operation to match (see Op), exactly; a value containing "/" ("POST /2015-03-31/functions/")
	// matches REST operations by prefix.
	Op string
	// Skip lets the first Skip matching calls through untouched.
	Skip int
	// Times is how many matching calls, after the skipped ones, the rule takes; zero means all of them.
	Times int
	// Error, when non-nil, answers the call with this error without forwarding it.
	Error *APIError
	// Handle, when Error is nil, answers the call: it may change the request and forward it with
	// Exchange.Forward, then change the emulator's answer (for instance fail some entries of a batch
	// call and forward only the others). An error from it is answered as a 502.
	Handle func(ctx context.Context, x *Exchange) (*Response, error)
}

type rule struct {
	Rule
	seen int // matching calls so far
}

// Exchange is a call given to a Rule's Handle function.
type Exchange struct {
	Call
	p   *FaultProxy
	req *http.Request
}

// Forward sends the call, with body in place of the client's, to the emulator and returns its answer.
func (x *Exchange) Forward(ctx context.Context, body []byte) (*Response, error) {
	resp, err := x.p.forward(ctx, x.req, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the emulator's answer to %s: %w", x.Op, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: data}, nil
}

// NewFaultProxy starts a proxy in front of upstream (the emulator's base URL) and closes it when the test
// ends.
func NewFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Fatalf("awstest: emulator URL %q is not an absolute URL: %v", upstream, err)
	}
	p := &FaultProxy{upstream: u, client: &http.Client{Timeout: 2 * time.Minute}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// Add installs a rule. Every rule counts the calls it matches from the moment it is added (for Skip and
// Times), whichever rule answers them; the first rule, in the order added, that takes a call answers it.
func (p *FaultProxy) Add(r Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &rule{Rule: r})
}

// Fail answers the next times calls of op with e (times zero: every call from now on).
func (p *FaultProxy) Fail(op string, times int, e APIError) {
	p.Add(Rule{Op: op, Times: times, Error: &e})
}

// Reset removes every rule; recorded calls stay.
func (p *FaultProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Calls returns the calls seen so far of op, or of every operation when op is "".
func (p *FaultProxy) Calls(op string) []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Call
	for _, c := range p.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Op names the operation of a request: the part of X-Amz-Target after its last "." (JSON protocol:
// "SendMessageBatch"), the Action of a query-protocol form body ("PublishBatch"), else the method and
// path ("POST /2015-03-31/functions/f/invocations").
func Op(h http.Header, method, path string, body []byte) string {
	if target := h.Get("X-Amz-Target"); target != "" {
		return target[strings.LastIndex(target, ".")+1:]
	}
	if strings.HasPrefix(h.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			return form.Get("Action")
		}
	}
	return method + " " + path
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "awstest: reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	c := Call{Op: Op(r.Header, r.Method, r.URL.Path, body), Header: r.Header.Clone(), Body: body}
	taken := p.take(c.Op)
	c.Answered = taken != nil
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()

	switch {
	case taken == nil:
		resp, err := p.forward(r.Context(), r, body)
		if err != nil {
			http.Error(w, "awstest: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	case taken.Error != nil:
		writeError(w, *taken.Error, guess(r.Header, c.Op))
	default:
		resp, err := taken.Handle(r.Context(), &Exchange{Call: c, p: p, req: r})
		if err != nil {
			http.Error(w, "awstest: handling "+c.Op+": "+err.Error(), http.StatusBadGateway)
			return
		}
		copyHeader(w.Header(), resp.Header)
		w.Header().Set("Content-Length", fmt.Sprint(len(resp.Body)))
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	}
}

// take returns the rule that answers the next call of op, or nil, counting the call against every rule
// that matches it.
func (p *FaultProxy) take(op string) *rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	var taken *rule
	for _, r := range p.rules {
		if !r.matches(op) {
			continue
		}
		r.seen++
		if taken == nil && r.seen > r.Skip && (r.Times == 0 || r.seen <= r.Skip+r.Times) {
			taken = r
		}
	}
	return taken
}

func (r *rule) matches(op string) bool {
	if strings.Contains(r.Op, "/") {
		return strings.HasPrefix(op, r.Op)
	}
	return op == r.Op
}

// forward sends r with body to the emulator. The Host header is kept, so that URLs the emulator builds
// from it (SQS queue URLs) point back at the proxy.
func (p *FaultProxy) forward(ctx context.Context, r *http.Request, body []byte) (*http.Response, error) {
	u := *p.upstream
	u.Path = strings.TrimSuffix(u.Path, "/") + r.URL.Path
	u.RawPath = ""
	if r.URL.RawPath != "" {
		u.RawPath = strings.TrimSuffix(p.upstream.EscapedPath(), "/") + r.URL.RawPath
	}
	u.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request to the emulator: %w", err)
	}
	copyHeader(req.Header, r.Header)
	req.Header.Del("Content-Length")
	req.Host = r.Host
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("forwarding to the emulator at %s: %w", p.upstream, err)
	}
	return resp, nil
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		if k == "Content-Length" {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}

func guess(h http.Header, op string) Protocol {
	switch {
	case h.Get("X-Amz-Target") != "":
		return ProtocolJSON
	case !strings.Contains(op, " "):
		return ProtocolQuery
	default:
		return ProtocolRESTJSON
	}
}

// writeError answers with e as a service speaking protocol (unless e names its own) does.
func writeError(w http.ResponseWriter, e APIError, protocol Protocol) {
	if e.Protocol != ProtocolAuto {
		protocol = e.Protocol
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	fault := "Sender"
	if e.Receiver {
		fault = "Receiver"
	}
	requestID := fmt.Sprintf("awstest-%d", time.Now().UnixNano())
	h := w.Header()
	h.Set("X-Amzn-RequestId", requestID)
	var body []byte
	switch protocol {
	case ProtocolJSON, ProtocolRESTJSON:
		h.Set("Content-Type", "application/x-amz-json-1.1")
		if protocol == ProtocolRESTJSON {
			h.Set("Content-Type", "application/json")
		}
		h.Set("X-Amzn-ErrorType", e.Code)
		if e.QueryCode != "" {
			h.Set("X-Amzn-Query-Error", e.QueryCode+";"+fault)
		}
		body, _ = json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	case ProtocolQuery:
		h.Set("Content-Type", "text/xml")
		body = xmlError("ErrorResponse", fault, e, requestID)
	default:
		h.Set("Content-Type", "application/xml")
		body = xmlError("", "", e, requestID)
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// xmlError writes the query protocol's <ErrorResponse><Error>...</Error></ErrorResponse>, or REST-XML's
// bare <Error> when wrapper is "".
func xmlError(wrapper, fault string, e APIError, requestID string) []byte {
	var b bytes.Buffer
	esc := func(s string) string {
		var out bytes.Buffer
		_ = xml.EscapeText(&out, []byte(s))
		return out.String()
	}
	if wrapper != "" {
		b.WriteString("<" + wrapper + ">")
	}
	b.WriteString("<Error>")
	if fault != "" {
		b.WriteString("<Type>" + fault + "</Type>")
	}
	b.WriteString("<Code>" + esc(e.Code) + "</Code><Message>" + esc(e.Message) + "</Message>")
	if wrapper == "" {
		b.WriteString("<RequestId>" + requestID + "</RequestId>")
	}
	b.WriteString("</Error>")
	if wrapper != "" {
		b.WriteString("<RequestId>" + requestID + "</RequestId></" + wrapper + ">")
	}
	return b.Bytes()
}
