package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// keyless configures a harness without access keys, as `sluice serve` on loopback and `sluice dev` run.
func keyless(c *setup) { c.Keys = nil }

// request is a hand-made HTTP request: the path is sent exactly as written (no cleaning, no escaping),
// Host overrides the Host header, and redirects are never followed.
type request struct {
	method, path, body string
	host               string
	header             map[string]string
}

type response struct {
	status      int
	contentType string
	errType     string // X-Amzn-ErrorType
	body        errorBody
	raw         string
}

// send sends r to the server at base (http://HOST:PORT) and reads the answer.
func send(t *testing.T, base string, r request) response {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(r.method, base, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: r.path} // RequestURI is Opaque, verbatim
	if r.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if r.host != "" {
		req.Host = r.host
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"),
		errType: resp.Header.Get("X-Amzn-ErrorType"), raw: string(b)}
	json.Unmarshal(b, &out.body)
	return out
}

// TestKeylessRefusesOtherClients: the keyless API is for this machine's own clients only, not for a web page
// in the operator's browser. On a keyless server, requests with a foreign Host (DNS rebinding), a
// browser's cross-site markers or a non-JSON body are refused with an AWS-shaped JSON error before they
// reach an operation, and change nothing; the requests the SDKs and the AWS CLI send pass.
func TestKeylessRefusesOtherClients(t *testing.T) {
	h := newHarness(t, keyless)
	port := h.hs.Listener.Addr().(*net.TCPAddr).Port
	at := func(host string) string { return net.JoinHostPort(host, itoa(int64(port))) }
	self := "http://" + at("127.0.0.1")
	create := func(name string) request {
		return request{method: "POST", path: "/v1/pipes/" + name, body: validBody,
			header: map[string]string{"Content-Type": "application/json"}}
	}
	with := func(r request, k, v string) request {
		hd := map[string]string{}
		for a, b := range r.header {
			hd[a] = b
		}
		hd[k] = v
		r.header = hd
		return r
	}
	withHost := func(r request, host string) request { r.host = host; return r }

	refused := []struct {
		name    string
		req     request
		status  int
		errType string
	}{
		{"foreign Host (DNS rebinding)", withHost(create("x1"), at("evil.example")), 403, TypeAccessDenied},
		{"foreign Host without port", withHost(create("x2"), "evil.example"), 403, TypeAccessDenied},
		{"foreign Host on a GET", withHost(request{method: "GET", path: "/v1/pipes"}, at("rebind.example")), 403, TypeAccessDenied},
		{"foreign Host reading /metrics", withHost(request{method: "GET", path: "/metrics"}, at("rebind.example")), 403, TypeAccessDenied},
		{"foreign Host reading /healthz", withHost(request{method: "GET", path: "/healthz"}, at("rebind.example")), 403, TypeAccessDenied},
		{"a name that only looks local", withHost(create("x3"), at("localhost.evil.example")), 403, TypeAccessDenied},
		{"127.0.0.1 as a subdomain", withHost(create("x4"), at("127.0.0.1.nip.example")), 403, TypeAccessDenied},
		{"private address", withHost(create("x5"), at("192.168.1.10")), 403, TypeAccessDenied},
		{"unspecified address", withHost(create("x6"), at("0.0.0.0")), 403, TypeAccessDenied},
		{"cross-origin Origin", with(create("x7"), "Origin", "http://evil.example"), 403, TypeAccessDenied},
		{"loopback Origin of another port", with(create("x8"), "Origin", "http://127.0.0.1:1"), 403, TypeAccessDenied},
		{"null Origin", with(create("x9"), "Origin", "null"), 403, TypeAccessDenied},
		{"Sec-Fetch-Site cross-site", with(create("x10"), "Sec-Fetch-Site", "cross-site"), 403, TypeAccessDenied},
		{"Sec-Fetch-Site same-site", with(create("x11"), "Sec-Fetch-Site", "same-site"), 403, TypeAccessDenied},
		{"cross-site GET", with(request{method: "GET", path: "/v1/pipes"}, "Sec-Fetch-Site", "cross-site"), 403, TypeAccessDenied},
		{"cross-site start, no body", with(request{method: "POST", path: "/v1/pipes/existing/start"}, "Origin", "http://evil.example"), 403, TypeAccessDenied},
		{"text/plain body", with(create("x12"), "Content-Type", "text/plain"), 415, TypeValidation},
		{"text/plain with charset", with(create("x13"), "Content-Type", "text/plain;charset=UTF-8"), 415, TypeValidation},
		{"form body", with(create("x14"), "Content-Type", "application/x-www-form-urlencoded"), 415, TypeValidation},
		{"multipart body", with(create("x15"), "Content-Type", "multipart/form-data; boundary=x"), 415, TypeValidation},
		{"malformed Content-Type", with(create("x16"), "Content-Type", "application/json; ="), 415, TypeValidation},
		{"body without Content-Type", request{method: "POST", path: "/v1/pipes/x17", body: validBody}, 415, TypeValidation},
		{"text/plain without a body", with(request{method: "POST", path: "/v1/pipes/existing/stop"}, "Content-Type", "text/plain"), 415, TypeValidation},
	}
	h.create("existing", types.RequestedPipeStateRunning)
	h.waitState("existing", types.PipeStateRunning)
	before := h.snapshot()
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			got := send(t, self, tc.req)
			if got.status != tc.status || got.errType != tc.errType || got.body.Type != tc.errType ||
				got.contentType != "application/json" || got.body.Message == "" {
				t.Errorf("%s %s = %d %s %q %s, want %d %s with a JSON message", tc.req.method, tc.req.path,
					got.status, got.errType, got.contentType, got.raw, tc.status, tc.errType)
			}
		})
	}
	if after := h.snapshot(); len(after) != len(before) || after[0].DesiredState != "RUNNING" {
		t.Errorf("refused requests changed the store: %d pipes, %s", len(after), after[0].DesiredState)
	}

	// What a local client sends passes: loopback names and addresses, a same-origin browser request
	// (the console), the markers of a request the user typed, JSON with a charset.
	allowed := []struct {
		name string
		req  request
	}{
		{"localhost", withHost(request{method: "GET", path: "/v1/pipes"}, at("localhost"))},
		{"LOCALHOST", withHost(request{method: "GET", path: "/v1/pipes"}, at("LOCALHOST"))},
		{"a .localhost name", withHost(request{method: "GET", path: "/v1/pipes"}, at("sluice.localhost"))},
		{"127.0.0.0/8", withHost(request{method: "GET", path: "/v1/pipes"}, at("127.1.2.3"))},
		{"::1", withHost(request{method: "GET", path: "/v1/pipes"}, at("::1"))},
		{"Host without port", withHost(request{method: "GET", path: "/v1/pipes"}, "localhost")},
		{"same-origin browser", with(with(request{method: "GET", path: "/v1/pipes"}, "Origin", self), "Sec-Fetch-Site", "same-origin")},
		{"typed into the address bar", with(request{method: "GET", path: "/v1/pipes"}, "Sec-Fetch-Site", "none")},
		{"JSON with charset", with(create("ok1"), "Content-Type", "application/json; charset=utf-8")},
		{"JSON, case", with(create("ok2"), "Content-Type", "Application/JSON")},
		{"healthz", request{method: "GET", path: "/healthz"}},
		{"metrics", request{method: "GET", path: "/metrics"}},
	}
	for _, tc := range allowed {
		t.Run("allowed/"+tc.name, func(t *testing.T) {
			if got := send(t, self, tc.req); got.status != 200 {
				t.Errorf("%s %s (Host %q) = %d %s, want 200", tc.req.method, tc.req.path, tc.req.host, got.status, got.raw)
			}
		})
	}
}

