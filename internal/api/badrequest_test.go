package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/google/go-cmp/cmp"
)

type rawResponse struct {
	status int
	typ    string
	body   errorBody
	raw    []byte
}

// raw sends a signed request with an arbitrary body, as no SDK would.
func (h *harness) raw(method, path, body string) rawResponse {
	h.t.Helper()
	req, err := http.NewRequest(method, h.hs.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256Hex(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret},
		req, sum, "pipes", "us-east-1", time.Now()); err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := rawResponse{status: resp.StatusCode, typ: resp.Header.Get("X-Amzn-ErrorType"), raw: b}
	json.Unmarshal(b, &r.body)
	return r
}

const validBody = `{"Source":"smk://127.0.0.1:9092","Target":"file:///tmp/x.jsonl","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}}}`

func TestBadRequestsLeaveStoreUnchanged(t *testing.T) {
	h := newHarness(t, func(c *setup) { c.MaxBodyBytes = 4096 })
	h.create("existing", types.RequestedPipeStateStopped)
	h.waitState("existing", types.PipeStateStopped)
	before := h.snapshot()

	cases := []struct {
		name, method, path, body string
		wantField                string // a fieldList entry expected ("" = none required)
	}{
		{"malformed JSON", "POST", "/v1/pipes/new", `{"Source":`, ""},
		{"not an object", "POST", "/v1/pipes/new", `["Source"]`, ""},
		{"YAML is not accepted", "POST", "/v1/pipes/new", "Source: smk://a:1\n", ""},
		{"empty body", "POST", "/v1/pipes/new", ``, ""},
		{"trailing data", "POST", "/v1/pipes/new", validBody + `{}`, ""},
		{"wrong type", "POST", "/v1/pipes/new", `{"Source":1,"Target":"file:///tmp/x","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}}}`, "Source"},
		{"wrong nested type", "POST", "/v1/pipes/new", `{"Source":"smk://a:1","Target":"file:///tmp/x","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t","BatchSize":"10"}}}`, "SourceParameters.SelfManagedKafkaParameters.BatchSize"},
		{"unknown field", "POST", "/v1/pipes/new", `{"Source":"smk://a:1","Target":"file:///tmp/x","Surprise":true,"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}}}`, "Surprise"},
		{"wrong case", "POST", "/v1/pipes/new", `{"source":"smk://a:1","Target":"file:///tmp/x","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}}}`, ""},
		{"oversized body", "POST", "/v1/pipes/new", `{"Description":"` + strings.Repeat("x", 5000) + `"}`, ""},
		{"invalid name", "POST", "/v1/pipes/bad%20name", validBody, "Name"},
		{"name too long", "POST", "/v1/pipes/" + strings.Repeat("n", 65), validBody, "Name"},
		{"body name differs", "POST", "/v1/pipes/new", `{"Name":"other","Source":"smk://a:1","Target":"file:///tmp/x","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}}}`, "Name"},
		{"invalid definition", "POST", "/v1/pipes/new", `{"Source":"http://a:1","Target":"file:///tmp/x"}`, "Source"},
		{"existing name, bad body", "POST", "/v1/pipes/existing", `{"Source":`, ""},
		{"update malformed", "PUT", "/v1/pipes/existing", `{"Description":`, ""},
		{"update unknown field", "PUT", "/v1/pipes/existing", `{"Nope":1}`, "Nope"},
		{"update immutable topic", "PUT", "/v1/pipes/existing", `{"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"other"}}}`, "SourceParameters.SelfManagedKafkaParameters.TopicName"},
		{"update source", "PUT", "/v1/pipes/existing", `{"Source":"smk://elsewhere:9092"}`, "Source"},
		{"update wrong type", "PUT", "/v1/pipes/existing", `{"DesiredState":true}`, "DesiredState"},
		{"update bad state", "PUT", "/v1/pipes/existing", `{"DesiredState":"DELETED"}`, "DesiredState"},
		{"start with body", "POST", "/v1/pipes/existing/start", `{"Force":true}`, ""},
		{"describe invalid name", "GET", "/v1/pipes/bad%21name", ``, "Name"},
		{"tag unknown member", "POST", "/tags/arn%3Aaws%3Apipes%3Aus-east-1%3A000000000000%3Apipe%2Fexisting", `{"tags":{"a":"b"},"x":1}`, "x"},
		{"tag wrong type", "POST", "/tags/arn%3Aaws%3Apipes%3Aus-east-1%3A000000000000%3Apipe%2Fexisting", `{"tags":{"a":1}}`, ""},
		{"tag missing tags", "POST", "/tags/arn%3Aaws%3Apipes%3Aus-east-1%3A000000000000%3Apipe%2Fexisting", `{}`, "tags"},
		{"tag empty tags", "POST", "/tags/arn%3Aaws%3Apipes%3Aus-east-1%3A000000000000%3Apipe%2Fexisting", `{"tags":{}}`, "tags"},
		{"tag malformed", "POST", "/tags/arn%3Aaws%3Apipes%3Aus-east-1%3A000000000000%3Apipe%2Fexisting", `{"tags":`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.raw(tc.method, tc.path, tc.body)
			if r.status != 400 || r.typ != TypeValidation {
				t.Fatalf("%s %s = %d %s %s, want 400 ValidationException", tc.method, tc.path, r.status, r.typ, r.raw)
			}
			if r.body.Message == "" {
				t.Errorf("ValidationException without a message: %s", r.raw)
			}
			if tc.wantField != "" {
				var names []string
				for _, f := range r.body.FieldList {
					names = append(names, f.Name)
				}
				found := false
				for _, n := range names {
					found = found || n == tc.wantField
				}
				if !found {
					t.Errorf("fieldList names %v lack %q (%s)", names, tc.wantField, r.raw)
				}
			}
		})
	}
	if diff := cmp.Diff(before, h.snapshot()); diff != "" {
		t.Errorf("bad requests changed the store (-before +after):\n%s", diff)
	}

	// Hand-written requests that are fine: an unencoded ARN slash, "{}" bodies, a raw create.
	for _, ok := range []struct{ method, path, body string }{
		{"GET", "/tags/arn:aws:pipes:us-east-1:000000000000:pipe/existing", ""},
		{"POST", "/v1/pipes/existing/stop", "{}"},
		{"POST", "/v1/pipes/raw", validBody},
	} {
		if r := h.raw(ok.method, ok.path, ok.body); r.status != 200 {
			t.Errorf("%s %s = %d %s, want 200", ok.method, ok.path, r.status, r.raw)
		}
	}
	if r := h.raw("PATCH", "/v1/pipes/existing", ""); r.status != 404 || r.typ != TypeUnknownOperation {
		t.Errorf("PATCH = %d %s, want 404 %s", r.status, r.typ, TypeUnknownOperation)
	}
}

// TestErrorBodyShape pins the wire form of an error, as the SDKs and the CLI parse it.
func TestErrorBodyShape(t *testing.T) {
	h := newHarness(t)
	r := h.raw("POST", "/v1/pipes/x", `{"Source":1}`)
	var body map[string]any
	if err := json.Unmarshal(r.raw, &body); err != nil {
		t.Fatalf("error body is not JSON: %s", r.raw)
	}
	if body["__type"] != TypeValidation || body["message"] == "" {
		t.Errorf("error body = %s", r.raw)
	}
	fl, ok := body["fieldList"].([]any)
	if !ok || len(fl) == 0 {
		t.Fatalf("fieldList missing: %s", r.raw)
	}
	item := fl[0].(map[string]any)
	if _, ok := item["name"]; !ok {
		t.Errorf("fieldList item lacks name: %s", r.raw)
	}
	if _, ok := item["message"]; !ok {
		t.Errorf("fieldList item lacks message: %s", r.raw)
	}
	if !bytes.Contains(r.raw, []byte(`"message"`)) {
		t.Errorf("body lacks message: %s", r.raw)
	}
}
