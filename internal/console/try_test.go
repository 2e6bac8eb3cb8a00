package console

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metrics"
)

// kafkaEvent is a Pipes Kafka event with the given key and value.
func kafkaEvent(key, value string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"eventSource":"SelfManagedKafka","bootstrapServers":"b:9092","eventSourceKey":"t-0",`+
		`"topic":"t","partition":"0","offset":1,"timestamp":1,"timestampType":"CREATE_TIME","key":%q,"value":%q,"headers":[]}`,
		base64.StdEncoding.EncodeToString([]byte(key)), base64.StdEncoding.EncodeToString([]byte(value))))
}

// TestTry checks the playground's verdicts: the pipe's filter rules for Kafka values (a JSON value's
// fields, plain text as a whole), and the template rendered on kept events only.
func TestTry(t *testing.T) {
	events := []json.RawMessage{
		kafkaEvent("o-1", `{"status":"PAID","id":"o-1"}`),
		kafkaEvent("o-2", `{"status":"PENDING","id":"o-2"}`),
		kafkaEvent("o-3", `not json`),
	}
	for _, tc := range []struct {
		name     string
		patterns []string
		template string
		kept     []bool
		outputs  []string
		patErr   string
		tmplErr  bool
	}{
		{"no filter keeps all", nil, "", []bool{true, true, true}, []string{"", "", ""}, "", false},
		{"value field", []string{`{"value":{"status":["PAID"]}}`}, `{"id": <$.value.id>, "p": <aws.pipes.pipe-name>}`,
			// Plain text has no fields: the field's clause is dropped and the record kept (pattern.MatchKafka).
			[]bool{true, false, true}, []string{`{"id": "o-1", "p": "demo"}`, "", `{"id": null, "p": "demo"}`}, "", false},
		{"any of two", []string{`{"value":{"status":["PENDING"]}}`, `{"key":["o-3"]}`}, "",
			[]bool{false, true, true}, []string{"", "", ""}, "", false},
		{"key prefix", []string{`{"key":[{"prefix":"o-2"}]}`}, "", []bool{false, true, false}, []string{"", "", ""}, "", false},
		{"bad pattern names its filter", []string{`{"value":{"status":["PAID"]}}`, `{"value":{"status":"PAID"}}`}, "",
			[]bool{false, false, false}, []string{"", "", ""}, "SourceParameters.FilterCriteria.Filters[1].Pattern", false},
		{"bad template", nil, `{"id": <$.value.id`, []bool{true, true, true}, []string{"", "", ""}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Try(TryRequest{Patterns: tc.patterns, Template: tc.template, Events: events, Pipe: "demo"}, "us-east-1", "000000000000")
			if err != nil {
				t.Fatal(err)
			}
			if tc.patErr != "" {
				if len(res.PatternErrors) != 1 || res.PatternErrors[0].Name != tc.patErr {
					t.Errorf("PatternErrors = %+v, want one on %s", res.PatternErrors, tc.patErr)
				}
			} else if len(res.PatternErrors) > 0 {
				t.Errorf("PatternErrors = %+v, want none", res.PatternErrors)
			}
			if (res.TemplateError != "") != tc.tmplErr {
				t.Errorf("TemplateError = %q, want error %v", res.TemplateError, tc.tmplErr)
			}
			for i, r := range res.Results {
				if r.Kept != tc.kept[i] || r.Output != tc.outputs[i] {
					t.Errorf("event %d: kept %v output %q, want %v %q", i, r.Kept, r.Output, tc.kept[i], tc.outputs[i])
				}
			}
		})
	}
	if _, err := Try(TryRequest{Events: make([]json.RawMessage, maxTryEvents+1)}, "", ""); err == nil {
		t.Error("Try with too many events: no error")
	}
}

// TestFormField checks where the create form shows the API's field errors.
func TestFormField(t *testing.T) {
	for name, want := range map[string]string{
		"Name":   "name",
		"Source": "source",
		"SourceParameters.FilterCriteria.Filters[0].Pattern":                "filters",
		"SourceParameters.SelfManagedKafkaParameters.TopicName":             "topic",
		"SourceParameters.SelfManagedKafkaParameters.Credentials.BasicAuth": "auth",
		"SourceParameters.SelfManagedKafkaParameters.BatchSize":             "source",
		"TargetParameters.InputTemplate":                                    "target_template",
		"TargetParameters.KafkaParameters.TopicName":                        "target_params",
		"Target":               "target",
		"EnrichmentParameters": "enrichment_template",
		"RoleArn":              "",
		"SourceX":              "",
	} {
		if got := formField(name); got != want {
			t.Errorf("formField(%s) = %q, want %q", name, got, want)
		}
	}
}

// TestCreateBody checks the CreatePipe body the form builds, and the filter box's two forms.
func TestCreateBody(t *testing.T) {
	f := createForm{Name: "p", Source: "smk://b:9092", Topic: "orders", Position: "TRIM_HORIZON", Auth: "BasicAuth",
		AuthRef: "env:KAFKA_CREDS", Filters: "{\"value\":\n {\"a\":[1]}}", Target: "file:///tmp/x", TargetTemplate: "<$.value>",
		TargetParams: `{"KafkaParameters":{"TopicName":"out"}}`}
	body, local := f.body()
	if len(local) > 0 {
		t.Fatalf("local errors %v", local)
	}
	want := `{"Source":"smk://b:9092","SourceParameters":{"FilterCriteria":{"Filters":[{"Pattern":"{\"value\":\n {\"a\":[1]}}"}]},` +
		`"SelfManagedKafkaParameters":{"Credentials":{"BasicAuth":"env:KAFKA_CREDS"},"StartingPosition":"TRIM_HORIZON","TopicName":"orders"}},` +
		`"Target":"file:///tmp/x","TargetParameters":{"InputTemplate":"\u003c$.value\u003e","KafkaParameters":{"TopicName":"out"}}}`
	if string(body) != want {
		t.Errorf("body =\n%s\nwant\n%s", body, want)
	}
	if got := splitPatterns("{\"a\":[1]}\n\n{\"b\":[2]}\n"); len(got) != 2 {
		t.Errorf("splitPatterns of two lines = %q", got)
	}
	f.TargetParams = "[1"
	if _, local := f.body(); len(local["target_params"]) != 1 {
		t.Errorf("bad target parameters: local errors %v", local)
	}
}

// TestGather reads the series internal/metrics registers, by their names.
func TestGather(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewMetrics(reg)
	p := m.Pipe("a")
	p.RecordsRead.Add(7)
	p.RecordsFiltered.Add(3)
	p.RecordsDeadLettered.Add(1)
	p.Events.Add(4)
	p.Invocations.Add(2)
	p.Failed.Add(1)
	p.Duration.Observe(0.5)
	stop := p.WatchLag(func() map[int32]int64 { return map[int32]int64{0: 5, 2: 1} })
	defer stop()
	snap, err := Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := snap["a"]
	if s.RecordsRead != 7 || s.RecordsFiltered != 3 || s.DeadLettered != 1 || s.Events != 4 || s.Invocations != 2 ||
		s.Failed != 1 || s.DurationCount != 1 || s.DurationSum != 0.5 || s.Lag[0] != 5 || s.Lag[2] != 1 || totalLag(s.Lag) != 6 {
		t.Errorf("Gather = %+v", s)
	}
	if len(snap) != 1 {
		t.Errorf("Gather found pipes %v, want only a", snap)
	}
}

// TestLogTap keeps the last records of each pipe, newest first, and passes everything on.
func TestLogTap(t *testing.T) {
	var out strings.Builder
	tap := NewLogTap(&out)
	for i := range logTapRecords + 5 {
		fmt.Fprintf(tap, `{"executionId":"e%d","timestamp":"t%d","messageType":"EXECUTION_STARTED","resourceArn":"arn:aws:pipes:us-east-1:000000000000:pipe/a","logLevel":"INFO","truncatedFields":null,"error":null}`+"\n", i, i)
	}
	fmt.Fprintf(tap, `{"executionId":"x","timestamp":"t","messageType":"EXECUTION_FAILED","resourceArn":"arn:aws:pipes:us-east-1:000000000000:pipe/b","error":{"message":"boom"}}`+"\n")
	tap.Write([]byte("not a record\n"))
	if n := strings.Count(out.String(), "\n"); n != logTapRecords+7 {
		t.Errorf("passed on %d lines, want %d", n, logTapRecords+7)
	}
	a := tap.Recent("a", 100)
	if len(a) != logTapRecords || a[0].ExecutionID != fmt.Sprintf("e%d", logTapRecords+4) || a[len(a)-1].ExecutionID != "e5" {
		t.Errorf("Recent(a) = %d records from %s to %s", len(a), a[0].ExecutionID, a[len(a)-1].ExecutionID)
	}
	if b := tap.Recent("b", 3); len(b) != 1 || b[0].Error != "boom" || b[0].MessageType != "EXECUTION_FAILED" {
		t.Errorf("Recent(b) = %+v", b)
	}
	var none *LogTap
	if r := none.Recent("a", 3); r != nil {
		t.Errorf("a nil tap's Recent = %v", r)
	}
}
