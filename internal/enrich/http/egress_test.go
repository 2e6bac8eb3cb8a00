package httpenrich

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// TestEnrichEgressRefused points an enrichment at a server standing for the API server's own /metrics:
// under the policy the call fails permanently at dial time, naming the address and --allow-egress, and
// the server sees nothing; --allow-egress opens it and the metrics text becomes the event.
func TestEnrichEgressRefused(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Write([]byte("# HELP sluice_up 1\n"))
	}))
	defer srv.Close()
	self := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
	events := []json.RawMessage{json.RawMessage(`{"n":1}`)}

	env := plugin.Env{PipeName: "p", Sandbox: sandbox.Policy{Egress: sandbox.NewEgress(nil, []netip.AddrPort{self})}}
	e, err := New(context.Background(), env, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	out, err := e.Enrich(context.Background(), plugin.Batch{Payloads: events})
	if !errors.Is(err, sandbox.ErrEgressRefused) || !plugin.IsPermanent(err) || out != nil {
		t.Fatalf("Enrich = %v, %v; want a permanent egress refusal", out, err)
	}
	if !strings.Contains(err.Error(), self.String()) || !strings.Contains(err.Error(), "--allow-egress") {
		t.Errorf("error %q does not name %s and --allow-egress", err, self)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the server received %d requests", n)
	}

	env.Sandbox.Egress = sandbox.NewEgress([]netip.Prefix{netip.PrefixFrom(self.Addr(), 32)}, []netip.AddrPort{self})
	e2, err := New(context.Background(), env, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close(context.Background())
	out, err = e2.Enrich(context.Background(), plugin.Batch{Payloads: events})
	if err != nil || len(out) != 1 || !strings.Contains(string(out[0]), "sluice_up") {
		t.Fatalf("Enrich with --allow-egress = %s, %v; want the metrics text", strs(out), err)
	}
}
