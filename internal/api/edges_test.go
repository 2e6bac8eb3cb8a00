package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestNamesTheRouterWouldRedirect: pipes named . and .. used to get a 307 HTML redirect. Now every path
// under /v1/pipes/ that net/http's ServeMux would clean and redirect, or that holds no valid pipe name,
// is answered with a JSON ValidationException on every method, and nothing is created. (A path that is not
// valid URL escaping, "%zz", is refused by net/http before any handler runs, with its own "400 Bad Request"
// text: out of the API's reach.)
func TestNamesTheRouterWouldRedirect(t *testing.T) {
	h := newHarness(t, keyless)
	paths := []string{
		"/v1/pipes/.", "/v1/pipes/..", "/v1/pipes/%2e", "/v1/pipes/%2E%2e", "/v1/pipes/.%2e",
		"/v1/pipes/./start", "/v1/pipes/../stop", "/v1/pipes/..%2F..", "/v1/pipes/%2e%2e/start",
		"/v1/pipes/", "/v1/pipes//", "/v1/pipes//x", "/v1/pipes/a/", "/v1/pipes/a//", "/v1/pipes/a/./start",
		"/v1/pipes/a/../b", "/v1/pipes/a%2Fb", "/v1/pipes/%2F", "/v1/pipes/a/b/c", "/v1/pipes/a/start/",
		"/v1/pipes/" + strings.Repeat("n", 65), "/v1/pipes/a%20b",
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			r := request{method: m, path: p}
			if m == "POST" || m == "PUT" {
				r.body, r.header = validBody, map[string]string{"Content-Type": "application/json"}
			}
			got := send(t, h.hs.URL, r)
			if got.status != 400 || got.errType != TypeValidation || got.contentType != "application/json" ||
				!strings.Contains(got.body.Message, "name") {
				t.Errorf("%s %s = %d %s %q %s, want a JSON ValidationException about the name", m, p,
					got.status, got.errType, got.contentType, got.raw)
			}
		}
	}
	if recs := h.snapshot(); len(recs) != 0 {
		t.Errorf("the store holds %d pipes, want none: %s", len(recs), recs[0].Name)
	}
}

// TestNoResponseIsHTML: paths outside the operations, methods the routes do not take and bodies over the
// limit all get AWS-shaped JSON errors, never a redirect or an HTML/text page.
func TestNoResponseIsHTML(t *testing.T) {
	h := newHarness(t, keyless, func(c *setup) { c.MaxBodyBytes = 1024 })
	cases := []struct {
		req     request
		status  int
		errType string
	}{
		{request{method: "GET", path: "/"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "//"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/v1"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/v1/"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/v1//pipes"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/./v1/pipes"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/v1/pipes/../pipes"}, 400, TypeValidation},
		{request{method: "POST", path: "/v1/pipes"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/v1/pipes/a/start"}, 404, TypeUnknownOperation},
		{request{method: "POST", path: "/healthz"}, 404, TypeUnknownOperation},
		{request{method: "DELETE", path: "/metrics"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/healthz/"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/./healthz"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/metrics/.."}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/tags/"}, 404, TypeUnknownOperation},
		{request{method: "GET", path: "/tags/.."}, 400, TypeValidation},
		{request{method: "PATCH", path: "/v1/pipes/a"}, 404, TypeUnknownOperation},
		{request{method: "POST", path: "/v1/pipes/big", body: `{"Description":"` + strings.Repeat("x", 2000) + `"}`,
			header: map[string]string{"Content-Type": "application/json"}}, 400, TypeValidation},
	}
	for _, tc := range cases {
		got := send(t, h.hs.URL, tc.req)
		if got.status != tc.status || got.errType != tc.errType || got.body.Type != tc.errType || got.contentType != "application/json" {
			t.Errorf("%s %s = %d %s %q %.200s, want %d %s as JSON", tc.req.method, tc.req.path,
				got.status, got.errType, got.contentType, got.raw, tc.status, tc.errType)
		}
	}
}

// TestDotNamesThroughSDKAndCLI: the SDK and the AWS CLI put "." and ".." into the path unescaped; they
// must get a ValidationException (before the fix, the CLI got a 307 redirect to an HTML page).
func TestDotNamesThroughSDKAndCLI(t *testing.T) {
	h := newHarness(t, keyless)
	ctx := context.Background()
	for _, name := range []string{".", ".."} {
		var ve *types.ValidationException
		_, err := h.client.CreatePipe(ctx, createInput(name, types.RequestedPipeStateStopped))
		if !errors.As(err, &ve) {
			t.Errorf("SDK CreatePipe(%q) = %v, want ValidationException", name, err)
		}
		_, err = h.client.DescribePipe(ctx, &pipes.DescribePipeInput{Name: aws.String(name)})
		if !errors.As(err, &ve) {
			t.Errorf("SDK DescribePipe(%q) = %v, want ValidationException", name, err)
		}
		_, err = h.client.StartPipe(ctx, &pipes.StartPipeInput{Name: aws.String(name)})
		if !errors.As(err, &ve) {
			t.Errorf("SDK StartPipe(%q) = %v, want ValidationException", name, err)
		}
		_, err = h.client.DeletePipe(ctx, &pipes.DeletePipeInput{Name: aws.String(name)})
		if !errors.As(err, &ve) {
			t.Errorf("SDK DeletePipe(%q) = %v, want ValidationException", name, err)
		}
	}
	cli := newCLI(t, sluicetest.AWSCLI(t), h.hs.URL, "AKIDANY", "any-secret")
	for _, args := range [][]string{
		{"create-pipe", "--name", "..", "--source", "smk://127.0.0.1:9092", "--target", "kafka://127.0.0.1:9092/out", "--role-arn", testRole},
		{"describe-pipe", "--name", ".."},
		{"describe-pipe", "--name", "."},
		{"delete-pipe", "--name", ".."},
	} {
		_, stderr, err := cli.run(args...)
		if err == nil || !strings.Contains(stderr, "ValidationException") || strings.Contains(strings.ToLower(stderr), "<html") {
			t.Errorf("aws pipes %s: err %v, stderr %q; want ValidationException", strings.Join(args, " "), err, stderr)
		}
	}
	if recs := h.snapshot(); len(recs) != 0 {
		t.Errorf("the store holds %d pipes, want none", len(recs))
	}
}

// TestPanicIsJSONAndCounted: a panic anywhere under the server's handler becomes a JSON
// InternalException, is counted in sluice_api_panics_total, and the server goes on serving.
func TestPanicIsJSONAndCounted(t *testing.T) {
	h := newHarness(t, keyless)
	panicky := h.srv.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	panicky.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/pipes", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("X-Amzn-ErrorType") != TypeInternal {
		t.Errorf("panicking handler answered %d %q %s, want a JSON InternalException", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if n := testutil.ToFloat64(h.srv.metrics.panics); n != 1 {
		t.Errorf("sluice_api_panics_total = %v, want 1", n)
	}
	if _, err := h.client.ListPipes(context.Background(), &pipes.ListPipesInput{}); err != nil {
		t.Errorf("ListPipes after a panic: %v", err)
	}
}
