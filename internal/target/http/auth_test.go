package httptarget

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/plugin"
)

const (
	testUser     = "svc-user"
	testPassword = "pa55-w0rd-secret"
	testAPIKey   = "key-0123456789-secret"
	testClientID = "client-42"
	testClient   = "client-secret-value"
)

var testSecrets = secrets{
	"env:BASIC":     `{"username":"` + testUser + `","password":"` + testPassword + `"}`,
	"env:APIKEY":    `{"api_key_value":"` + testAPIKey + `"}`,
	"env:OAUTH":     `{"client_id":"` + testClientID + `","client_secret":"` + testClient + `"}`,
	"env:BADBASIC":  `{"username":"` + testUser + `","password":"wrong"}`,
	"env:NOTJSON":   `password`,
	"env:EMPTYKEY":  `{"api_key_value":""}`,
	"env:BADCLIENT": `{"client_id":"` + testClientID + `","client_secret":"nope"}`,
}

func connTarget(t *testing.T, url string, conn *Connection, opts ...Option) (*Target, error) {
	t.Helper()
	tp := &Parameters{ApiDestinationParameters: &ApiDestinationParameters{Connection: conn}}
	return New(context.Background(), plugin.Env{PipeName: "p", Secrets: testSecrets}, url, params(t, tp), opts...)
}

func deliver(tg *Target) error {
	return tg.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{"n":1}`)}})
}

// noSecretIn fails when an error message carries a credential.
func noSecretIn(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testPassword, testAPIKey, testClient, "tok-"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a credential", err)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != testUser || p != testPassword {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	cases := []struct {
		name, secret string
		wantErr      bool
	}{
		{"right password", "env:BASIC", false},
		{"wrong password", "env:BADBASIC", true},
	}
	for _, tc := range cases {
		tg, err := connTarget(t, srv.URL, &Connection{AuthorizationType: "BASIC",
			AuthParameters: &ConnectionAuthParameters{BasicAuthParameters: &BasicAuthParameters{SecretArn: tc.secret}}})
		if err != nil {
			t.Fatal(err)
		}
		err = deliver(tg)
		if (err != nil) != tc.wantErr || (err != nil && !plugin.IsPermanent(err)) {
			t.Errorf("%s: Deliver = %v, want error=%v (permanent)", tc.name, err, tc.wantErr)
		}
		noSecretIn(t, err)
	}
}

func TestAPIKeyAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != testAPIKey {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	tg, err := connTarget(t, srv.URL, &Connection{AuthorizationType: "API_KEY",
		AuthParameters: &ConnectionAuthParameters{ApiKeyAuthParameters: &ApiKeyAuthParameters{ApiKeyName: "X-Api-Key", SecretArn: "env:APIKEY"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := deliver(tg); err != nil {
		t.Errorf("Deliver with the API key = %v, want nil", err)
	}
}

func TestBadSecrets(t *testing.T) {
	cases := []struct {
		name string
		conn *Connection
	}{
		{"unknown reference", &Connection{AuthorizationType: "BASIC", AuthParameters: &ConnectionAuthParameters{BasicAuthParameters: &BasicAuthParameters{SecretArn: "env:NOPE"}}}},
		{"not JSON", &Connection{AuthorizationType: "BASIC", AuthParameters: &ConnectionAuthParameters{BasicAuthParameters: &BasicAuthParameters{SecretArn: "env:NOTJSON"}}}},
		{"empty key", &Connection{AuthorizationType: "API_KEY", AuthParameters: &ConnectionAuthParameters{ApiKeyAuthParameters: &ApiKeyAuthParameters{ApiKeyName: "K", SecretArn: "env:EMPTYKEY"}}}},
		{"oauth secret is basic", &Connection{AuthorizationType: "OAUTH_CLIENT_CREDENTIALS", AuthParameters: &ConnectionAuthParameters{OAuthParameters: &OAuthParameters{AuthorizationEndpoint: "http://127.0.0.1:1/t", SecretArn: "env:BASIC"}}}},
		{"missing parameters", &Connection{AuthorizationType: "API_KEY", AuthParameters: &ConnectionAuthParameters{}}},
	}
	for _, tc := range cases {
		_, err := connTarget(t, "http://127.0.0.1:1/x", tc.conn)
		if err == nil {
			t.Errorf("New(%s) = nil error, want one", tc.name)
		}
		noSecretIn(t, err)
	}
}

// oauthServer is a token endpoint plus an API that accepts only live tokens. Tokens are "tok-N";
// revoke makes the API refuse the current token (as when a server expires it early).
type oauthServer struct {
	mu        sync.Mutex
	issued    int
	valid     map[string]bool
	tokenReqs []*http.Request
	forms     []string
	apiCalls  int
	refusal   int // status the API answers to an unknown token (401 or 407)
	expiresIn string
	token     *httptest.Server
	api       *httptest.Server
}

func newOAuthServer(t *testing.T) *oauthServer {
	o := &oauthServer{valid: map[string]bool{}, refusal: http.StatusUnauthorized, expiresIn: "3600"}
	o.token = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		o.mu.Lock()
		defer o.mu.Unlock()
		o.tokenReqs = append(o.tokenReqs, r)
		o.forms = append(o.forms, r.Form.Encode())
		id, secret, _ := r.BasicAuth()
		if id != testClientID || secret != testClient || r.Form.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		o.issued++
		tok := fmt.Sprintf("tok-%d", o.issued)
		o.valid[tok] = true
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%s}`, tok, o.expiresIn)
	}))
	o.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.apiCalls++
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !o.valid[tok] {
			w.WriteHeader(o.refusal)
		}
	}))
	t.Cleanup(o.token.Close)
	t.Cleanup(o.api.Close)
	return o
}

