// Package httptarget delivers pipe events to HTTP(S) endpoints with the behaviour of an EventBridge
// API destination (an HTTPS endpoint with a connection's authorization), and holds the HTTP client that the HTTP enrichment (internal/enrich/http)
// shares. It registers the target kinds "http" and "https" into plugin.Default.
//
// One request per event (MaxBatch 1): the method of ApiDestinationParameters.HttpMethod (default
// POST), the event as the body (none for GET and HEAD), the URL's "*" path wildcards filled in order
// from HttpParameters.PathParameterValues (URL-escaped), HttpParameters.QueryStringParameters added
// to the query and HttpParameters.HeaderParameters to the headers. A parameter value that is a JSON
// path ("$.value.id") is read from the untransformed event (see DeliverInputs); a string is
// used without its quotes, other JSON as its text. A missing path leaves a header or query parameter
// out; a missing path parameter fails the event permanently (the URL cannot be built).
//
// Default headers, as API destinations send them: User-Agent: Amazon/EventBridge/ApiDestinations,
// Content-Type: application/json; charset=utf-8, Range: bytes=0-1048575, Accept-Encoding:
// gzip,deflate. Unlike API destinations, connections are kept alive (no Connection: close). Header
// parameters override the defaults; the authorization header is set last.
//
// Authorization (ApiDestinationParameters.Connection), credentials from a secret reference resolved
// through plugin.Env.Secrets when the target is built:
//
//	BASIC                      secret {"username": "...", "password": "..."} -> Authorization: Basic
//	API_KEY                    header ApiKeyName: secret {"api_key_value": "..."}
//	OAUTH_CLIENT_CREDENTIALS   secret {"client_id": "...", "client_secret": "..."}; a token is fetched
//	                           from AuthorizationEndpoint (grant_type=client_credentials, client
//	                           credentials in HTTP Basic auth, OAuthHttpParameters added), cached
//	                           until shortly before expires_in, and refreshed once when the endpoint
//	                           answers 401 or 407.
//
// Requests are paced by InvocationRateLimitPerSecond (default 300, shared by all partitions of the
// pipe), time out after 5 seconds, and do not follow redirects (a redirect could carry the
// credentials elsewhere). Outcomes: 2xx delivered; 429 plugin.ThrottledError (with Retry-After);
// 5xx, timeouts and network errors retryable (plugin.RetryAfterError when Retry-After is given);
// every other status plugin.Permanent. Error messages name the method, URL (without query) and
// status, never a credential or the response body.
//
// Egress: under the operator's policy (plugin.Env.Sandbox.Egress, internal/sandbox) the dialer checks the
// resolved address of every connection, the OAuth token endpoint's included, before it connects;
// link-local and cloud metadata addresses and the server's own listener are refused unless
// --allow-egress opens them, and a refusal is plugin.Permanent. Under a policy, HTTP_PROXY and
// HTTPS_PROXY are not used (the proxy, not Sluice, would choose the address).
package httptarget
