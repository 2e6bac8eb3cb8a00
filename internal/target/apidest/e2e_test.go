package apidest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sluicetest"

	_ "github.com/sluicehq/sluice/internal/target/file" // the enrichment test's target
)

func TestMain(m *testing.M) {
	code := m.Run()
	sluicetest.Cleanup()
	os.Exit(code)
}

// fixture is the shared part of the end-to-end tests: the real broker, the emulator and a recording API.
type fixture struct {
	c     *kafkatest.Cluster
	eb    *eventbridge.Client
	api   *awstest.APIServer
	topic string
	name  string
}

func newFixture(t *testing.T, records int) *fixture {
	f := &fixture{c: kafkatest.Real(t), eb: eventbridge.NewFromConfig(awstest.Config(t, "")), api: awstest.NewAPIServer(t)}
	f.topic = awstest.Orders(t, f.c, records)
	f.name = fmt.Sprintf("apidest-%d", time.Now().UnixNano())
	return f
}

// destination creates a connection and an API destination at the fixture's API in the emulator.
func (f *fixture) destination(t *testing.T, auth ebtypes.ConnectionAuthorizationType, params *ebtypes.CreateConnectionAuthRequestParameters, path, method string, rate int32) string {
	t.Helper()
	ctx := context.Background()
	co, err := f.eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("c-" + f.name), AuthorizationType: auth, AuthParameters: params})
	if err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	do, err := f.eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{
		Name: aws.String("d-" + f.name), ConnectionArn: co.ConnectionArn, InvocationEndpoint: aws.String(f.api.URL + path),
		HttpMethod: ebtypes.ApiDestinationHttpMethod(method), InvocationRateLimitPerSecond: aws.Int32(rate),
	})
	if err != nil {
		t.Fatalf("CreateApiDestination: %v", err)
	}
	t.Cleanup(func() {
		f.eb.DeleteApiDestination(context.Background(), &eventbridge.DeleteApiDestinationInput{Name: aws.String("d-" + f.name)})
		f.eb.DeleteConnection(context.Background(), &eventbridge.DeleteConnectionInput{Name: aws.String("c-" + f.name)})
	})
	return aws.ToString(do.ApiDestinationArn)
}

// pipe returns the definition of a pipe reading the fixture's topic one record at a time.
func (f *fixture) pipe(t *testing.T) map[string]any {
	return awstest.KafkaPipe(t, f.c, f.topic, 1, nil, nil)
}

