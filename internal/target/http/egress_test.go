package httptarget

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// addrOf returns the address of an httptest server URL.
func addrOf(t *testing.T, raw string) netip.AddrPort {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return netip.MustParseAddrPort(u.Host)
}

// TestEgressRefusedAtDial points targets at a loopback server that the policy treats as the server's own
// listener: by IP, by a name resolving to it, and as the OAuth token endpoint. Each delivery fails
// permanently, naming the address and --allow-egress, and no request reaches the server. An
// --allow-egress prefix opens it.
func TestEgressRefusedAtDial(t *testing.T) {
	srv, got := captureServer(t, 200)
	self := addrOf(t, srv.URL)
	policy := sandbox.NewEgress(nil, []netip.AddrPort{self})
	env := plugin.Env{PipeName: "p", Secrets: testSecrets, Sandbox: sandbox.Policy{Egress: policy}}
	o := newOAuthServer(t)
	oauthPolicy := sandbox.NewEgress(nil, []netip.AddrPort{addrOf(t, o.token.URL)})

	tests := []struct {
		name   string
		env    plugin.Env
		url    string
		params *Parameters
	}{
		{"by address", env, srv.URL + "/metrics", nil},
		{"by a name resolving to it", env, "http://localhost:" + strconv.Itoa(int(self.Port())) + "/metrics", nil},
		{"OAuth token endpoint", plugin.Env{PipeName: "p", Secrets: testSecrets, Sandbox: sandbox.Policy{Egress: oauthPolicy}}, o.api.URL,
			&Parameters{ApiDestinationParameters: &ApiDestinationParameters{Connection: o.conn("env:OAUTH")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := New(context.Background(), tt.env, tt.url, params(t, tt.params))
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close(context.Background())
			err = deliver(tg)
			if !errors.Is(err, sandbox.ErrEgressRefused) || !plugin.IsPermanent(err) {
				t.Fatalf("Deliver = %v, want a permanent egress refusal", err)
			}
			if !strings.Contains(err.Error(), "--allow-egress 127.0.0.1/32") || !strings.Contains(err.Error(), "127.0.0.1:") {
				t.Errorf("error %q does not name the address and the flag", err)
			}
		})
	}
	if n := len(got()); n != 0 {
		t.Errorf("the refused server received %d requests", n)
	}
	if issued, calls := o.counts(); issued != 0 || calls != 0 {
		t.Errorf("OAuth server: %d tokens issued, %d API calls; want none", issued, calls)
	}

	opened := plugin.Env{PipeName: "p", Sandbox: sandbox.Policy{Egress: sandbox.NewEgress(
		[]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, []netip.AddrPort{self})}}
	tg, err := New(context.Background(), opened, srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(context.Background())
	if err := deliver(tg); err != nil {
		t.Fatalf("Deliver with --allow-egress 127.0.0.1/32 = %v", err)
	}
	if n := len(got()); n != 1 {
		t.Errorf("opened server received %d requests, want 1", n)
	}
}

// TestEgressIgnoresProxyUnderPolicy: under a policy an HTTP_PROXY would choose the address the
// connection reaches, so the client does not use one; an unrestricted client keeps the environment's.
func TestEgressIgnoresProxyUnderPolicy(t *testing.T) {
	for _, tt := range []struct {
		name      string
		egress    *sandbox.Egress
		wantProxy bool
	}{{"policy", sandbox.NewEgress(nil, nil), false}, {"unrestricted", nil, true}} {
		c, err := NewClient(context.Background(), Config{URL: "http://127.0.0.1:1/", Egress: tt.egress})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.hc.Transport.(*http.Transport).Proxy != nil; got != tt.wantProxy {
			t.Errorf("%s: transport uses a proxy function = %v, want %v", tt.name, got, tt.wantProxy)
		}
		c.Close()
	}
}
