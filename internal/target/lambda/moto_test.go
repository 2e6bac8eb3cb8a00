package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/plugin"
)

// motoFunction creates a function in moto, whose Lambda answers without Docker (config lambda.use_docker
// false: every function echoes its event, or returns what MotoLambdaResults queued), and returns its ARN.
func motoFunction(t *testing.T, endpoint string) string {
	t.Helper()
	awstest.MotoConfig(t, endpoint, map[string]any{"lambda": map[string]any{"use_docker": false}})
	name := fmt.Sprintf("sluice-%d", time.Now().UnixNano())
	role := "arn:aws:iam::123456789012:role/" + name
	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {name},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// moto picks the service from the signature's credential scope.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("creating role %s in moto: %v", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("creating role %s in moto: %s", name, resp.Status)
	}
	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, _ := zw.Create("index.py")
	_, _ = w.Write([]byte("def handler(event, context):\n    return event\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := awstest.Config(t, "")
	out, err := lambda.NewFromConfig(cfg).CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimePython312,
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: code.Bytes()},
	})
	if err != nil {
		t.Fatalf("creating function %s in moto: %v", name, err)
	}
	return aws.ToString(out.FunctionArn)
}

// motoLambdaResult queues the response of moto's next Docker-free invocation.
func motoLambdaResult(t *testing.T, endpoint, result string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"results": []string{result}, "region": "us-east-1"})
	resp, err := http.Post(strings.TrimSuffix(endpoint, "/")+"/moto-api/static/lambda-simple/response", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("queueing moto's Lambda result: %v", err)
	}
	resp.Body.Close()
}

// TestEnrichMoto runs the enrichment against moto's own Lambda (no Docker): an echoing function gives
// the batch back event for event; a queued response of another size changes the cardinality.
func TestEnrichMoto(t *testing.T) {
	ep := kafkatest.AWSEndpoint(t)
	fn := motoFunction(t, ep)
	e, err := enricherSpec.New(context.Background(), plugin.Env{AWS: awstest.AWSAt(t, ep)}, plugin.Check{Endpoint: fn})
	if err != nil {
		t.Fatalf("New(%s): %v", fn, err)
	}
	in := raws(`{"id":1}`, `{"id":2}`, `"three"`)
	got, err := e.Enrich(context.Background(), plugin.Batch{Payloads: in})
	if err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("echoed events (-want +got):\n%s", diff)
	}
	motoLambdaResult(t, ep, `{"count":3}`)
	got, err = e.Enrich(context.Background(), plugin.Batch{Payloads: in})
	if err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	if diff := cmp.Diff(raws(`{"count":3}`), got); diff != "" {
		t.Errorf("events from an object response (-want +got):\n%s", diff)
	}
}
