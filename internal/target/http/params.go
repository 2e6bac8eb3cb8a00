package httptarget

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/internal/fieldcheck"
	"github.com/sluicehq/sluice/internal/plugin"
)

// The parameters the HTTP target and the HTTP enrichment own (TargetParameters and EnrichmentParameters
// members), their defaults and their validation. The AWS plugins that take HttpParameters (API
// destinations, API Gateway) use the same type and checks.

// Parameters are the members of TargetParameters or EnrichmentParameters the HTTP plugins own.
type Parameters struct {
	// HttpParameters are the path, header and query values of the requests.
	HttpParameters *HttpParameters `json:"HttpParameters,omitempty"`
	// ApiDestinationParameters (Sluice extension) is what an EventBridge API destination and its
	// connection would hold: method, rate limit and authorization.
	ApiDestinationParameters *ApiDestinationParameters `json:"ApiDestinationParameters,omitempty"`
}

// Defaults of ApiDestinationParameters.
const (
	DefaultHTTPMethod          = "POST"
	DefaultInvocationRateLimit = 300
	DefaultOAuthHTTPMethod     = "POST"
)

// HttpParameters is Pipe{Target,Enrichment}HttpParameters. Values (but not header names) may be a
// JSON path ("$.value.id"), read from the event before the input template is applied.
type HttpParameters struct {
	// PathParameterValues fill the "*" wildcards of the URL path, in order.
	PathParameterValues []string `json:"PathParameterValues,omitempty"`
	// HeaderParameters are added to each request.
	HeaderParameters map[string]string `json:"HeaderParameters,omitempty"`
	// QueryStringParameters are added to the URL's query string.
	QueryStringParameters map[string]string `json:"QueryStringParameters,omitempty"`
}

// ApiDestinationParameters (Sluice extension) carries what EventBridge keeps in an API destination
// (HttpMethod, InvocationRateLimitPerSecond) and its connection (AuthorizationType and parameters),
// since a Sluice HTTP target or enrichment is addressed by URL instead of an API destination ARN.
type ApiDestinationParameters struct {
	// HttpMethod is POST (default), GET, HEAD, OPTIONS, PUT, PATCH or DELETE.
	HttpMethod string `json:"HttpMethod,omitempty"`
	// InvocationRateLimitPerSecond caps requests per second, >= 1 (default 300).
	InvocationRateLimitPerSecond *int `json:"InvocationRateLimitPerSecond,omitempty"`
	// Connection holds the authorization; none means unauthenticated requests.
	Connection *Connection `json:"Connection,omitempty"`
}

// Connection mirrors an EventBridge connection. Credentials are never inline: each auth kind names a
// secret reference (Secrets Manager ARN, "file:///path" or "env:NAME") holding a JSON object.
type Connection struct {
	// AuthorizationType is BASIC, API_KEY or OAUTH_CLIENT_CREDENTIALS.
	AuthorizationType string `json:"AuthorizationType"`
	// AuthParameters holds the member matching AuthorizationType.
	AuthParameters *ConnectionAuthParameters `json:"AuthParameters,omitempty"`
}

// ConnectionAuthParameters holds exactly the member that AuthorizationType names.
type ConnectionAuthParameters struct {
	BasicAuthParameters  *BasicAuthParameters  `json:"BasicAuthParameters,omitempty"`
	ApiKeyAuthParameters *ApiKeyAuthParameters `json:"ApiKeyAuthParameters,omitempty"`
	OAuthParameters      *OAuthParameters      `json:"OAuthParameters,omitempty"`
}

// BasicAuthParameters: the secret is {"username": "...", "password": "..."}.
type BasicAuthParameters struct {
	SecretArn string `json:"SecretArn"`
}

// ApiKeyAuthParameters: requests carry the header ApiKeyName with the secret's value; the secret is
// {"api_key_value": "..."}.
type ApiKeyAuthParameters struct {
	ApiKeyName string `json:"ApiKeyName"`
	SecretArn  string `json:"SecretArn"`
}

