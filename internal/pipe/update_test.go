package pipe

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustLoad(t *testing.T, path string) *Definition {
	t.Helper()
	d, problems := load(t, path)
	if problems != "" {
		t.Fatalf("%s: %s", path, problems)
	}
	return d
}

func mustDecodeUpdate(t *testing.T, body string) *UpdateRequest {
	t.Helper()
	u, err := DecodeUpdate([]byte(body))
	if err != nil {
		t.Fatalf("DecodeUpdate(%s): %v", body, err)
	}
	return u
}

func TestMerge(t *testing.T) {
	cases := []struct {
		name   string
		base   string
		body   string
		check  func(t *testing.T, cur, got *Definition)
		errors []string // fields of the expected FieldErrors from Merge
	}{
		{
			name: "empty update keeps everything",
			base: "testdata/good/full.json",
			body: `{}`,
			check: func(t *testing.T, cur, got *Definition) {
				if diff := cmp.Diff(cur, got); diff != "" {
					t.Errorf("Merge({}) changed the pipe (-cur +got):\n%s", diff)
				}
			},
		},
		{
			name: "kafka parameters replaced whole, omitted members reset to defaults, identity kept",
			base: "testdata/good/full.json",
			body: `{"SourceParameters":{"SelfManagedKafkaParameters":{"MaximumBatchingWindowInSeconds":7}}}`,
			check: func(t *testing.T, cur, got *Definition) {
				k := got.SourceParameters.SelfManagedKafkaParameters
				if *k.MaximumBatchingWindowInSeconds != 7 {
					t.Errorf("window = %d, want 7", *k.MaximumBatchingWindowInSeconds)
				}
				if *k.BatchSize != 1 { // HTTP enrichment -> default 1
					t.Errorf("BatchSize = %d, want default 1", *k.BatchSize)
				}
				if k.Credentials != nil || k.ServerRootCaCertificate != "" || k.DeadLetterConfig != nil || k.MaximumRetryAttempts != nil {
					t.Errorf("omitted members not reset: %+v", k)
				}
				if k.TopicName != "orders" || k.ConsumerGroupID != "billing-orders" || k.StartingPosition != "TRIM_HORIZON" || len(k.AdditionalBootstrapServers) != 2 {
					t.Errorf("immutable members lost: %+v", k)
				}
				if got.SourceParameters.FilterCriteria == nil || len(got.SourceParameters.FilterCriteria.Filters) != 2 {
					t.Errorf("FilterCriteria changed although not given")
				}
				if cur.SourceParameters.SelfManagedKafkaParameters.Credentials == nil {
					t.Errorf("Merge modified the current definition")
				}
			},
		},
		{
			name:  "immutable members re-sent unchanged are accepted",
			base:  "testdata/good/full.json",
			body:  `{"Name":"orders-to-billing","Source":"smk://broker-1.example.com:9096","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"orders","StartingPosition":"TRIM_HORIZON","ConsumerGroupID":"billing-orders","AdditionalBootstrapServers":["broker-2.example.com:9096","10.0.0.3:9096"]}}}`,
			check: func(t *testing.T, cur, got *Definition) {},
		},
		{
			name:   "immutable members changed are rejected",
			base:   "testdata/good/full.json",
			body:   `{"Name":"other","Source":"smk://x:1","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t2","StartingPosition":"LATEST","ConsumerGroupID":"g2","AdditionalBootstrapServers":[]}}}`,
			errors: []string{"Name", "Source", "SourceParameters.SelfManagedKafkaParameters.AdditionalBootstrapServers", "SourceParameters.SelfManagedKafkaParameters.ConsumerGroupID", "SourceParameters.SelfManagedKafkaParameters.StartingPosition", "SourceParameters.SelfManagedKafkaParameters.TopicName"},
		},
		{
			name: "removals: filters, enrichment, templates, kms key",
			base: "testdata/good/full.json",
			body: `{"SourceParameters":{"FilterCriteria":{"Filters":[]}},"Enrichment":"","TargetParameters":{"InputTemplate":""},"KmsKeyIdentifier":""}`,
			check: func(t *testing.T, cur, got *Definition) {
				if n := len(got.SourceParameters.FilterCriteria.Filters); n != 0 {
					t.Errorf("Filters = %d, want 0", n)
				}
				if got.Enrichment != "" || got.EnrichmentParameters != nil {
					t.Errorf("enrichment not removed: %q %+v", got.Enrichment, got.EnrichmentParameters)
				}
				if got.TargetParameters.InputTemplate == nil || *got.TargetParameters.InputTemplate != "" {
					t.Errorf("InputTemplate not emptied")
				}
				if !strings.Contains(string(got.TargetParameters.KafkaParameters), `"Key":"$.value.id"`) {
					t.Errorf("KafkaParameters lost although not given")
				}
				if *got.KmsKeyIdentifier != "" {
					t.Errorf("KmsKeyIdentifier = %q, want empty", *got.KmsKeyIdentifier)
				}
				if fe := got.Validate(builtin()); len(fe) > 0 {
					t.Errorf("merged definition invalid: %v", fe)
				}
			},
		},
		{
			name: "top-level scalars and log configuration",
			base: "testdata/good/minimal.json",
			body: `{"DesiredState":"STOPPED","Description":"d","LogConfiguration":{"Level":"ERROR"}}`,
			check: func(t *testing.T, cur, got *Definition) {
				if got.DesiredState != "STOPPED" || *got.Description != "d" || got.LogConfiguration.Level != "ERROR" {
					t.Errorf("got %+v", got)
				}
			},
		},
		{
			name: "target kind change drops the old kind's parameters",
			base: "testdata/good/http-target.json",
			body: `{"Target":"kafka://localhost:9092/out"}`,
			check: func(t *testing.T, cur, got *Definition) {
				tp := got.TargetParameters
				if tp.HttpParameters != nil || tp.ApiDestinationParameters != nil {
					t.Errorf("HTTP parameters kept on a kafka target: %+v", tp)
				}
				if tp.InputTemplate == nil || *tp.InputTemplate != *cur.TargetParameters.InputTemplate {
					t.Errorf("InputTemplate lost")
				}
				if fe := got.Validate(builtin()); len(fe) > 0 {
					t.Errorf("merged definition invalid: %v", fe)
				}
			},
		},
		{
			name: "target parameter objects replaced whole",
			base: "testdata/good/http-target.json",
			body: `{"TargetParameters":{"HttpParameters":{"PathParameterValues":["a","b"]}}}`,
			check: func(t *testing.T, cur, got *Definition) {
				if h := string(got.TargetParameters.HttpParameters); h != `{"PathParameterValues":["a","b"]}` {
					t.Errorf("HttpParameters not replaced whole: %s", h)
				}
				if got.TargetParameters.ApiDestinationParameters == nil {
					t.Errorf("ApiDestinationParameters dropped although not given")
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := mustLoad(t, tc.base)
			u := mustDecodeUpdate(t, tc.body)
			got, fe := Merge(cur, u, builtin())
			if tc.errors != nil {
				var fields []string
				for _, f := range fe {
					fields = append(fields, f.Field)
				}
				if diff := cmp.Diff(tc.errors, fields); diff != "" {
					t.Fatalf("Merge(%s) errors (-want +got):\n%s", tc.body, diff)
				}
				if got != nil {
					t.Errorf("Merge returned a definition along with errors")
				}
				return
			}
			if len(fe) > 0 {
				t.Fatalf("Merge(%s) = %v, want no errors", tc.body, fe)
			}
			tc.check(t, cur, got)
		})
	}
}

func TestDecodeUpdateRejectsTags(t *testing.T) {
	_, err := DecodeUpdate([]byte(`{"Tags":{"a":"b"}}`))
	fe, ok := err.(FieldErrors)
	if !ok || len(fe) != 1 || fe[0].Field != "Tags" {
		t.Errorf("DecodeUpdate(Tags) = %v, want one FieldError on Tags (tags change through TagResource)", err)
	}
}
