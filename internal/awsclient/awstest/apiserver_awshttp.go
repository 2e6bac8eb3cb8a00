package awstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// APIRequest is one request an APIServer received.
type APIRequest struct {
	Method, Path, Query, Body string
	Header                    http.Header
	At                        time.Time
	// SigErr is why the SigV4 signature did not verify; nil when it did or when the server does not
	// check signatures.
	SigErr error
}

// APIServer is a real HTTP server standing in for an HTTP API: an API destination's endpoint, or an API
// Gateway stage. It records every request and answers what the reply function says (200 {} by default).
// Built with NewSigV4Server it verifies each request's SigV4 signature by signing the request it received
// again with the known test credentials (the SDK's own signer) and answers 403 to a bad one, as API
// Gateway does.
type APIServer struct {
	*httptest.Server
	creds  *aws.Credentials
	region string

	mu    sync.Mutex
	reqs  []APIRequest
	reply func(r APIRequest) (int, string)
}

// NewAPIServer starts a recording server, closed when the test ends.
func NewAPIServer(t testing.TB) *APIServer {
	s := &APIServer{}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

// NewSigV4Server starts a recording server that requires requests signed for execute-api in region with
// creds.
func NewSigV4Server(t testing.TB, creds aws.Credentials, region string) *APIServer {
	s := NewAPIServer(t)
	s.RequireSigV4(creds, region)
	return s
}

// RequireSigV4 makes the server verify the requests that follow against creds and region (for
// credentials known only once the server's URL is in use, such as an assumed role's).
func (s *APIServer) RequireSigV4(creds aws.Credentials, region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds, s.region = &creds, region
}

// ServeHTTP records the request and answers it.
func (s *APIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := APIRequest{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body), Header: r.Header.Clone(), At: time.Now()}
	s.mu.Lock()
	creds, region := s.creds, s.region
	s.mu.Unlock()
	if creds != nil {
		req.SigErr = VerifySigV4(r, body, *creds, region)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	reply := s.reply
	s.mu.Unlock()
	code, resp := http.StatusOK, `{}`
	switch {
	case req.SigErr != nil:
		code, resp = http.StatusForbidden, fmt.Sprintf(`{"message":%q}`, req.SigErr.Error())
	case reply != nil:
		code, resp = reply(req)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, resp)
}

// SetReply sets how requests are answered: a status code and a body.
func (s *APIServer) SetReply(f func(r APIRequest) (int, string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = f
}

// Requests returns the requests received so far, in order.
func (s *APIServer) Requests() []APIRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// VerifySigV4 checks r's Authorization header: the credential scope names the test key, region and
// execute-api, and the signature equals the one the SDK's signer computes over the same method, URL,
// signed headers, body and X-Amz-Date with creds.
func VerifySigV4(r *http.Request, body []byte, creds aws.Credentials, region string) error {
	auth := r.Header.Get("Authorization")
	algo, rest, ok := strings.Cut(auth, " ")
	if !ok || algo != "AWS4-HMAC-SHA256" {
		return fmt.Errorf("authorization %q is not AWS4-HMAC-SHA256", algo)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != creds.AccessKeyID || scope[2] != region || scope[3] != "execute-api" || scope[4] != "aws4_request" {
		return fmt.Errorf("credential scope %q, want %s/DATE/%s/execute-api/aws4_request", fields["Credential"], creds.AccessKeyID, region)
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %v", r.Header.Get("X-Amz-Date"), err)
	}
	if creds.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return fmt.Errorf("X-Amz-Security-Token is not the session token")
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	again.ContentLength = int64(len(body))
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		switch h {
		case "host", "content-length", "x-amz-date", "x-amz-security-token":
			continue // set by the request or the signer
		}
		if vs := r.Header.Values(h); len(vs) > 0 {
			again.Header[http.CanonicalHeaderKey(h)] = vs
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "execute-api", region, at); err != nil {
		return err
	}
	if got, want := auth, again.Header.Get("Authorization"); got != want {
		return fmt.Errorf("signature does not verify:\n got %s\nwant %s", got, want)
	}
	return nil
}

// Throttle makes the next n requests answer 429 Too Many Requests, then the reply function again.
func (s *APIServer) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.reply
	s.reply = func(r APIRequest) (int, string) {
		s.mu.Lock()
		throttle := n > 0
		n--
		s.mu.Unlock()
		if throttle {
			return http.StatusTooManyRequests, `{"message":"Too Many Requests"}`
		}
		if next != nil {
			return next(r)
		}
		return http.StatusOK, `{}`
	}
}

// WaitRequests waits up to a minute until the server has received n requests accepted by ok (nil: all),
// and returns them.
func (s *APIServer) WaitRequests(t testing.TB, n int, ok func(r APIRequest) bool) []APIRequest {
	t.Helper()
	var got []APIRequest
	kafkatest.Eventually(t, 60*time.Second, func() error {
		got = got[:0]
		for _, r := range s.Requests() {
			if ok == nil || ok(r) {
				got = append(got, r)
			}
		}
		if len(got) < n {
			return fmt.Errorf("%d requests, want %d", len(got), n)
		}
		return nil
	})
	return got
}