// OAuthParameters configures the OAuth 2.0 client-credentials grant; the secret is
// {"client_id": "...", "client_secret": "..."}.
type OAuthParameters struct {
	// AuthorizationEndpoint is the token URL (http or https, at most 2048 characters).
	AuthorizationEndpoint string `json:"AuthorizationEndpoint"`
	// HttpMethod of the token request: POST (default), GET or PUT.
	HttpMethod string `json:"HttpMethod,omitempty"`
	SecretArn  string `json:"SecretArn"`
	// OAuthHttpParameters are extra headers, query strings and form body fields (such as scope or
	// audience) sent with the token request.
	OAuthHttpParameters *ConnectionHttpParameters `json:"OAuthHttpParameters,omitempty"`
}

// ConnectionHttpParameters mirrors EventBridge's ConnectionHttpParameters, without secret values.
type ConnectionHttpParameters struct {
	HeaderParameters      []ConnectionParameter `json:"HeaderParameters,omitempty"`
	QueryStringParameters []ConnectionParameter `json:"QueryStringParameters,omitempty"`
	BodyParameters        []ConnectionParameter `json:"BodyParameters,omitempty"`
}

// ConnectionParameter is one key/value pair of ConnectionHttpParameters.
type ConnectionParameter struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// APIDestination returns the effective API destination settings of an HTTP target or enrichment:
// a copy of a with defaults applied, or the defaults when a is nil.
func APIDestination(a *ApiDestinationParameters) ApiDestinationParameters {
	var out ApiDestinationParameters
	if a != nil {
		out = *a
	}
	if out.HttpMethod == "" {
		out.HttpMethod = DefaultHTTPMethod
	}
	if out.InvocationRateLimitPerSecond == nil {
		n := DefaultInvocationRateLimit
		out.InvocationRateLimitPerSecond = &n
	}
	return out
}

// ParseURL parses an http(s):// Target or Enrichment: a host, no credentials, no fragment, at most 2048
// characters; the path may hold "*" wildcards that PathParameterValues fill.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("is not a valid URL: %w", err)
	}
	if sch := strings.ToLower(u.Scheme); sch != "http" && sch != "https" {
		return nil, fmt.Errorf("must be an http:// or https:// URL, not %s", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("URL has no host")
	}
	if u.User != nil {
		return nil, errors.New("URL must not hold credentials: use ApiDestinationParameters.Connection")
	}
	if u.Fragment != "" {
		return nil, errors.New("URL must not have a fragment")
	}
	if len(s) > 2048 {
		return nil, errors.New("URL must be at most 2048 characters")
	}
	return u, nil
}

var (
	reHeaderKey  = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9a-zA-Z]+$")
	reHeaderVal  = regexp.MustCompile(`^[ \t]*[\x20-\x7E]+[ \t]*$`)
	reQueryKey   = regexp.MustCompile(`^[^\x00-\x1F\x7F]+$`)
	reQueryVal   = regexp.MustCompile(`^[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+$`)
	reNotBlank   = regexp.MustCompile(`\S`)
	httpMethods  = []string{"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}
	oauthMethods = []string{"GET", "POST", "PUT"}
)

// ValidateEndpoint is the Validate of the HTTP target and enrichment: the URL (as endpoint, "Target" or
// "Enrichment"), the members they own under prefix ("TargetParameters" or "EnrichmentParameters"), and
// the source BatchSize, which must be 1 since an HTTP endpoint takes one event per request (as Pipes
// requires for API destinations). what names the part in messages ("target", "enrichment").
func ValidateEndpoint(c plugin.Check, endpoint, prefix, what string) []plugin.FieldError {
	var errs []plugin.FieldError
	if c.DeadLetter {
		return []plugin.FieldError{plugin.Errorf(endpoint, "an http(s):// endpoint cannot be a dead-letter destination: use kafka://host:port/topic or file:///path")}
	}
	u, err := ParseURL(c.Endpoint)
	if err != nil {
		errs = append(errs, plugin.Errorf(endpoint, "%v", err))
	}
	var p Parameters
	_, fe := fieldcheck.Decode(c.Params, prefix, "HttpParameters", &p.HttpParameters)
	errs = append(errs, fe...)
	_, fe = fieldcheck.Decode(c.Params, prefix, "ApiDestinationParameters", &p.ApiDestinationParameters)
	errs = append(errs, fe...)
	errs = append(errs, ValidateHTTPParameters(prefix+".HttpParameters", p.HttpParameters, u)...)
	errs = append(errs, validateAPIDestination(prefix+".ApiDestinationParameters", p.ApiDestinationParameters)...)
	if c.BatchSize > 1 {
		errs = append(errs, plugin.Errorf("SourceParameters.SelfManagedKafkaParameters.BatchSize",
			"must be 1 with an HTTP %s, which takes one event per request (as Pipes requires for API destinations)", what))
	}
	return errs
}

