package httptarget

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestBorrowedBodyIsReleasedBeforeReturn: a server that answers before reading a large body leaves the
// transport still writing it when Do returns; the client must not return before the transport let go of
// the caller's bytes (the runtime reuses them at once). Run with -race: overwriting the body right after
// Do would race with the transport's writer otherwise.
func TestBorrowedBodyIsReleasedBeforeReturn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest) // answer without reading the body
	}))
	defer srv.Close()
	c, err := NewClient(context.Background(), Config{URL: srv.URL + "/orders"})
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 4<<20)
	for i := range body {
		body[i] = 'a'
	}
	for range 5 {
		if _, err := c.Do(context.Background(), body, body, false); err == nil {
			t.Fatal("Do = nil, want the 400 as an error")
		}
		for i := range body { // the runtime reusing its buffer
			body[i] = 'b'
		}
	}
}

func TestBodyTracker(t *testing.T) {
	tr := &bodyTracker{data: []byte("x")}
	b1, b2 := tr.body(), tr.body()
	b1.Close()
	b1.Close() // idempotent
	done := make(chan struct{})
	go func() { tr.wait(time.Minute); close(done) }()
	select {
	case <-done:
		t.Fatal("wait returned with a body still open")
	case <-time.After(50 * time.Millisecond):
	}
	b2.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after every body was closed")
	}
	// A body never closed: wait gives up after its limit.
	tr2 := &bodyTracker{data: []byte("x")}
	tr2.body()
	start := time.Now()
	tr2.wait(20 * time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("wait took %v with a 20ms limit", d)
	}
}

// TestStatusErrorCarriesTheCode: the retry policy and the execution log read the status through an
// HTTPStatusCode method, whatever wrapper (permanent, throttled, retry-after) classify put around it.
func TestStatusErrorCarriesTheCode(t *testing.T) {
	for _, code := range []int{400, 403, 429, 500, 503} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code == 503 {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(code)
		}))
		c, err := NewClient(context.Background(), Config{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Do(context.Background(), []byte(`{}`), []byte(`{}`), false)
		srv.Close()
		var status interface{ HTTPStatusCode() int }
		if !errors.As(err, &status) || status.HTTPStatusCode() != code {
			t.Errorf("Do against a %d: error %v carries no HTTPStatusCode() = %d", code, err, code)
		}
	}
}