// TestKeylessSDKAndCLIStillWork: the guard of a keyless server does not refuse the AWS tools; every
// operation works through the SDK and through the real AWS CLI.
func TestKeylessSDKAndCLIStillWork(t *testing.T) {
	h := newHarness(t, keyless)
	exerciseSDK(t, h.client, "sdk-pipe", h.waitState, h.waitGone)
	if bin := sluicetest.AWSCLI(t); bin != "" {
		exerciseCLI(t, newCLI(t, bin, h.hs.URL, "AKIDANY", "any-secret"), "cli-pipe", h.waitState, h.waitGone)
	}
}

// exerciseSDK runs every Pipes operation once through the SDK client c.
func exerciseSDK(t *testing.T, c *pipes.Client, name string,
	waitState func(string, types.PipeState) *pipes.DescribePipeOutput, waitGone func(string)) {
	t.Helper()
	ctx := context.Background()
	out, err := c.CreatePipe(ctx, createInput(name, types.RequestedPipeStateRunning))
	if err != nil {
		t.Fatalf("CreatePipe: %v", err)
	}
	waitState(name, types.PipeStateRunning)
	if _, err := c.UpdatePipe(ctx, &pipes.UpdatePipeInput{Name: aws.String(name), RoleArn: aws.String(testRole),
		Description: aws.String("updated")}); err != nil {
		t.Fatalf("UpdatePipe: %v", err)
	}
	waitState(name, types.PipeStateRunning)
	if _, err := c.StopPipe(ctx, &pipes.StopPipeInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("StopPipe: %v", err)
	}
	waitState(name, types.PipeStateStopped)
	if _, err := c.StartPipe(ctx, &pipes.StartPipeInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("StartPipe: %v", err)
	}
	waitState(name, types.PipeStateRunning)
	l, err := c.ListPipes(ctx, &pipes.ListPipesInput{NamePrefix: aws.String(name)})
	if err != nil || len(l.Pipes) != 1 {
		t.Fatalf("ListPipes = %v, %v; want the pipe", l, err)
	}
	if _, err := c.TagResource(ctx, &pipes.TagResourceInput{ResourceArn: out.Arn, Tags: map[string]string{"env": "dev"}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	tags, err := c.ListTagsForResource(ctx, &pipes.ListTagsForResourceInput{ResourceArn: out.Arn})
	if err != nil || tags.Tags["env"] != "dev" {
		t.Fatalf("ListTagsForResource = %v, %v", tags, err)
	}
	if _, err := c.UntagResource(ctx, &pipes.UntagResourceInput{ResourceArn: out.Arn, TagKeys: []string{"env"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	if _, err := c.DeletePipe(ctx, &pipes.DeletePipeInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("DeletePipe: %v", err)
	}
	waitGone(name)
	_, err = c.DescribePipe(ctx, &pipes.DescribePipeInput{Name: aws.String(name)})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DescribePipe of a deleted pipe = %v, want NotFoundException", err)
	}
}

// exerciseCLI runs every Pipes operation once through the AWS CLI.
func exerciseCLI(t *testing.T, cli *cliRunner, name string,
	waitState func(string, types.PipeState) *pipes.DescribePipeOutput, waitGone func(string)) {
	t.Helper()
	created := cli.must("create-pipe", "--name", name, "--source", "smk://127.0.0.1:9092",
		"--source-parameters", `{"SelfManagedKafkaParameters":{"TopicName":"orders"}}`,
		"--target", "kafka://127.0.0.1:9092/out", "--role-arn", testRole)
	arn, _ := created["Arn"].(string)
	if arn == "" {
		t.Fatalf("create-pipe = %v", created)
	}
	waitState(name, types.PipeStateRunning)
	cli.must("update-pipe", "--name", name, "--role-arn", testRole, "--description", "updated")
	waitState(name, types.PipeStateRunning)
	if d := cli.must("describe-pipe", "--name", name); d["Description"] != "updated" {
		t.Errorf("describe-pipe = %v", d)
	}
	cli.must("stop-pipe", "--name", name)
	waitState(name, types.PipeStateStopped)
	cli.must("start-pipe", "--name", name)
	waitState(name, types.PipeStateRunning)
	if l := cli.must("list-pipes"); len(l["Pipes"].([]any)) == 0 {
		t.Errorf("list-pipes = %v", l)
	}
	cli.must("tag-resource", "--resource-arn", arn, "--tags", "env=dev")
	if tags := cli.must("list-tags-for-resource", "--resource-arn", arn); tags["tags"].(map[string]any)["env"] != "dev" {
		t.Errorf("list-tags-for-resource = %v", tags)
	}
	cli.must("untag-resource", "--resource-arn", arn, "--tag-keys", "env")
	cli.must("delete-pipe", "--name", name)
	waitGone(name)
}

// TestSignedServerServesAnyHost: with access keys the signature protects the API, and a server behind a
// proxy sees the proxy's name in Host, so LocalOnly's checks are off.
func TestSignedServerServesAnyHost(t *testing.T) {
	h := newHarness(t)
	addr := h.hs.Listener.Addr().String()
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	c := pipes.New(pipes.Options{
		BaseEndpoint: aws.String("http://pipes.internal.example:8080"),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: &http.Transport{DialContext: dial}},
	})
	if _, err := c.ListPipes(context.Background(), &pipes.ListPipesInput{}); err != nil {
		t.Fatalf("ListPipes through a proxy name on a signed server: %v", err)
	}
	got := send(t, h.hs.URL, request{method: "GET", path: "/v1/pipes", host: "evil.example"})
	if got.status != 403 || got.errType != TypeMissingAuth {
		t.Errorf("unsigned request = %d %s, want 403 %s", got.status, got.errType, TypeMissingAuth)
	}
}

// TestLoopbackHost checks the Host names LocalOnly accepts.
func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "localhost:9400": true, "LocalHost:1": true, "a.localhost:9400": true, "a.b.localhost": true,
		"127.0.0.1": true, "127.0.0.1:9400": true, "127.255.0.9:1": true, "[::1]:9400": true, "[::1]": true,
		"": false, ".localhost": false, "localhost.": false, "localhost.example": false, "evil.example:9400": false,
		"127.0.0.1.example": false, "128.0.0.1:1": false, "[::]:9400": false, "0.0.0.0:1": false, "[fe80::1]:1": false,
		"10.0.0.1": false, "127.1": false, "::1": true,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