// TestTarget: records on the real broker go through a pipe whose Target is an API destination ARN to
// the destination's endpoint, authorized as its connection says (credentials from the connection's
// secret in the emulator's Secrets Manager), with the pipe's HttpParameters merged with the
// connection's InvocationHttpParameters, the connection's winning.
func TestTarget(t *testing.T) {
	invocation := &ebtypes.ConnectionHttpParameters{
		HeaderParameters:      []ebtypes.ConnectionHeaderParameter{{Key: aws.String("x-tenant"), Value: aws.String("from-connection"), IsValueSecret: true}},
		QueryStringParameters: []ebtypes.ConnectionQueryStringParameter{{Key: aws.String("region"), Value: aws.String("eu")}},
	}
	tests := []struct {
		name       string
		auth       ebtypes.ConnectionAuthorizationType
		params     func(f *fixture) *ebtypes.CreateConnectionAuthRequestParameters
		authorized func(r awstest.APIRequest) bool
	}{
		{
			name: "basic",
			auth: ebtypes.ConnectionAuthorizationTypeBasic,
			params: func(*fixture) *ebtypes.CreateConnectionAuthRequestParameters {
				return &ebtypes.CreateConnectionAuthRequestParameters{InvocationHttpParameters: invocation,
					BasicAuthParameters: &ebtypes.CreateConnectionBasicAuthRequestParameters{Username: aws.String("pipes"), Password: aws.String("s3cret")}}
			},
			authorized: func(r awstest.APIRequest) bool {
				u, p, ok := (&http.Request{Header: r.Header}).BasicAuth()
				return ok && u == "pipes" && p == "s3cret"
			},
		},
		{
			name: "api key",
			auth: ebtypes.ConnectionAuthorizationTypeApiKey,
			params: func(*fixture) *ebtypes.CreateConnectionAuthRequestParameters {
				return &ebtypes.CreateConnectionAuthRequestParameters{InvocationHttpParameters: invocation,
					ApiKeyAuthParameters: &ebtypes.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("X-Api-Key"), ApiKeyValue: aws.String("k-123")}}
			},
			authorized: func(r awstest.APIRequest) bool { return r.Header.Get("X-Api-Key") == "k-123" },
		},
		{
			name: "oauth client credentials",
			auth: ebtypes.ConnectionAuthorizationTypeOauthClientCredentials,
			params: func(f *fixture) *ebtypes.CreateConnectionAuthRequestParameters {
				return &ebtypes.CreateConnectionAuthRequestParameters{InvocationHttpParameters: invocation,
					OAuthParameters: &ebtypes.CreateConnectionOAuthRequestParameters{
						AuthorizationEndpoint: aws.String(f.api.URL + "/token"), HttpMethod: ebtypes.ConnectionOAuthHttpMethodPost,
						ClientParameters:    &ebtypes.CreateConnectionOAuthClientRequestParameters{ClientID: aws.String("cid"), ClientSecret: aws.String("csecret")},
						OAuthHttpParameters: &ebtypes.ConnectionHttpParameters{BodyParameters: []ebtypes.ConnectionBodyParameter{{Key: aws.String("scope"), Value: aws.String("orders")}}},
					}}
			},
			authorized: func(r awstest.APIRequest) bool { return r.Header.Get("Authorization") == "Bearer tok-1" },
		},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			f := newFixture(t, 8)
			f.api.SetReply(func(r awstest.APIRequest) (int, string) {
				if r.Path == "/token" {
					u, p, _ := (&http.Request{Header: r.Header}).BasicAuth()
					if u != "cid" || p != "csecret" || !strings.Contains(r.Body, "grant_type=client_credentials") || !strings.Contains(r.Body, "scope=orders") {
						return http.StatusUnauthorized, `{"error":"invalid_client"}`
					}
					return http.StatusOK, `{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}`
				}
				if !tc.authorized(r) {
					return http.StatusForbidden, `{"message":"bad credentials"}`
				}
				return http.StatusOK, `{}`
			})
			arn := f.destination(t, tc.auth, tc.params(f), "/orders/*", "PUT", 100)
			def := f.pipe(t)
			def["Target"] = arn
			def["TargetParameters"] = map[string]any{
				"InputTemplate": `{"id": <$.value.orderId>, "amount": <$.value.amount>}`,
				"HttpParameters": map[string]any{
					"PathParameterValues":   []string{"$.value.orderId"},
					"HeaderParameters":      map[string]string{"X-Tenant": "from-pipe", "X-Source": "sluice"},
					"QueryStringParameters": map[string]string{"region": "from-pipe", "city": "$.value.city"},
				},
			}
			awstest.RunDefinition(t, def, "")
			reqs := f.api.WaitRequests(t, 8, func(r awstest.APIRequest) bool { return r.Path != "/token" })
			seen := map[string]bool{}
			for _, r := range reqs {
				var body struct {
					ID     string `json:"id"`
					Amount int    `json:"amount"`
				}
				if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
					t.Fatalf("body %q: %v", r.Body, err)
				}
				var n int
				fmt.Sscanf(body.ID, "o-%d", &n)
				wantQuery := fmt.Sprintf("city=c%d&region=eu", n%3)
				if r.Method != "PUT" || r.Path != "/orders/"+body.ID || r.Query != wantQuery || body.Amount != n {
					t.Errorf("request %s %s?%s %s, want PUT /orders/%s?%s", r.Method, r.Path, r.Query, r.Body, body.ID, wantQuery)
				}
				if r.Header.Get("X-Tenant") != "from-connection" || r.Header.Get("X-Source") != "sluice" {
					t.Errorf("headers X-Tenant=%q X-Source=%q, want the connection's from-connection and the pipe's sluice", r.Header.Get("X-Tenant"), r.Header.Get("X-Source"))
				}
				if !tc.authorized(r) {
					t.Errorf("request for %s not authorized as %s: Authorization %q", body.ID, tc.name, r.Header.Get("Authorization"))
				}
				seen[body.ID] = true
			}
			if len(seen) != 8 {
				t.Errorf("distinct orders delivered = %d, want 8", len(seen))
			}
		})
	}
}

// TestRateLimit: the destination's InvocationRateLimitPerSecond paces the requests of all partitions
// together: n requests at r per second take at least (n-1)/r seconds (the limiter lets one through at
// once, then one every 1/r), measured at the server.
func TestRateLimit(t *testing.T) {
	const n, rate = 16, 8
	f := newFixture(t, n)
	arn := f.destination(t, ebtypes.ConnectionAuthorizationTypeApiKey, &ebtypes.CreateConnectionAuthRequestParameters{
		ApiKeyAuthParameters: &ebtypes.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("X-Api-Key"), ApiKeyValue: aws.String("k")}}, "/rate", "POST", rate)
	def := f.pipe(t)
	def["Target"] = arn
	awstest.RunDefinition(t, def, "")
	reqs := f.api.WaitRequests(t, n, nil)
	span := reqs[n-1].At.Sub(reqs[0].At)
	// The server's clock reads arrival times: network jitter may shorten the span by a little.
	if min := time.Duration(float64(n-1) / rate * 0.9 * float64(time.Second)); span < min {
		t.Errorf("%d requests at %d/s arrived within %v, want at least %v", n, rate, span, min)
	}
	perSecond := map[int64]int{}
	for _, r := range reqs {
		perSecond[r.At.Sub(reqs[0].At).Milliseconds()/1000]++
	}
	for s, c := range perSecond {
		if c > rate+1 {
			t.Errorf("second %d had %d requests, want at most %d", s, c, rate+1)
		}
	}
	t.Logf("%d requests at %d/s: span %v, per second %v", n, rate, span, perSecond)
}

