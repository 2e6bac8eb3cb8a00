package httpenrich

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
	httptarget "github.com/sluicehq/sluice/internal/target/http"
)

type secrets map[string]string

func (s secrets) Resolve(_ context.Context, ref string) ([]byte, error) {
	v, ok := s[ref]
	if !ok {
		return nil, fmt.Errorf("secret %s not found", ref)
	}
	return []byte(v), nil
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func strs(events []json.RawMessage) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, string(e))
	}
	return out
}

func TestSplit(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"empty body", "", []string{}},
		{"blank body", " \n", []string{}},
		{"empty string", `""`, []string{}},
		{"empty object", `{}`, []string{}},
		{"empty object with spaces", "{ }\n", []string{}},
		{"empty array", `[]`, []string{}},
		{"array of three", `[{"a":1}, 2, "x"]`, []string{`{"a":1}`, `2`, `"x"`}},
		{"array with an empty object", `[{}]`, []string{`{}`}},
		{"object", `{"a":1}`, []string{`{"a":1}`}},
		{"string", `"hello"`, []string{`"hello"`}},
		{"number", `42`, []string{`42`}},
		{"null", `null`, []string{`null`}},
		{"not JSON", `hello world`, []string{`"hello world"`}},
	}
	for _, tc := range cases {
		if got := strs(Split([]byte(tc.body))); !cmp.Equal(got, tc.want) {
			t.Errorf("Split(%s: %q) = %q, want %q", tc.name, tc.body, got, tc.want)
		}
	}
}

// TestEnrichCardinality runs the enrichment against a server answering each body of TestSplit's kind,
// end to end through HTTP.
func TestEnrichCardinality(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var in struct {
			Reply string `json:"reply"`
		}
		json.Unmarshal(b, &in)
		io.WriteString(w, in.Reply)
	}))
	defer srv.Close()
	e, err := New(context.Background(), plugin.Env{}, srv.URL+"/enrich", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	events := []json.RawMessage{
		mustJSON(t, map[string]string{"reply": `[{"i":1},{"i":2}]`}),
		mustJSON(t, map[string]string{"reply": `{}`}),
		mustJSON(t, map[string]string{"reply": `{"i":3}`}),
		mustJSON(t, map[string]string{"reply": `[]`}),
		mustJSON(t, map[string]string{"reply": ``}),
	}
	got, err := e.Enrich(context.Background(), plugin.Batch{Payloads: events})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"i":1}`, `{"i":2}`, `{"i":3}`}
	if diff := cmp.Diff(want, strs(got)); diff != "" {
		t.Errorf("Enrich events (-want +got):\n%s", diff)
	}
}

func TestEnrichCompressedResponses(t *testing.T) {
	body := []byte(`[{"big":"` + strings.Repeat("x", 5000) + `"},{"b":2}]`)
	encoders := map[string]func(io.Writer) io.WriteCloser{
		"gzip":        func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"deflate":     func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) },
		"raw deflate": func(w io.Writer) io.WriteCloser { fw, _ := flate.NewWriter(w, flate.DefaultCompression); return fw },
	}
	for name, enc := range encoders {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Accept-Encoding") != "gzip,deflate" {
					t.Errorf("Accept-Encoding = %q", r.Header.Get("Accept-Encoding"))
				}
				w.Header().Set("Content-Encoding", strings.TrimPrefix(name, "raw "))
				zw := enc(w)
				zw.Write(body)
				zw.Close()
			}))
			defer srv.Close()
			e, err := New(context.Background(), plugin.Env{}, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Enrich(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || string(got[1]) != `{"b":2}` {
				t.Errorf("Enrich(%s response) = %d events, want the 2 of the decoded body", name, len(got))
			}
		})
	}
}

func TestEnrichTooLargeIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`"`))
		w.Write(bytes.Repeat([]byte("a"), 6<<20))
		w.Write([]byte(`"`))
	}))
	defer srv.Close()
	e, err := New(context.Background(), plugin.Env{}, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Enrich(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}}); !plugin.IsPermanent(err) {
		t.Errorf("Enrich with a 6 MB+ response = %v, want permanent", err)
	}
}

func TestEnrichParametersFromSource(t *testing.T) {
	var gotPath, gotQuery, gotBody, gotKey string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotPath, gotQuery, gotBody, gotKey = r.URL.Path, r.URL.RawQuery, string(b), r.Header.Get("X-Api-Key")
		io.WriteString(w, `{"customer":{"tier":"gold"}}`)
	}))
	defer srv.Close()
	ep := &httptarget.Parameters{
		HttpParameters: &httptarget.HttpParameters{
			PathParameterValues:   []string{"$.value.customer"},
			QueryStringParameters: map[string]string{"topic": "$.topic"},
		},
		ApiDestinationParameters: &httptarget.ApiDestinationParameters{Connection: &httptarget.Connection{AuthorizationType: "API_KEY",
			AuthParameters: &httptarget.ConnectionAuthParameters{ApiKeyAuthParameters: &httptarget.ApiKeyAuthParameters{ApiKeyName: "X-Api-Key", SecretArn: "env:K"}}}},
	}
	env := plugin.Env{PipeName: "p", Secrets: secrets{"env:K": `{"api_key_value":"k-123"}`}}
	e, err := New(context.Background(), env, srv.URL+"/customers/*", mustJSON(t, ep))
	if err != nil {
		t.Fatal(err)
	}
	source := mustJSON(t, map[string]any{"eventSource": "SelfManagedKafka", "topic": "orders", "partition": "0", "offset": 7,
		"value": base64.StdEncoding.EncodeToString([]byte(`{"customer":"c-9"}`))})
	got, err := e.Enrich(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{"templated":1}`)}, Inputs: []json.RawMessage{source}})
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "/customers/c-9" || gotQuery != "topic=orders" || gotBody != `{"templated":1}` || gotKey != "k-123" {
		t.Errorf("request path=%q query=%q body=%q key=%q", gotPath, gotQuery, gotBody, gotKey)
	}
	if len(got) != 1 || string(got[0]) != `{"customer":{"tier":"gold"}}` {
		t.Errorf("Enrich = %q", strs(got))
	}
}

func TestEnrichClassification(t *testing.T) {
	for status, permanent := range map[int]bool{503: false, 500: false, 429: false, 400: true, 404: true} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
		e, err := New(context.Background(), plugin.Env{}, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Enrich(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{}`)}})
		if err == nil || plugin.IsPermanent(err) != permanent {
			t.Errorf("Enrich against %d = %v, want error with permanent=%v", status, err, permanent)
		}
		srv.Close()
	}
}

func TestRegistered(t *testing.T) {
	for _, s := range []string{"http://localhost/x", "https://example.com/y"} {
		if _, ok := plugin.Default.EnricherSpec(s); !ok {
			t.Errorf("plugin.Default.EnricherSpec(%s) not registered", s)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{``, `[]`, `{}`, `[{"a":1}]`, `"x"`, `nope`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ev := range Split(body) {
			if !json.Valid(ev) {
				t.Fatalf("Split(%q) produced invalid JSON %q", body, ev)
			}
		}
	})
}
