package runtime_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"

	_ "github.com/sluicehq/sluice/internal/enrich/http"
	_ "github.com/sluicehq/sluice/internal/target/http"
)

// request is what an httptest server saw.
type request struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

// httpRecorder serves a target endpoint, recording requests; reply decides the response (nil: 200 {}).
type httpRecorder struct {
	mu    sync.Mutex
	reqs  []request
	reply func(r request) (int, string)
}

func (h *httpRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Header: r.Header.Clone()}
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	h.mu.Unlock()
	code, resp := http.StatusOK, `{}`
	if h.reply != nil {
		code, resp = h.reply(req)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, resp)
}

func (h *httpRecorder) requests() []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// TestHTTPTarget: Kafka -> filter -> template -> HTTP endpoint, one request per event, with path, query
// and header parameters from JSON paths of the untransformed event, under each authorization kind.
func TestHTTPTarget(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		tests := []struct {
			name       string
			connection func(t *testing.T, srv *httptest.Server) map[string]any
			authorized func(r request) bool
			tokens     *int // token requests, for OAuth
		}{
			{
				name:       "none",
				connection: func(*testing.T, *httptest.Server) map[string]any { return nil },
				authorized: func(r request) bool { return r.Header.Get("Authorization") == "" },
			},
			{
				name: "basic",
				connection: func(t *testing.T, _ *httptest.Server) map[string]any {
					return map[string]any{"AuthorizationType": "BASIC", "AuthParameters": map[string]any{
						"BasicAuthParameters": map[string]any{"SecretArn": writeSecret(t, map[string]string{"username": "pipes", "password": "s3cret"})}}}
				},
				authorized: func(r request) bool {
					req := &http.Request{Header: r.Header}
					u, p, ok := req.BasicAuth()
					return ok && u == "pipes" && p == "s3cret"
				},
			},
			{
				name: "api key",
				connection: func(t *testing.T, _ *httptest.Server) map[string]any {
					return map[string]any{"AuthorizationType": "API_KEY", "AuthParameters": map[string]any{
						"ApiKeyAuthParameters": map[string]any{"ApiKeyName": "X-Api-Key", "SecretArn": writeSecret(t, map[string]string{"api_key_value": "k-123"})}}}
				},
				authorized: func(r request) bool { return r.Header.Get("X-Api-Key") == "k-123" },
			},
			{
				name: "oauth client credentials",
				connection: func(t *testing.T, srv *httptest.Server) map[string]any {
					return map[string]any{"AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": map[string]any{
						"OAuthParameters": map[string]any{
							"AuthorizationEndpoint": srv.URL + "/token",
							"SecretArn":             writeSecret(t, map[string]string{"client_id": "cid", "client_secret": "csecret"}),
							"OAuthHttpParameters":   map[string]any{"BodyParameters": []map[string]string{{"Key": "scope", "Value": "orders"}}},
						}}}
				},
				// The first token is refused once (401), so the target must fetch a new one.
				authorized: func(r request) bool { return r.Header.Get("Authorization") == "Bearer tok-2" },
			},
		}
		for _, tc := range tests {
			t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
				topic := c.CreateTopic(t, 2)
				recs, orders := orderRecords(topic, 12, 2)
				c.Produce(t, recs...)
				var mu sync.Mutex
				tokens := 0
				h := &httpRecorder{}
				mux := http.NewServeMux()
				mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
					r.ParseForm()
					id, sec, _ := r.BasicAuth()
					if id == "" {
						id, sec = r.Form.Get("client_id"), r.Form.Get("client_secret")
					}
					if id != "cid" || sec != "csecret" || r.Form.Get("grant_type") != "client_credentials" {
						http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
						return
					}
					mu.Lock()
					tokens++
					n := tokens
					mu.Unlock()
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, n)
				})
				mux.Handle("/", h)
				srv := httptest.NewServer(mux)
				defer srv.Close()
				h.reply = func(r request) (int, string) {
					if r.Header.Get("Authorization") == "Bearer tok-1" {
						return http.StatusUnauthorized, `{"message":"token expired"}`
					}
					if !tc.authorized(r) {
						return http.StatusForbidden, `{"message":"bad credentials"}`
					}
					return http.StatusOK, `{"ok":true}`
				}
				adp := map[string]any{"HttpMethod": "PUT"}
				if conn := tc.connection(t, srv); conn != nil {
					adp["Connection"] = conn
				}
				def := definition(t, c, topic, spec{
					filters: []string{paidOver50},
					target:  srv.URL + "/orders/*",
					targetParams: map[string]any{
						"HttpParameters": map[string]any{
							"PathParameterValues":   []string{"$.value.orderId"},
							"HeaderParameters":      map[string]string{"X-Source": "sluice"},
							"QueryStringParameters": map[string]string{"city": "$.value.city"},
						},
						"ApiDestinationParameters": adp,
					},
					targetTemplate: `{"id": <$.value.orderId>, "amount": <$.value.amount>}`,
				})
				start(t, def, deps(t, nil))
				var ok []request
				kafkatest.Eventually(t, 60*time.Second, func() error {
					ok = ok[:0]
					for _, r := range h.requests() {
						if tc.authorized(r) {
							ok = append(ok, r)
						}
					}
					if len(ok) < 6 {
						return fmt.Errorf("%d authorized requests, want 6", len(ok))
					}
					return nil
				})
				byID := map[string]order{}
				for _, o := range orders {
					byID[o.OrderID] = o
				}
				seen := map[string]bool{}
				for _, r := range ok {
					var body struct {
						ID     string  `json:"id"`
						Amount float64 `json:"amount"`
					}
					if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
						t.Fatalf("body %q: %v", r.Body, err)
					}
					o := byID[body.ID]
					if o.Status != "PAID" {
						t.Errorf("request for %s (%s) should have been filtered out", body.ID, o.Status)
					}
					if r.Method != "PUT" || r.Path != "/orders/"+body.ID || r.Query != "city="+o.City || r.Header.Get("X-Source") != "sluice" {
						t.Errorf("request %s %s?%s X-Source=%q for %s: want PUT /orders/%s?city=%s X-Source=sluice",
							r.Method, r.Path, r.Query, r.Header.Get("X-Source"), body.ID, body.ID, o.City)
					}
					if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
						t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
					}
					seen[body.ID] = true
				}
				if len(seen) != 6 {
					t.Errorf("distinct orders delivered = %d, want 6", len(seen))
				}
				if tc.name == "oauth client credentials" && tokens < 2 {
					t.Errorf("token requests = %d, want a refresh after the 401", tokens)
				}
				waitCommitted(t, c, groupOf(def), topic, endOffsets(12, 2))
			})
		}
	})
}