// ValidateHTTPParameters checks HttpParameters at field p (nil: absent); u, when not nil, is the URL whose
// "*" path wildcards PathParameterValues must fill.
func ValidateHTTPParameters(p string, h *HttpParameters, u *url.URL) []plugin.FieldError {
	var errs []plugin.FieldError
	wildcards := 0
	if u != nil {
		wildcards = strings.Count(u.EscapedPath(), "*")
	}
	if h == nil {
		if wildcards > 0 {
			errs = append(errs, plugin.Errorf(p+".PathParameterValues", "the URL path has %d \"*\" wildcards and needs as many values", wildcards))
		}
		return errs
	}
	for i, val := range h.PathParameterValues {
		f := fmt.Sprintf("%s.PathParameterValues[%d]", p, i)
		errs = append(errs, fieldcheck.Length(f, val, 1, 512)...)
		errs = append(errs, fieldcheck.Dynamic(f, val, reNotBlank, "must not be blank")...)
	}
	if u != nil && wildcards != len(h.PathParameterValues) {
		errs = append(errs, plugin.Errorf(p+".PathParameterValues", "has %d values but the URL path has %d \"*\" wildcards", len(h.PathParameterValues), wildcards))
	}
	for k, val := range h.HeaderParameters {
		f := fmt.Sprintf("%s.HeaderParameters[%s]", p, k)
		errs = append(errs, fieldcheck.Length(f+" name", k, 1, 512)...)
		errs = append(errs, fieldcheck.Match(f+" name", k, reHeaderKey, "must be an HTTP header name (a token)")...)
		errs = append(errs, fieldcheck.Length(f, val, 0, 512)...)
		errs = append(errs, fieldcheck.Dynamic(f, val, reHeaderVal, "must be printable ASCII")...)
	}
	for k, val := range h.QueryStringParameters {
		f := fmt.Sprintf("%s.QueryStringParameters[%s]", p, k)
		errs = append(errs, fieldcheck.Length(f+" name", k, 1, 512)...)
		errs = append(errs, fieldcheck.Dynamic(f+" name", k, reQueryKey, "must not hold control characters")...)
		errs = append(errs, fieldcheck.Length(f, val, 0, 512)...)
		errs = append(errs, fieldcheck.Dynamic(f, val, reQueryVal, "must not hold control characters")...)
	}
	return errs
}

