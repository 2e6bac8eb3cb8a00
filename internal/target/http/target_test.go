package httptarget

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

type captured struct {
	Method, Path, RawPath, Query string
	Header                       http.Header
	Body                         string
}

func captureServer(t *testing.T, status int) (*httptest.Server, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.Method, r.URL.Path, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), string(b)})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

func TestRequestShape(t *testing.T) {
	srv, got := captureServer(t, http.StatusOK)
	tp := &Parameters{
		HttpParameters: &HttpParameters{
			PathParameterValues:   []string{"$.value.customer", "$.value.id"},
			HeaderParameters:      map[string]string{"X-Static": "s", "X-Status": "$.value.status", "X-Missing": "$.value.nope", "User-Agent": "custom/1"},
			QueryStringParameters: map[string]string{"region": "eu", "amount": "$.value.amount", "gone": "$.value.nope"},
		},
		ApiDestinationParameters: &ApiDestinationParameters{HttpMethod: "PUT"},
	}
	tg, err := New(context.Background(), plugin.Env{PipeName: "p"}, srv.URL+"/customers/*/orders/*?fixed=1", params(t, tp))
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(context.Background())
	source := kafkaRecord(`{"customer":"ann smith/2","id":42,"status":"paid","amount":12.5}`)
	payload := json.RawMessage(`{"transformed":true}`)
	if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{payload}, Inputs: []json.RawMessage{source}}); err != nil {
		t.Fatalf("DeliverInputs = %v", err)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	want := map[string]string{
		"Method":  "PUT",
		"Path":    "/customers/ann smith/2/orders/42",
		"RawPath": "/customers/ann%20smith%2F2/orders/42",
		"Query":   "amount=12.5&fixed=1&region=eu",
		"Body":    `{"transformed":true}`,
	}
	gotm := map[string]string{"Method": r.Method, "Path": r.Path, "RawPath": r.RawPath, "Query": r.Query, "Body": r.Body}
	if diff := cmp.Diff(want, gotm); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	for k, v := range map[string]string{
		"X-Static": "s", "X-Status": "paid", "User-Agent": "custom/1",
		"Content-Type": "application/json; charset=utf-8", "Range": "bytes=0-1048575", "Accept-Encoding": "gzip,deflate",
	} {
		if g := r.Header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if _, ok := r.Header["X-Missing"]; ok {
		t.Errorf("header for a missing path was sent")
	}
	if c := r.Header.Get("Connection"); strings.EqualFold(c, "close") {
		t.Errorf("Connection: close sent; connections must be kept alive")
	}
}

func TestDefaultsAndPathsFromPayload(t *testing.T) {
	srv, got := captureServer(t, http.StatusNoContent)
	tp := &Parameters{HttpParameters: &HttpParameters{QueryStringParameters: map[string]string{"id": "$.id"}}}
	tg, err := New(context.Background(), plugin.Env{}, srv.URL+"/in", params(t, tp))
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{"id":"a"}`), json.RawMessage(`{"id":"b"}`)}}); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 2 || reqs[0].Method != "POST" || reqs[0].Query != "id=a" || reqs[1].Query != "id=b" {
		t.Errorf("requests = %+v, want two POSTs with id=a and id=b", reqs)
	}
	if ua := reqs[0].Header.Get("User-Agent"); ua != UserAgent {
		t.Errorf("User-Agent = %q, want %q", ua, UserAgent)
	}
	if Spec.MaxBatch != 1 || Spec.DefaultBatchSize != 1 {
		t.Errorf("Spec.MaxBatch, DefaultBatchSize = %d, %d, want 1, 1", Spec.MaxBatch, Spec.DefaultBatchSize)
	}
}

func TestGetSendsNoBody(t *testing.T) {
	srv, got := captureServer(t, http.StatusOK)
	tp := &Parameters{ApiDestinationParameters: &ApiDestinationParameters{HttpMethod: "GET"}}
	tg, err := New(context.Background(), plugin.Env{}, srv.URL, params(t, tp))
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{"a":1}`)}}); err != nil {
		t.Fatal(err)
	}
	if r := got()[0]; r.Method != "GET" || r.Body != "" {
		t.Errorf("GET request = %s with body %q, want GET without body", r.Method, r.Body)
	}
}

func TestPermanentEventProblems(t *testing.T) {
	srv, got := captureServer(t, http.StatusOK)
	tp := &Parameters{HttpParameters: &HttpParameters{
		PathParameterValues: []string{"$.id"},
		HeaderParameters:    map[string]string{"X-Note": "$.note"},
	}}
	tg, err := New(context.Background(), plugin.Env{}, srv.URL+"/o/*", params(t, tp))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, event string }{
		{"missing path parameter", `{"note":"x"}`},
		{"header value with a newline", `{"id":"1","note":"a\nInjected: yes"}`},
	}
	for _, tc := range cases {
		err := tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(tc.event)}})
		if !plugin.IsPermanent(err) {
			t.Errorf("Deliver(%s) = %v, want a permanent error", tc.name, err)
		}
	}
	if n := len(got()); n != 0 {
		t.Errorf("%d requests sent for events that cannot be sent", n)
	}
}

