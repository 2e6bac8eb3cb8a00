package httptarget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/plugin"
)

// authorizer adds a connection's credentials to a request.
type authorizer interface {
	// apply authorizes req and returns the credential used, so that invalidate can drop exactly it.
	apply(ctx context.Context, req *http.Request) (string, error)
	// refreshable reports whether a 401/407 may be cured by fetching a new credential.
	refreshable() bool
	// invalidate forgets credential after the endpoint refused it.
	invalidate(credential string)
}

func newAuthorizer(ctx context.Context, conn *Connection, secrets plugin.SecretResolver, c *Client) (authorizer, error) {
	if conn == nil {
		return noAuth{}, nil
	}
	ap := conn.AuthParameters
	if ap == nil {
		return nil, fmt.Errorf("connection %s has no AuthParameters", conn.AuthorizationType)
	}
	if secrets == nil {
		return nil, errors.New("connection needs a secret but no secret resolver is configured")
	}
	switch conn.AuthorizationType {
	case "BASIC":
		if ap.BasicAuthParameters == nil {
			return nil, errors.New("connection BASIC has no BasicAuthParameters")
		}
		var s struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := resolveJSON(ctx, secrets, ap.BasicAuthParameters.SecretArn, &s); err != nil {
			return nil, err
		}
		if s.Username == "" {
			return nil, fmt.Errorf("secret %s: username is empty", ap.BasicAuthParameters.SecretArn)
		}
		return basicAuth{user: s.Username, password: s.Password}, nil
	case "API_KEY":
		k := ap.ApiKeyAuthParameters
		if k == nil {
			return nil, errors.New("connection API_KEY has no ApiKeyAuthParameters")
		}
		var s struct {
			Value string `json:"api_key_value"`
		}
		if err := resolveJSON(ctx, secrets, k.SecretArn, &s); err != nil {
			return nil, err
		}
		if s.Value == "" {
			return nil, fmt.Errorf("secret %s: api_key_value is empty", k.SecretArn)
		}
		return apiKey{header: k.ApiKeyName, value: s.Value}, nil
	case "OAUTH_CLIENT_CREDENTIALS":
		o := ap.OAuthParameters
		if o == nil {
			return nil, errors.New("connection OAUTH_CLIENT_CREDENTIALS has no OAuthParameters")
		}
		var s struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if err := resolveJSON(ctx, secrets, o.SecretArn, &s); err != nil {
			return nil, err
		}
		if s.ClientID == "" {
			return nil, fmt.Errorf("secret %s: client_id is empty", o.SecretArn)
		}
		method := o.HttpMethod
		if method == "" {
			method = DefaultOAuthHTTPMethod
		}
		return &oauth{endpoint: o.AuthorizationEndpoint, method: method, clientID: s.ClientID, clientSecret: s.ClientSecret,
			params: o.OAuthHttpParameters, client: c}, nil
	}
	return nil, fmt.Errorf("unknown AuthorizationType %q", conn.AuthorizationType)
}