// TestHTTPEnrichment: the enrichment's response replaces the event; it may return more events (an array),
// one (an object) or none ("", {} or []), which skips the target; the record is committed either way.
func TestHTTPEnrichment(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		var recs []*kgoRecord
		statuses := []string{"PAID", "PENDING", "CANCELLED", "REFUNDED", "DRAFT"}
		for i := range 10 {
			recs = append(recs, &kgoRecord{partition: int32(i % 2), key: fmt.Sprintf("o-%d", i),
				value: fmt.Sprintf(`{"orderId":"o-%d","status":%q,"amount":%d}`, i, statuses[i%5], 10*i)})
		}
		produce(t, c, topic, recs)
		enr := &httpRecorder{reply: func(r request) (int, string) {
			var in struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			if err := json.Unmarshal([]byte(r.Body), &in); err != nil {
				return http.StatusBadRequest, `{"message":"not the templated event"}`
			}
			switch in.Status {
			case "PAID": // split into two events
				return http.StatusOK, fmt.Sprintf(`[{"id":%q,"part":1},{"id":%q,"part":2}]`, in.ID, in.ID)
			case "PENDING":
				return http.StatusOK, `[]`
			case "CANCELLED":
				return http.StatusOK, `{}`
			case "DRAFT":
				return http.StatusOK, ``
			}
			return http.StatusOK, fmt.Sprintf(`{"id":%q,"refund":true}`, in.ID)
		}}
		srv := httptest.NewServer(enr)
		defer srv.Close()
		target, path := outFile(t)
		def := definition(t, c, topic, spec{
			enrichment:     srv.URL + "/enrich",
			enrichTemplate: `{"id": <$.value.orderId>, "status": <$.value.status>}`,
			target:         target,
			targetTemplate: `{"got": <aws.pipes.event.json>}`,
		})
		start(t, def, deps(t, nil))
		waitCommitted(t, c, groupOf(def), topic, map[int32]int64{0: 5, 1: 5})
		lines := readLines(t, path)
		want := []string{
			`{"got":{"id":"o-0","part":1}}`, `{"got":{"id":"o-0","part":2}}`,
			`{"got":{"id":"o-3","refund":true}}`,
			`{"got":{"id":"o-5","part":1}}`, `{"got":{"id":"o-5","part":2}}`,
			`{"got":{"id":"o-8","refund":true}}`,
		}
		got := slices.Clone(lines)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("target received\n%s\nwant (any order across partitions)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The two events of one enrichment stay in order.
		for _, id := range []string{"o-0", "o-5"} {
			i1 := slices.Index(lines, `{"got":{"id":"`+id+`","part":1}}`)
			i2 := slices.Index(lines, `{"got":{"id":"`+id+`","part":2}}`)
			if i1 > i2 {
				t.Errorf("%s: part 2 delivered before part 1", id)
			}
		}
		if n := len(enr.requests()); n != 10 {
			t.Errorf("enrichment called %d times, want 10 (one per record)", n)
		}
	})
}
