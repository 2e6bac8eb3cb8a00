package apigateway_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// pipeOn is a pipe definition reading topic orders at broker (no connection is made: validation only).
func pipeOn(t *testing.T, broker string, batchSize int) map[string]any {
	return awstest.KafkaPipe(t, &kafkatest.Cluster{Bootstrap: []string{broker}}, "orders", batchSize, nil, nil)
}

func TestMain(m *testing.M) {
	code := m.Run()
	sluicetest.Cleanup()
	os.Exit(code)
}

// TestValidate: a bad execute-api Target or Enrichment, PathParameterValues not matching the path's
// wildcards, or a BatchSize above 1 is a field error of the definition (ValidationException's fieldList,
// exit 2 from `sluice run`), found without any I/O.
func TestValidate(t *testing.T) {
	const method = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/POST/orders/*"
	one := map[string]any{"HttpParameters": map[string]any{"PathParameterValues": []string{"$.value.id"}}}
	tests := []struct {
		name, target, enrichment string
		params                   map[string]any
		batch                    int
		field, msg               string
	}{
		{name: "target", target: method, params: one},
		{name: "enrichment", target: "file:///tmp/out", enrichment: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/lookup"},
		{name: "missing path value", target: method, field: "TargetParameters.HttpParameters.PathParameterValues", msg: "has 0 values but the path"},
		{name: "extra path value", target: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/POST/orders", params: one,
			field: "TargetParameters.HttpParameters.PathParameterValues", msg: "1 values"},
		{name: "bad method", target: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/FETCH/orders", field: "Target", msg: "method"},
		{name: "no stage", target: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3", field: "Target", msg: "API_ID/STAGE/METHOD"},
		{name: "bad enrichment", target: "file:///tmp/out", enrichment: "arn:aws:execute-api:us-east-1::a1b2c3/prod/GET/x", field: "Enrichment", msg: "account"},
		{name: "batch size", target: method, params: one, batch: 5, field: "SourceParameters.SelfManagedKafkaParameters.BatchSize", msg: "API Gateway target"},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			d := pipeOn(t, "broker:9092", tc.batch)
			d["Target"] = tc.target
			if tc.params != nil {
				d["TargetParameters"] = tc.params
			}
			if tc.enrichment != "" {
				d["Enrichment"] = tc.enrichment
			}
			_, errs := awstest.Definition(t, d)
			awstest.WantFieldError(t, errs, tc.field, tc.msg)
		})
	}
}

// TestSluiceRunRejects: `sluice run` of a definition with a bad API Gateway parameter exits 2 listing the
// field, before anything connects (the broker's address does not even resolve).
func TestSluiceRunRejects(t *testing.T) {
	d := pipeOn(t, "nowhere.invalid:9092", 1)
	d["Target"] = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/POST/orders/*"
	path := awstest.DefinitionFile(t, d)
	p := sluicetest.Start(t, "run", "--file", path)
	if code := p.Wait(t, 60*time.Second); code != 2 {
		t.Fatalf("sluice run exit = %d, want 2:\n%s", code, p.Stderr.String())
	}
	if !strings.Contains(p.Stderr.String(), "TargetParameters.HttpParameters.PathParameterValues") {
		t.Errorf("stderr does not name TargetParameters.HttpParameters.PathParameterValues:\n%s", p.Stderr.String())
	}
}
