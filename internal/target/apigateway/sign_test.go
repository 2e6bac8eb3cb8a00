package apigateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
)

// TestSignVerifies: a request signed by the plugin's signer verifies at the test server, with and without
// a session token and a body; one signed with another secret key does not (so the server's check has
// teeth).
func TestSignVerifies(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDSIGN", SecretAccessKey: "sign-secret"}
	srv := awstest.NewSigV4Server(t, creds, "eu-west-1")
	tests := []struct {
		name   string
		creds  aws.Credentials
		body   string
		wantOK bool
	}{
		{name: "body", creds: creds, body: `{"id":"a b/c"}`, wantOK: true},
		{name: "no body", creds: creds, wantOK: true},
		{name: "session token the server does not expect", creds: aws.Credentials{AccessKeyID: "AKIDSIGN", SecretAccessKey: "sign-secret", SessionToken: "tok"}, body: "{}", wantOK: false},
		{name: "wrong secret", creds: aws.Credentials{AccessKeyID: "AKIDSIGN", SecretAccessKey: "other"}, body: "{}", wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSigner(credentials.StaticCredentialsProvider{Value: tc.creds}, "eu-west-1")
			method := http.MethodPost
			var body io.Reader
			if tc.body == "" {
				method = http.MethodGet
			} else {
				body = bytes.NewReader([]byte(tc.body))
			}
			req, err := http.NewRequest(method, srv.URL+"/prod/orders/a%20b?x=1&y=%2F", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			req.Header.Set("X-Source", "sluice")
			if err := s.sign(context.Background(), req); err != nil {
				t.Fatalf("sign: %v", err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reqs := srv.Requests()
			got := reqs[len(reqs)-1]
			if (got.SigErr == nil) != tc.wantOK {
				t.Errorf("signature verified = %v (%v), want %v", got.SigErr == nil, got.SigErr, tc.wantOK)
			}
			if got.Body != tc.body {
				t.Errorf("body = %q, want %q", got.Body, tc.body)
			}
		})
	}
}