func TestClassification(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter string
		check      func(err error) bool
		want       string
	}{
		{"200 delivered", 200, "", func(err error) bool { return err == nil }, "nil"},
		{"202 delivered", 202, "", func(err error) bool { return err == nil }, "nil"},
		{"429 throttled with Retry-After", 429, "7", func(err error) bool {
			var th *plugin.ThrottledError
			return errors.As(err, &th) && th.RetryAfter == 7*time.Second && !plugin.IsPermanent(err)
		}, "ThrottledError 7s"},
		{"429 throttled without Retry-After", 429, "", func(err error) bool {
			var th *plugin.ThrottledError
			return errors.As(err, &th) && th.RetryAfter == 0
		}, "ThrottledError 0"},
		{"503 with Retry-After", 503, "3", func(err error) bool {
			var ra *plugin.RetryAfterError
			return errors.As(err, &ra) && ra.RetryAfter == 3*time.Second && !plugin.IsPermanent(err)
		}, "RetryAfterError 3s"},
		{"500 retryable", 500, "", func(err error) bool {
			var ra *plugin.RetryAfterError
			var th *plugin.ThrottledError
			return err != nil && !plugin.IsPermanent(err) && !errors.As(err, &ra) && !errors.As(err, &th)
		}, "plain retryable error"},
		{"400 permanent", 400, "", plugin.IsPermanent, "permanent"},
		{"401 without OAuth permanent", 401, "", plugin.IsPermanent, "permanent"},
		{"404 permanent", 404, "", plugin.IsPermanent, "permanent"},
		{"302 not followed, permanent", 302, "", plugin.IsPermanent, "permanent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				if tc.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			tg, err := New(context.Background(), plugin.Env{}, srv.URL+"/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			err = tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}})
			if !tc.check(err) {
				t.Errorf("Deliver against status %d = %v, want %s", tc.status, err, tc.want)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("requests = %d, want 1 (no retries inside the target, no redirects)", n)
			}
		})
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tc := range cases {
		if d, ok := retryAfter(tc.in, now); d != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v, want %v, %v", tc.in, d, ok, tc.want, tc.ok)
		}
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	tg, err := New(context.Background(), plugin.Env{}, srv.URL, nil, WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	err = tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}})
	if err == nil || plugin.IsPermanent(err) {
		t.Errorf("Deliver to a stalled server = %v, want a retryable timeout error", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Deliver to a stalled server = %v, want a timeout", err)
	}
}

func TestDefaultTimeoutIsFiveSeconds(t *testing.T) {
	c, err := NewClient(context.Background(), Config{URL: "http://127.0.0.1:1/x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.hc.Timeout != 5*time.Second {
		t.Errorf("timeout = %v, want 5s", c.hc.Timeout)
	}
}

func TestContextCancelled(t *testing.T) {
	srv, _ := captureServer(t, http.StatusOK)
	tg, err := New(context.Background(), plugin.Env{}, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tg.Deliver(ctx, plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver(cancelled) = %v, want context.Canceled", err)
	}
}

func TestKeepAlive(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tg, err := New(context.Background(), plugin.Env{}, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d connections, want 1 (keep-alive)", n)
	}
}

// TestRateLimit measures pacing in fake time: the limiter sleeps on a fake clock, and the server
// records the fake time of each request.
func TestRateLimit(t *testing.T) {
	clk := newFakeClock()
	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, clk.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	const perSecond, total = 10, 50
	tp := &Parameters{ApiDestinationParameters: &ApiDestinationParameters{InvocationRateLimitPerSecond: intp(perSecond)}}
	tg, err := New(context.Background(), plugin.Env{}, srv.URL, params(t, tp), withClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	for i := 0; i < total; i++ {
		if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	windows := map[int64]int{}
	for _, ts := range at {
		windows[int64(ts.Sub(start)/time.Second)]++
	}
	want := map[int64]int{0: 10, 1: 10, 2: 10, 3: 10, 4: 10}
	if diff := cmp.Diff(want, windows); diff != "" {
		t.Errorf("requests per one-second window of fake time (-want +got):\n%s", diff)
	}
	if el := at[len(at)-1].Sub(start); el != 4900*time.Millisecond {
		t.Errorf("last request at %v, want 4.9s (10/s, evenly spaced)", el)
	}
}

func TestRegistered(t *testing.T) {
	for _, s := range []string{"http://localhost/x", "https://example.com/y"} {
		if _, ok := plugin.Default.TargetSpec(s); !ok {
			t.Errorf("plugin.Default.TargetSpec(%s) not registered", s)
		}
	}
}
