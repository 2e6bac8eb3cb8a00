package httptarget

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestInvocationAndSign: a connection's InvocationHttpParameters replace the pipe's parameters of the same
// name (header names case-insensitively), Sign sees the finished request, and a rate limit of 0 never
// makes the client wait.
func TestInvocationAndSign(t *testing.T) {
	type seen struct {
		tenant, keep, sig, query string
	}
	got := make(chan seen, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("X-Tenant"), r.Header.Get("X-Keep"), r.Header.Get("X-Sig"), r.URL.RawQuery}
	}))
	defer srv.Close()
	unlimited := 0
	clock := newFakeClock()
	signErr := errors.New("no credentials")
	var fail bool
	c, err := NewClient(context.Background(), Config{
		URL: srv.URL + "/x",
		HTTP: &HttpParameters{
			HeaderParameters:      map[string]string{"X-Tenant": "$.tenant", "X-Keep": "k"},
			QueryStringParameters: map[string]string{"region": "pipe", "id": "$.id"},
		},
		APIDestination: &ApiDestinationParameters{InvocationRateLimitPerSecond: &unlimited},
		Invocation: &ConnectionHttpParameters{
			HeaderParameters:      []ConnectionParameter{{Key: "x-tenant", Value: "conn"}},
			QueryStringParameters: []ConnectionParameter{{Key: "region", Value: "$.literal"}},
		},
		Sign: func(_ context.Context, req *http.Request) error {
			if fail {
				return signErr
			}
			req.Header.Set("X-Sig", req.Header.Get("X-Tenant")+"/"+req.Header.Get("X-Keep"))
			return nil
		},
	}, withClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := clock.Now()
	for range 3 {
		if _, err := c.Do(context.Background(), []byte(`{}`), []byte(`{"tenant":"event","id":"7"}`), false); err != nil {
			t.Fatal(err)
		}
		s := <-got
		want := seen{tenant: "conn", keep: "k", sig: "conn/k", query: "id=7&region=%24.literal"}
		if s != want {
			t.Errorf("request %+v, want %+v", s, want)
		}
	}
	if waited := clock.Now().Sub(start); waited != 0 {
		t.Errorf("an unlimited client waited %v", waited)
	}
	fail = true
	if _, err := c.Do(context.Background(), []byte(`{}`), []byte(`{}`), false); !errors.Is(err, signErr) {
		t.Errorf("Do with a failing signer = %v, want its error", err)
	}
}