// resolveJSON resolves a secret reference and decodes its JSON; errors name the reference, never the
// content.
func resolveJSON(ctx context.Context, secrets plugin.SecretResolver, ref string, v any) error {
	b, err := secrets.Resolve(ctx, ref)
	if err != nil {
		return fmt.Errorf("resolving secret %s: %w", ref, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("secret %s is not a JSON object of the expected shape", ref)
	}
	return nil
}

type noAuth struct{}

func (noAuth) apply(context.Context, *http.Request) (string, error) { return "", nil }
func (noAuth) refreshable() bool                                    { return false }
func (noAuth) invalidate(string)                                    {}

// signer authorizes by signing each request (Config.Sign).
type signer func(ctx context.Context, req *http.Request) error

func (s signer) apply(ctx context.Context, req *http.Request) (string, error) { return "", s(ctx, req) }
func (signer) refreshable() bool                                              { return false }
func (signer) invalidate(string)                                              {}

type basicAuth struct{ user, password string }

func (b basicAuth) apply(_ context.Context, req *http.Request) (string, error) {
	req.SetBasicAuth(b.user, b.password)
	return "", nil
}
func (basicAuth) refreshable() bool { return false }
func (basicAuth) invalidate(string) {}

type apiKey struct{ header, value string }

func (k apiKey) apply(_ context.Context, req *http.Request) (string, error) {
	req.Header.Set(k.header, k.value)
	return "", nil
}
func (apiKey) refreshable() bool { return false }
func (apiKey) invalidate(string) {}

// oauth holds the client-credentials token, fetched on first use, reused until shortly before it
// expires, and dropped when the endpoint answers 401/407. The mutex is held during a fetch so that
// concurrent callers wait for one fetch instead of each starting their own.
type oauth struct {
	endpoint, method       string
	clientID, clientSecret string
	params                 *ConnectionHttpParameters
	client                 *Client

	mu      sync.Mutex
	token   string
	expires time.Time // zero: no expiry announced
	fetches int       // tokens fetched, for tests
}

func (o *oauth) refreshable() bool { return true }

func (o *oauth) invalidate(token string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token == token {
		o.token = ""
	}
}

func (o *oauth) apply(ctx context.Context, req *http.Request) (string, error) {
	tok, err := o.get(ctx)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return tok, nil
}

func (o *oauth) get(ctx context.Context) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.client.clock.Now()
	if o.token != "" && (o.expires.IsZero() || now.Before(o.expires)) {
		return o.token, nil
	}
	tok, ttl, err := o.fetch(ctx)
	if err != nil {
		return "", err
	}
	o.fetches++
	o.token, o.expires = tok, time.Time{}
	if ttl > 0 {
		// Refresh a little early so that a token does not expire in flight.
		o.expires = now.Add(ttl - min(ttl/10, time.Minute))
	}
	return tok, nil
}

// fetch performs the client-credentials grant (RFC 6749 §4.4) with the client authenticated by HTTP
// Basic auth (§2.3.1).
func (o *oauth) fetch(ctx context.Context) (string, time.Duration, error) {
	u, err := url.Parse(o.endpoint)
	if err != nil {
		return "", 0, plugin.Permanent(fmt.Errorf("parsing OAuth AuthorizationEndpoint: %w", err))
	}
	name := "fetching OAuth token from " + u.Scheme + "://" + u.Host + u.EscapedPath()
	form := url.Values{"grant_type": {"client_credentials"}}
	q := u.Query()
	var headers []ConnectionParameter
	if p := o.params; p != nil {
		for _, kv := range p.BodyParameters {
			form.Set(kv.Key, kv.Value)
		}
		for _, kv := range p.QueryStringParameters {
			q.Set(kv.Key, kv.Value)
		}
		headers = p.HeaderParameters
	}
	var body io.Reader
	if o.method == http.MethodGet {
		for k, vs := range form {
			q[k] = vs
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, o.method, u.String(), body)
	if err != nil {
		return "", 0, plugin.Permanent(fmt.Errorf("%s: %w", name, err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	for _, kv := range headers {
		req.Header.Set(kv.Key, kv.Value)
	}
	req.SetBasicAuth(o.clientID, o.clientSecret)
	resp, err := o.client.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		return "", 0, transportError(name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("%s: reading response: %w", name, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", 0, classify(resp, fmt.Errorf("%s: status %d %s", name, resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	var tr struct {
		AccessToken string      `json:"access_token"`
		TokenType   string      `json:"token_type"`
		ExpiresIn   json.Number `json:"expires_in"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.AccessToken == "" {
		return "", 0, plugin.Permanent(fmt.Errorf("%s: response has no access_token", name))
	}
	var ttl time.Duration
	if tr.ExpiresIn != "" {
		if f, err := tr.ExpiresIn.Float64(); err == nil && f > 0 {
			ttl = time.Duration(f * float64(time.Second))
		}
	}
	return tr.AccessToken, ttl, nil
}