func validateAPIDestination(p string, a *ApiDestinationParameters) []plugin.FieldError {
	if a == nil {
		return nil
	}
	var errs []plugin.FieldError
	if a.HttpMethod != "" {
		errs = append(errs, fieldcheck.Enum(p+".HttpMethod", a.HttpMethod, httpMethods...)...)
	}
	errs = append(errs, fieldcheck.IntRange(p+".InvocationRateLimitPerSecond", a.InvocationRateLimitPerSecond, 1, 1000000)...)
	c := a.Connection
	if c == nil {
		return errs
	}
	p += ".Connection"
	errs = append(errs, fieldcheck.Enum(p+".AuthorizationType", c.AuthorizationType, "BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS")...)
	ap := c.AuthParameters
	if ap == nil {
		return append(errs, plugin.Errorf(p+".AuthParameters", "is required"))
	}
	p += ".AuthParameters"
	want := map[string]string{"BASIC": "BasicAuthParameters", "API_KEY": "ApiKeyAuthParameters", "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters"}[c.AuthorizationType]
	for _, m := range []struct {
		name string
		ok   bool
	}{{"ApiKeyAuthParameters", ap.ApiKeyAuthParameters != nil}, {"BasicAuthParameters", ap.BasicAuthParameters != nil}, {"OAuthParameters", ap.OAuthParameters != nil}} {
		if m.ok && m.name != want && want != "" {
			errs = append(errs, plugin.Errorf(p+"."+m.name, "does not match AuthorizationType %s", c.AuthorizationType))
		}
		if !m.ok && m.name == want {
			errs = append(errs, plugin.Errorf(p+"."+want, "is required for AuthorizationType %s", c.AuthorizationType))
		}
	}
	if b := ap.BasicAuthParameters; b != nil {
		errs = append(errs, fieldcheck.SecretRef(p+".BasicAuthParameters.SecretArn", b.SecretArn)...)
	}
	if k := ap.ApiKeyAuthParameters; k != nil {
		errs = append(errs, fieldcheck.Length(p+".ApiKeyAuthParameters.ApiKeyName", k.ApiKeyName, 1, 512)...)
		errs = append(errs, fieldcheck.Match(p+".ApiKeyAuthParameters.ApiKeyName", k.ApiKeyName, reHeaderKey, "must be an HTTP header name (a token)")...)
		errs = append(errs, fieldcheck.SecretRef(p+".ApiKeyAuthParameters.SecretArn", k.SecretArn)...)
	}
	if o := ap.OAuthParameters; o != nil {
		f := p + ".OAuthParameters"
		if o.AuthorizationEndpoint == "" {
			errs = append(errs, plugin.Errorf(f+".AuthorizationEndpoint", "is required"))
		} else if _, err := ParseURL(o.AuthorizationEndpoint); err != nil {
			errs = append(errs, plugin.Errorf(f+".AuthorizationEndpoint", "must be an http(s) URL of at most 2048 characters"))
		}
		if o.HttpMethod != "" {
			errs = append(errs, fieldcheck.Enum(f+".HttpMethod", o.HttpMethod, oauthMethods...)...)
		}
		errs = append(errs, fieldcheck.SecretRef(f+".SecretArn", o.SecretArn)...)
		if hp := o.OAuthHttpParameters; hp != nil {
			for _, l := range []struct {
				name string
				list []ConnectionParameter
			}{{"BodyParameters", hp.BodyParameters}, {"HeaderParameters", hp.HeaderParameters}, {"QueryStringParameters", hp.QueryStringParameters}} {
				lf := f + ".OAuthHttpParameters." + l.name
				if len(l.list) > 100 {
					errs = append(errs, plugin.Errorf(lf, "must have at most 100 entries"))
				}
				for i, kv := range l.list {
					errs = append(errs, fieldcheck.Length(fmt.Sprintf("%s[%d].Key", lf, i), kv.Key, 1, 512)...)
					errs = append(errs, fieldcheck.Length(fmt.Sprintf("%s[%d].Value", lf, i), kv.Value, 0, 512)...)
				}
			}
		}
	}
	return errs
}

// Files is the Files hook of the HTTP target and enrichment: the secret references of the connection in
// prefix.ApiDestinationParameters (prefix "TargetParameters" or "EnrichmentParameters"). Header, query
// and path values are sent, never opened, so they are not listed.
func Files(prefix string) func(c plugin.Check) []plugin.FileRef {
	return func(c plugin.Check) []plugin.FileRef {
		raw, err := c.Member("ApiDestinationParameters")
		var a ApiDestinationParameters
		if err != nil || raw == nil || json.Unmarshal(raw, &a) != nil || a.Connection == nil || a.Connection.AuthParameters == nil {
			return nil
		}
		ap, f := a.Connection.AuthParameters, prefix+".ApiDestinationParameters.Connection.AuthParameters."
		var refs []plugin.FileRef
		if ap.BasicAuthParameters != nil {
			refs = append(refs, plugin.FileRef{Field: f + "BasicAuthParameters.SecretArn", Ref: ap.BasicAuthParameters.SecretArn})
		}
		if ap.ApiKeyAuthParameters != nil {
			refs = append(refs, plugin.FileRef{Field: f + "ApiKeyAuthParameters.SecretArn", Ref: ap.ApiKeyAuthParameters.SecretArn})
		}
		if ap.OAuthParameters != nil {
			refs = append(refs, plugin.FileRef{Field: f + "OAuthParameters.SecretArn", Ref: ap.OAuthParameters.SecretArn})
		}
		return refs
	}
}
