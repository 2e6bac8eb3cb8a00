package api

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
)

// TestValidationListsEveryProblem: decode problems (unknown members, wrong types) do not hide the
// other problems of a definition; one ValidationException lists them all (the first decode error used to
// hide the rest).
func TestValidationListsEveryProblem(t *testing.T) {
	h := newHarness(t)
	h.create("existing", types.RequestedPipeStateStopped)
	h.waitState("existing", types.PipeStateStopped)

	cases := []struct {
		name, method, path, body string
		want                     []string // every fieldList name expected
		notWant                  []string
	}{
		{
			name: "create", method: "POST", path: "/v1/pipes/new",
			body: `{"Source":"smk://127.0.0.1:9092","Surprise":1,"DesiredState":"PAUSED","Target":"ftp://x/y",
				"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t","BatchSize":"10"},
				"FilterCriteria":{"Filters":[{"Pattern":"{\"a\":1}"}]}}}`,
			want: []string{"Surprise", "DesiredState", "Target",
				"SourceParameters.SelfManagedKafkaParameters.BatchSize", "SourceParameters.FilterCriteria.Filters[0].Pattern"},
		},
		{
			name: "create, wrong type not also required", method: "POST", path: "/v1/pipes/new",
			body: `{"Source":"smk://127.0.0.1:9092","Target":7,"DesiredState":"PAUSED","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}}}`,
			want: []string{"Target", "DesiredState"},
		},
		{
			name: "update", method: "PUT", path: "/v1/pipes/existing",
			body: `{"Nope":1,"DesiredState":"PAUSED","Description":5,"TargetParameters":{"InputTemplate":"` + strings.Repeat("x", 9000) + `"}}`,
			want: []string{"Nope", "DesiredState", "Description", "TargetParameters.InputTemplate"},
		},
		{
			name: "update of a missing pipe with a malformed body", method: "PUT", path: "/v1/pipes/missing",
			body: `{"Nope":1}`,
			want: []string{"Nope"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.raw(tc.method, tc.path, tc.body)
			if r.status != 400 || r.typ != TypeValidation {
				t.Fatalf("%s %s = %d %s %s, want 400 ValidationException", tc.method, tc.path, r.status, r.typ, r.raw)
			}
			var names []string
			for _, f := range r.body.FieldList {
				names = append(names, f.Name)
			}
			for _, w := range tc.want {
				if !slices.Contains(names, w) {
					t.Errorf("fieldList %v lacks %s (%s)", names, w, r.raw)
				}
			}
			if len(names) != len(tc.want) {
				t.Errorf("fieldList %v, want exactly %v", names, tc.want)
			}
		})
	}
}

// TestSyntaxErrorHasPosition: a malformed body's message gives the line and column (it used to give neither).
func TestSyntaxErrorHasPosition(t *testing.T) {
	h := newHarness(t)
	r := h.raw("POST", "/v1/pipes/new", "{\n  \"Source\": \"smk://127.0.0.1:9092\",\n  \"Target\" \"file:///tmp/x\"\n}")
	if r.status != 400 || r.typ != TypeValidation || !strings.Contains(r.body.Message, "line 3, column 12") {
		t.Errorf("malformed body = %d %s %q, want a ValidationException naming line 3, column 12", r.status, r.typ, r.body.Message)
	}
}