// TestThrottled: a 429 from the endpoint is overload: the execution is throttled
// (sluice_pipe_executions_throttled_total) and retried until delivered.
func TestThrottled(t *testing.T) {
	f := newFixture(t, 4)
	f.api.Throttle(3)
	arn := f.destination(t, ebtypes.ConnectionAuthorizationTypeBasic, &ebtypes.CreateConnectionAuthRequestParameters{
		BasicAuthParameters: &ebtypes.CreateConnectionBasicAuthRequestParameters{Username: aws.String("u"), Password: aws.String("p")}}, "/busy", "POST", 100)
	def := f.pipe(t)
	def["Target"] = arn
	p := awstest.RunDefinition(t, def, "")
	f.api.WaitRequests(t, 3+4, nil)
	if got := p.Counter(t, "sluice_pipe_executions_throttled_total"); got < 1 {
		t.Errorf("sluice_pipe_executions_throttled_total = %v after three 429s, want >= 1", got)
	}
}

// TestEnrichment: an API destination as the enrichment: each event is sent to it and its response, a
// JSON array, becomes the events the target gets (two per record here).
func TestEnrichment(t *testing.T) {
	f := newFixture(t, 4)
	f.api.SetReply(func(r awstest.APIRequest) (int, string) {
		id := strings.TrimPrefix(r.Path, "/enrich/")
		return http.StatusOK, fmt.Sprintf(`[{"id":%q,"part":1},{"id":%q,"part":2}]`, id, id)
	})
	arn := f.destination(t, ebtypes.ConnectionAuthorizationTypeApiKey, &ebtypes.CreateConnectionAuthRequestParameters{
		ApiKeyAuthParameters: &ebtypes.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("X-Api-Key"), ApiKeyValue: aws.String("k")}}, "/enrich/*", "POST", 100)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	def := f.pipe(t)
	def["Enrichment"] = arn
	def["EnrichmentParameters"] = map[string]any{"HttpParameters": map[string]any{"PathParameterValues": []string{"$.value.orderId"}}}
	def["Target"] = "file://" + out + "?fsync=never"
	awstest.RunDefinition(t, def, "")
	lines := awstest.WaitLines(t, out, 8)
	parts := map[string]int{}
	for _, l := range lines {
		var v struct {
			ID   string `json:"id"`
			Part int    `json:"part"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		parts[v.ID] += v.Part
	}
	for i := range 4 {
		if id := fmt.Sprintf("o-%d", i); parts[id] != 3 {
			t.Errorf("order %s: parts sum %d, want 3 (parts 1 and 2)", id, parts[id])
		}
	}
	for _, r := range f.api.Requests() {
		if r.Header.Get("X-Api-Key") != "k" {
			t.Errorf("enrichment request %s without the API key", r.Path)
		}
	}
}

// TestMissingDestination: a destination the emulator does not know fails the pipe's start permanently
// (ResourceNotFoundException, through awsclient.Classify), naming the ARN.
func TestMissingDestination(t *testing.T) {
	f := newFixture(t, 0)
	def := f.pipe(t)
	missing := "arn:aws:events:" + awstest.Region + ":" + awstest.Account + ":api-destination/missing-" + f.name + "/0000"
	def["Target"] = missing
	d, errs := awstest.Definition(t, def)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	_, err := awstest.StartPipe(t, d, "")
	if err == nil || !plugin.IsPermanent(err) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("runtime.New with a missing API destination = %v, want a permanent error naming %s", err, missing)
	}
}

// TestSluiceRun: the same path from the command line, as the README shows it: `sluice run` of a
// definition file whose Target is an API destination ARN, with the emulator as --aws-endpoint, delivers
// the records to the destination's endpoint with the connection's credentials.
func TestSluiceRun(t *testing.T) {
	f := newFixture(t, 4)
	arn := f.destination(t, ebtypes.ConnectionAuthorizationTypeApiKey, &ebtypes.CreateConnectionAuthRequestParameters{
		ApiKeyAuthParameters: &ebtypes.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("X-Api-Key"), ApiKeyValue: aws.String("k-run")}}, "/run/*", "POST", 50)
	def := f.pipe(t)
	def["Target"] = arn
	def["TargetParameters"] = map[string]any{"HttpParameters": map[string]any{"PathParameterValues": []string{"$.value.orderId"}}}
	path := awstest.DefinitionFile(t, def)
	cmd := exec.Command(sluicetest.Binary(t), "run", "--file", path, "--aws-endpoint", awstest.Endpoint(t), "--region", awstest.Region)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	p := sluicetest.StartCmd(t, cmd)
	reqs := f.api.WaitRequests(t, 4, nil)
	for _, r := range reqs {
		if r.Header.Get("X-Api-Key") != "k-run" || !strings.HasPrefix(r.Path, "/run/o-") {
			t.Errorf("request %s X-Api-Key %q, want /run/o-N with the connection's key", r.Path, r.Header.Get("X-Api-Key"))
		}
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 60*time.Second); code != 0 {
		t.Errorf("sluice run exited %d after SIGTERM:\n%s", code, sluicetest.Tail(p.Stderr.String(), 2000))
	}
}