func (o *oauthServer) revokeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.valid = map[string]bool{}
}

func (o *oauthServer) counts() (issued, apiCalls int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.issued, o.apiCalls
}

func (o *oauthServer) conn(secret string) *Connection {
	return &Connection{AuthorizationType: "OAUTH_CLIENT_CREDENTIALS", AuthParameters: &ConnectionAuthParameters{
		OAuthParameters: &OAuthParameters{
			AuthorizationEndpoint: o.token.URL + "/oauth2/token", SecretArn: secret,
			OAuthHttpParameters: &ConnectionHttpParameters{
				BodyParameters:   []ConnectionParameter{{Key: "scope", Value: "orders:write"}},
				HeaderParameters: []ConnectionParameter{{Key: "X-Tenant", Value: "t1"}},
			},
		}}}
}

func TestOAuthTokenCachedAndSent(t *testing.T) {
	o := newOAuthServer(t)
	tg, err := connTarget(t, o.api.URL, o.conn("env:OAUTH"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := deliver(tg); err != nil {
			t.Fatalf("Deliver #%d = %v", i, err)
		}
	}
	issued, calls := o.counts()
	if issued != 1 || calls != 5 {
		t.Errorf("tokens issued = %d, API calls = %d; want 1 token for 5 calls", issued, calls)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.tokenReqs[0]
	if r.Method != "POST" || r.Header.Get("X-Tenant") != "t1" || !strings.Contains(o.forms[0], "scope=orders%3Awrite") {
		t.Errorf("token request = %s %v form %s, want POST with X-Tenant and scope", r.Method, r.Header, o.forms[0])
	}
}

func TestOAuthRefreshOn401And407(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusProxyAuthRequired} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			o := newOAuthServer(t)
			o.refusal = status
			tg, err := connTarget(t, o.api.URL, o.conn("env:OAUTH"))
			if err != nil {
				t.Fatal(err)
			}
			if err := deliver(tg); err != nil {
				t.Fatal(err)
			}
			o.revokeAll() // the server expires the token before its announced expiry
			if err := deliver(tg); err != nil {
				t.Fatalf("Deliver after the token was revoked = %v, want a refresh and success", err)
			}
			issued, calls := o.counts()
			if issued != 2 || calls != 3 {
				t.Errorf("tokens issued = %d, API calls = %d; want 2 tokens, 3 calls (one refused)", issued, calls)
			}
		})
	}
}

func TestOAuthRefusedTwiceIsPermanent(t *testing.T) {
	o := newOAuthServer(t)
	o.api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.apiCalls++
		o.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	})
	tg, err := connTarget(t, o.api.URL, o.conn("env:OAUTH"))
	if err != nil {
		t.Fatal(err)
	}
	err = deliver(tg)
	if !plugin.IsPermanent(err) {
		t.Errorf("Deliver refused with fresh tokens = %v, want permanent", err)
	}
	noSecretIn(t, err)
	if issued, calls := o.counts(); issued != 2 || calls != 2 {
		t.Errorf("tokens issued = %d, API calls = %d; want exactly one refresh and retry", issued, calls)
	}
}

func TestOAuthExpiry(t *testing.T) {
	o := newOAuthServer(t)
	o.expiresIn = "100"
	clk := newFakeClock()
	tg, err := connTarget(t, o.api.URL, o.conn("env:OAUTH"), withClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		issued  int
	}{
		{0, 1},                // first use fetches
		{80 * time.Second, 1}, // still fresh
		{15 * time.Second, 2}, // 95 s: inside the 10 % early-refresh margin
		{50 * time.Second, 2}, // second token fresh until 95+90 s
		{50 * time.Second, 3},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if err := deliver(tg); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if issued, _ := o.counts(); issued != s.issued {
			t.Errorf("step %d: tokens issued = %d, want %d", i, issued, s.issued)
		}
	}
}

func TestOAuthBadClientIsPermanent(t *testing.T) {
	o := newOAuthServer(t)
	tg, err := connTarget(t, o.api.URL, o.conn("env:BADCLIENT"))
	if err != nil {
		t.Fatal(err)
	}
	err = deliver(tg)
	if !plugin.IsPermanent(err) {
		t.Errorf("Deliver with a refused client = %v, want permanent", err)
	}
	noSecretIn(t, err)
	if _, calls := o.counts(); calls != 0 {
		t.Errorf("API called %d times without a token", calls)
	}
}

func TestOAuthTokenEndpointDownIsRetryable(t *testing.T) {
	o := newOAuthServer(t)
	o.token.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	tg, err := connTarget(t, o.api.URL, o.conn("env:OAUTH"))
	if err != nil {
		t.Fatal(err)
	}
	if err := deliver(tg); err == nil || plugin.IsPermanent(err) {
		t.Errorf("Deliver with the token endpoint at 503 = %v, want retryable", err)
	}
}

func TestOAuthConcurrentSingleFetch(t *testing.T) {
	o := newOAuthServer(t)
	tg, err := connTarget(t, o.api.URL, o.conn("env:OAUTH"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := deliver(tg); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if issued, _ := o.counts(); issued != 1 {
		t.Errorf("8 concurrent first calls fetched %d tokens, want 1", issued)
	}
}
