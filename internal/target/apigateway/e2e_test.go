package apigateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sandbox"

	_ "github.com/sluicehq/sluice/internal/target/file" // the enrichment test's target
)

const region = "eu-west-1"

// hostCreds returns the host credentials the in-process pipe signs with (awstest.Credentials).
func hostCreds(t *testing.T) aws.Credentials {
	c, err := awstest.Credentials().Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stage produces n orders on the real broker and starts a recording API server, to which
// AWS_ENDPOINT_URL_EXECUTE_API points; it returns the pipe definition's base. The caller says which
// credentials the server verifies signatures with (APIServer.RequireSigV4).
func stage(t *testing.T, n int) (map[string]any, *awstest.APIServer) {
	c := kafkatest.Real(t)
	topic := awstest.Orders(t, c, n)
	api := awstest.NewAPIServer(t)
	t.Setenv("AWS_ENDPOINT_URL_EXECUTE_API", api.URL)
	def := awstest.KafkaPipe(t, c, topic, 1, nil, nil)
	delete(def, "RoleArn") // signed with the host's credentials, which the server knows
	return def, api
}

// TestTarget: records on the real broker go through a pipe whose Target is an execute-api ARN to the
// stage's method as SigV4-signed requests (verified by the server with the host's credentials), the
// path wildcard filled from the event (escaped), header and query parameters added.
func TestTarget(t *testing.T) {
	def, api := stage(t, 6)
	api.RequireSigV4(hostCreds(t), region)
	def["Target"] = "arn:aws:execute-api:" + region + ":123456789012:a1b2c3/prod/PUT/orders/*/items/*"
	def["TargetParameters"] = map[string]any{
		"InputTemplate": `{"id": <$.value.orderId>}`,
		"HttpParameters": map[string]any{
			"PathParameterValues":   []string{"$.value.orderId", "x y"},
			"HeaderParameters":      map[string]string{"X-Source": "sluice"},
			"QueryStringParameters": map[string]string{"city": "$.value.city"},
		},
	}
	awstest.RunDefinition(t, def, "")
	seen := map[string]bool{}
	for _, r := range api.WaitRequests(t, 6, nil) {
		if r.SigErr != nil {
			t.Errorf("request %s %s: %v", r.Method, r.Path, r.SigErr)
		}
		var body struct{ ID string }
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatalf("body %q: %v", r.Body, err)
		}
		var n int
		fmt.Sscanf(body.ID, "o-%d", &n)
		wantPath := "/prod/orders/o-" + fmt.Sprint(n) + "/items/x%20y"
		if r.Method != "PUT" || r.Path != wantPath || r.Query != fmt.Sprintf("city=c%d", n%3) || r.Header.Get("X-Source") != "sluice" {
			t.Errorf("request %s %s?%s X-Source=%q, want PUT %s?city=c%d X-Source=sluice", r.Method, r.Path, r.Query, r.Header.Get("X-Source"), wantPath, n%3)
		}
		seen[body.ID] = true
	}
	if len(seen) != 6 {
		t.Errorf("distinct orders delivered = %d, want 6", len(seen))
	}
}

// TestTargetAssumedRole: a pipe with a RoleArn signs with the role's credentials, assumed through STS
// (the emulator's), not the host's: the server verifies the signatures with exactly the credentials the
// pipe's Provider assumed, session token included.
func TestTargetAssumedRole(t *testing.T) {
	def, api := stage(t, 3)
	role := awstest.RoleArn("apigw-invoker")
	def["RoleArn"] = role
	def["Target"] = "arn:aws:execute-api:" + region + ":123456789012:a1b2c3/prod/POST/orders"
	prov := awstest.Provider(t)
	ctx := context.Background()
	cfg, err := prov.For(def["Name"].(string), role, sandbox.Unrestricted())(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	assumed, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("assuming %s: %v", role, err)
	}
	if assumed.SessionToken == "" || assumed.AccessKeyID == hostCreds(t).AccessKeyID {
		t.Fatalf("credentials of %s are the host's or have no session token", role)
	}
	api.RequireSigV4(assumed, region)
	d, errs := awstest.Definition(t, def)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := awstest.StartPipeWith(t, d, prov); err != nil {
		t.Fatal(err)
	}
	for _, r := range api.WaitRequests(t, 3, nil) {
		if r.SigErr != nil {
			t.Errorf("request %s: %v", r.Path, r.SigErr)
		}
		if r.Header.Get("X-Amz-Security-Token") != assumed.SessionToken {
			t.Errorf("request %s without the role's session token", r.Path)
		}
	}
}

// TestTargetWrongCredentials: requests signed with other credentials than the API expects are refused
// (403), so the server's check has teeth.
func TestTargetWrongCredentials(t *testing.T) {
	other := hostCreds(t)
	other.SecretAccessKey = "not-the-" + other.SecretAccessKey
	def, api := stage(t, 2)
	api.RequireSigV4(other, region)
	def["Target"] = "arn:aws:execute-api:" + region + ":123456789012:a1b2c3/prod/POST/orders"
	awstest.RunDefinition(t, def, "")
	for _, r := range api.WaitRequests(t, 2, nil) {
		if r.SigErr == nil {
			t.Errorf("request %s verified with the wrong secret", r.Path)
		}
	}
}

// TestThrottled: a 429 from API Gateway is overload (sluice_pipe_executions_throttled_total) and the
// event is retried until delivered.
func TestThrottled(t *testing.T) {
	def, api := stage(t, 3)
	api.RequireSigV4(hostCreds(t), region)
	api.Throttle(2)
	def["Target"] = "arn:aws:execute-api:" + region + ":123456789012:a1b2c3/prod/POST/orders"
	p := awstest.RunDefinition(t, def, "")
	api.WaitRequests(t, 2+3, nil)
	if got := p.Counter(t, "sluice_pipe_executions_throttled_total"); got < 1 {
		t.Errorf("sluice_pipe_executions_throttled_total = %v after two 429s, want >= 1", got)
	}
}

// TestEnrichment: an execute-api ARN as the enrichment: each event goes to the method, signed, and the
// response (a JSON array) becomes the events the target gets.
func TestEnrichment(t *testing.T) {
	def, api := stage(t, 3)
	api.RequireSigV4(hostCreds(t), region)
	api.SetReply(func(r awstest.APIRequest) (int, string) {
		return http.StatusOK, fmt.Sprintf(`[{"path":%q,"n":1},{"path":%q,"n":2}]`, r.Path, r.Path)
	})
	out := filepath.Join(t.TempDir(), "out.jsonl")
	def["Enrichment"] = "arn:aws:execute-api:" + region + ":123456789012:a1b2c3/prod/GET/lookup/*"
	def["EnrichmentParameters"] = map[string]any{"HttpParameters": map[string]any{"PathParameterValues": []string{"$.value.city"}}}
	def["Target"] = "file://" + out + "?fsync=never"
	awstest.RunDefinition(t, def, "")
	lines := awstest.WaitLines(t, out, 6)
	for _, l := range lines {
		var v struct {
			Path string
			N    int
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || !strings.HasPrefix(v.Path, "/prod/lookup/c") || v.N < 1 {
			t.Errorf("line %q: want an element of the enrichment's array (%v)", l, err)
		}
	}
	for _, r := range api.Requests() {
		if r.SigErr != nil || r.Method != "GET" || r.Body != "" {
			t.Errorf("enrichment request %s %s body %q: signature %v; want a signed GET without body", r.Method, r.Path, r.Body, r.SigErr)
		}
	}
}
