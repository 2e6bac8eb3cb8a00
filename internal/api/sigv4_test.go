package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "AKIDSLUICETEST"
	testSecret = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ"
)

// sigServer echoes the verification result of every request it receives.
func sigServer(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if e := v.Verify(r, body); e != nil {
			writeError(w, e)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type sigCase struct {
	name       string
	method     string
	path       string // raw (escaped) path
	query      string // raw query
	body       string
	headers    map[string]string
	keyID      string
	secret     string
	service    string
	signedAt   time.Duration // offset from now
	mutate     func(r *http.Request)
	unsignedPL bool
	wantType   string // "" = accepted
}

func TestVerifySignedBySDKSigner(t *testing.T) {
	v := NewVerifier(map[string]string{testKeyID: testSecret})
	srv := sigServer(t, v)
	arnPath := "/tags/" + url.PathEscape("arn:aws:pipes:us-east-1:000000000000:pipe/my.pipe-1")
	arnPath = strings.ReplaceAll(arnPath, ":", "%3A") // PathEscape keeps ':'; the SDKs encode it
	cases := []sigCase{
		{name: "get pipe", method: "GET", path: "/v1/pipes/orders"},
		{name: "create with body", method: "POST", path: "/v1/pipes/orders", body: `{"Source":"smk://b:9092"}`,
			headers: map[string]string{"Content-Type": "application/json"}},
		{name: "encoded arn in path", method: "POST", path: arnPath, body: `{"tags":{"a":"b"}}`},
		{name: "repeated query keys", method: "DELETE", path: arnPath, query: "tagKeys=zeta&tagKeys=alpha&tagKeys=a%20b"},
		{name: "list query unordered", method: "GET", path: "/v1/pipes", query: "Limit=2&NamePrefix=or&CurrentState=RUNNING&NextToken=abc%2Bdef%3D%3D"},
		{name: "unsigned payload", method: "POST", path: "/v1/pipes/x", body: `{"a":1}`, unsignedPL: true},
		{name: "signed payload header", method: "POST", path: "/v1/pipes/x", body: `{"a":1}`,
			headers: map[string]string{"X-Amz-Content-Sha256": sha256Hex(`{"a":1}`)}},
		{name: "header with extra spaces", method: "GET", path: "/v1/pipes", headers: map[string]string{"X-Custom": "  a   b  "}},
		{name: "other region accepted", method: "GET", path: "/v1/pipes", service: "pipes"},
		{name: "wrong secret", method: "GET", path: "/v1/pipes", secret: "nope", wantType: TypeInvalidSignature},
		{name: "unknown key", method: "GET", path: "/v1/pipes", keyID: "AKIDOTHER", wantType: TypeUnrecognizedClient},
		{name: "wrong service", method: "GET", path: "/v1/pipes", service: "events", wantType: TypeInvalidSignature},
		{name: "too old", method: "GET", path: "/v1/pipes", signedAt: -6 * time.Minute, wantType: TypeInvalidSignature},
		{name: "too far ahead", method: "GET", path: "/v1/pipes", signedAt: 6 * time.Minute, wantType: TypeInvalidSignature},
		{name: "within skew", method: "GET", path: "/v1/pipes", signedAt: -4 * time.Minute},
		{name: "body changed after signing", method: "POST", path: "/v1/pipes/x", body: `{"a":1}`,
			mutate: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
			}, wantType: TypeInvalidSignature},
		{name: "body changed with hash header", method: "POST", path: "/v1/pipes/x", body: `{"a":1}`,
			headers: map[string]string{"X-Amz-Content-Sha256": sha256Hex(`{"a":1}`)},
			mutate: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
			}, wantType: TypeInvalidSignature},
		{name: "path changed after signing", method: "GET", path: "/v1/pipes/a",
			mutate: func(r *http.Request) { r.URL.Path = "/v1/pipes/b"; r.URL.RawPath = "" }, wantType: TypeInvalidSignature},
		{name: "query changed after signing", method: "GET", path: "/v1/pipes", query: "Limit=2",
			mutate: func(r *http.Request) { r.URL.RawQuery = "Limit=3" }, wantType: TypeInvalidSignature},
		{name: "method changed after signing", method: "GET", path: "/v1/pipes/a",
			mutate: func(r *http.Request) { r.Method = "DELETE" }, wantType: TypeInvalidSignature},
		{name: "signed header changed", method: "GET", path: "/v1/pipes", headers: map[string]string{"X-Custom": "1"},
			mutate: func(r *http.Request) { r.Header.Set("X-Custom", "2") }, wantType: TypeInvalidSignature},
		{name: "no authorization", method: "GET", path: "/v1/pipes",
			mutate: func(r *http.Request) { r.Header.Del("Authorization") }, wantType: TypeMissingAuth},
		{name: "garbage authorization", method: "GET", path: "/v1/pipes",
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, wantType: typeIncompleteSig},
		{name: "no date", method: "GET", path: "/v1/pipes",
			mutate: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, wantType: typeIncompleteSig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := signedRequest(t, srv.URL, tc)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			gotType := resp.Header.Get("X-Amzn-ErrorType")
			if gotType != tc.wantType {
				t.Fatalf("Verify(%s) = %q (%d %s), want %q", tc.name, gotType, resp.StatusCode, b, tc.wantType)
			}
			if tc.wantType != "" && resp.StatusCode != http.StatusForbidden {
				t.Errorf("Verify(%s) status = %d, want 403", tc.name, resp.StatusCode)
			}
			if tc.wantType != "" && strings.Contains(string(b), testSecret) {
				t.Errorf("error body contains the secret key")
			}
		})
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func signedRequest(t *testing.T, base string, tc sigCase) *http.Request {
	t.Helper()
	u := base + tc.path
	if tc.query != "" {
		u += "?" + tc.query
	}
	req, err := http.NewRequest(tc.method, u, bytes.NewReader([]byte(tc.body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tc.headers {
		req.Header.Set(k, v)
	}
	keyID, secret, service := testKeyID, testSecret, "pipes"
	if tc.keyID != "" {
		keyID = tc.keyID
	}
	if tc.secret != "" {
		secret = tc.secret
	}
	if tc.service != "" {
		service = tc.service
	}
	region := "us-east-1"
	if tc.name == "other region accepted" {
		region = "eu-west-3"
	}
	ph := sha256Hex(tc.body)
	if tc.unsignedPL {
		ph = unsignedPayload
		req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	}
	signer := v4.NewSigner()
	err = signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		req, ph, service, region, time.Now().Add(tc.signedAt))
	if err != nil {
		t.Fatal(err)
	}
	if tc.mutate != nil {
		tc.mutate(req)
	}
	return req
}

func TestCanonicalQuery(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"tagKeys=z&tagKeys=a", "tagKeys=a&tagKeys=z"},
		{"k=a+b", "k=a%20b"},
		{"k=a%2Fb~c", "k=a%2Fb~c"},
		{"flag", "flag="},
		{"NextToken=abc%3D%3D", "NextToken=abc%3D%3D"},
	}
	for _, tc := range cases {
		if got := canonicalQuery(tc.in); got != tc.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAWSEscape(t *testing.T) {
	cases := []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"/tags/arn%3Aaws%3Apipes", true, "/tags/arn%253Aaws%253Apipes"},
		{"a b/c", false, "a%20b%2Fc"},
		{"A-Z_a.z~0", false, "A-Z_a.z~0"},
		{"é", false, "%C3%A9"},
	}
	for _, tc := range cases {
		if got := awsEscape(tc.in, tc.keepSlash); got != tc.want {
			t.Errorf("awsEscape(%q, %v) = %q, want %q", tc.in, tc.keepSlash, got, tc.want)
		}
	}
}
