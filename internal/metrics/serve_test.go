package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServeHealthz(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", prometheus.NewRegistry(), func(a net.Addr) { addrc <- a }) }()
	base := "http://" + (<-addrc).String()
	for _, tc := range []struct {
		method string
		code   int
		body   string
	}{{"GET", 200, "ok\n"}, {"HEAD", 200, ""}, {"POST", 405, "method not allowed\n"}} {
		req, _ := http.NewRequest(tc.method, base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s /healthz: %v", tc.method, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || string(body) != tc.body {
			t.Errorf("%s /healthz = %d %q, want %d %q", tc.method, resp.StatusCode, body, tc.code, tc.body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve() after cancel = %v, want nil", err)
	}
}