// TestTemplateWarningLogged: a template that starts like JSON but cannot render to JSON is accepted (Pipes
// accepts any text) and logged as a warning naming the pipe, the field and the position (the API used to accept
// it without a word).
func TestTemplateWarningLogged(t *testing.T) {
	var logs syncLog
	h := newHarness(t, func(c *setup) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	tmpl := `{\"id\": <$.value.id>`
	body := `{"Source":"smk://127.0.0.1:9092","Target":"file:///tmp/x.jsonl","DesiredState":"STOPPED",
		"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}},
		"TargetParameters":{"InputTemplate":"` + tmpl + `"}}`
	if r := h.raw("POST", "/v1/pipes/warned", body); r.status != 200 {
		t.Fatalf("CreatePipe = %d %s, want 200 (a warning is not an error)", r.status, r.raw)
	}
	update := `{"TargetParameters":{"InputTemplate":"[<$.value.a> <$.value.b>]"}}`
	if r := h.raw("PUT", "/v1/pipes/warned", update); r.status != 200 {
		t.Fatalf("UpdatePipe = %d %s, want 200", r.status, r.raw)
	}
	var got []map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "pipe definition warning" {
			got = append(got, rec)
		}
	}
	want := []string{"line 1, column 20: starts like JSON", "line 1, column 14: starts like JSON"}
	if len(got) != len(want) {
		t.Fatalf("warnings logged = %v, want %d:\n%s", got, len(want), logs.String())
	}
	for i, w := range want {
		if got[i]["level"] != "WARN" || got[i]["pipe"] != "warned" || got[i]["field"] != "TargetParameters.InputTemplate" ||
			!strings.Contains(got[i]["warning"].(string), w) {
			t.Errorf("warning %d = %v, want WARN for pipe warned, TargetParameters.InputTemplate, %q", i, got[i], w)
		}
	}
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPluginParameterValidation: a target plugin's own parameters are validated by the plugin at
// CreatePipe and UpdatePipe (here the Kafka target's KafkaParameters), and every problem it finds is in
// the ValidationException's fieldList with the definition's own; a member of another plugin is refused
// naming it. Nothing is created or changed.
func TestPluginParameterValidation(t *testing.T) {
	h := newHarness(t)
	h.create("existing", types.RequestedPipeStateStopped)
	h.waitState("existing", types.PipeStateStopped)
	const badKafka = `{"Key":"$.bad path","Bogus":1,"AdditionalBootstrapServers":["nope"]}`
	want := []string{
		"TargetParameters.HttpParameters",
		"TargetParameters.KafkaParameters.AdditionalBootstrapServers[0]",
		"TargetParameters.KafkaParameters.Bogus",
		"TargetParameters.KafkaParameters.Key",
	}
	for _, tc := range []struct{ name, method, path, body string }{
		{"create", "POST", "/v1/pipes/new", `{"Source":"smk://127.0.0.1:9092","Target":"kafka://127.0.0.1:9092/out",
			"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}},
			"TargetParameters":{"KafkaParameters":` + badKafka + `,"HttpParameters":{"PathParameterValues":["x"]}}}`},
		{"update", "PUT", "/v1/pipes/existing", `{"Target":"kafka://127.0.0.1:9092/out",
			"TargetParameters":{"KafkaParameters":` + badKafka + `,"HttpParameters":{"PathParameterValues":["x"]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.raw(tc.method, tc.path, tc.body)
			if r.status != 400 || r.typ != TypeValidation {
				t.Fatalf("%s %s = %d %s %s, want 400 ValidationException", tc.method, tc.path, r.status, r.typ, r.raw)
			}
			var names []string
			for _, f := range r.body.FieldList {
				names = append(names, f.Name)
			}
			if !slices.Equal(names, want) {
				t.Errorf("fieldList %v, want %v (%s)", names, want, r.raw)
			}
			for _, f := range r.body.FieldList {
				if f.Name == "TargetParameters.HttpParameters" && !strings.Contains(f.Message, "applies only to http, https targets") {
					t.Errorf("HttpParameters on a kafka target: %q, want it refused naming the plugins it belongs to", f.Message)
				}
			}
		})
	}
	if r := h.raw("GET", "/v1/pipes/new", ""); r.status != 404 {
		t.Errorf("DescribePipe(new) = %d, want 404: the invalid pipe was created", r.status)
	}
	if d := h.describe("existing"); strings.HasPrefix(aws.ToString(d.Target), "kafka://") {
		t.Errorf("the invalid update changed the pipe's Target to %s", aws.ToString(d.Target))
	}
}
