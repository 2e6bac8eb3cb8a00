package awstest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Call is one request an Interceptor forwarded (or answered itself).
type Call struct {
	// Op is the operation: the X-Amz-Target action ("PutRecords") for JSON protocols, else the
	// method and path ("POST /v1/submitjob").
	Op       string
	Request  []byte
	Status   int
	Response []byte
}

// Fault is what a Hook decides for one call: Status and Body answer it without reaching the emulator
// (Status 0: forward), Request replaces the body sent on, and Response rewrites the emulator's answer.
type Fault struct {
	Status   int
	Header   http.Header
	Body     []byte
	Request  []byte
	Response func(body []byte) []byte
}

// Interceptor is a reverse proxy in front of the AWS emulator that records every call and lets a test
// inject faults in chosen calls (a throttling answer, refused entries of a batch call). The service
// behind it is the real emulator; only the injected faults are made up.
type Interceptor struct {
	URL string

	mu    sync.Mutex
	calls []Call
	count map[string]int
	hook  func(op string, n int, req []byte) Fault
}

// Intercept starts an Interceptor in front of target (the emulator's URL), closed with the test.
func Intercept(t testing.TB, target string) *Interceptor {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("Intercept(%q): %v", target, err)
	}
	ic := &Interceptor{count: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		op := r.Method + " " + r.URL.Path
		if tgt := r.Header.Get("X-Amz-Target"); tgt != "" {
			op = tgt[strings.LastIndex(tgt, ".")+1:]
		}
		ic.mu.Lock()
		n := ic.count[op]
		ic.count[op]++
		hook := ic.hook
		ic.mu.Unlock()
		var f Fault
		if hook != nil {
			f = hook(op, n, body)
		}
		if f.Status != 0 {
			for k, v := range f.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(f.Status)
			_, _ = w.Write(f.Body)
			ic.record(Call{Op: op, Request: body, Status: f.Status, Response: f.Body})
			return
		}
		if f.Request != nil {
			body = f.Request
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		resp := rec.Body.Bytes()
		if f.Response != nil {
			resp = f.Response(resp)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
		w.Header().Del("Content-Encoding")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(resp)
		ic.record(Call{Op: op, Request: body, Status: rec.Code, Response: resp})
	}))
	t.Cleanup(srv.Close)
	ic.URL = srv.URL
	return ic
}

// Hook sets the function that decides each call's fault; n counts the calls of op from 0.
func (ic *Interceptor) Hook(f func(op string, n int, req []byte) Fault) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.hook = f
}

// Calls returns the recorded calls of op ("" for all), in order.
func (ic *Interceptor) Calls(op string) []Call {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	var out []Call
	for _, c := range ic.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func (ic *Interceptor) record(c Call) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.calls = append(ic.calls, c)
}
