package apidest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/awsclient/awstest"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/target/apidest"
	"github.com/sluicehq/sluice/internal/target/eventbus"
)

const destARN = "arn:aws:events:us-east-1:123456789012:api-destination/orders/0f1e2d3c"

// TestValidate: a bad API destination Target or Enrichment, or a BatchSize above 1, is a field error of
// the definition (ValidationException's fieldList at CreatePipe, exit 2 from `sluice run`), found without
// any call to AWS.
func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(d map[string]any)
		field string // "" means valid
		msg   string
	}{
		{name: "target", edit: func(d map[string]any) {
			d["TargetParameters"] = map[string]any{"HttpParameters": map[string]any{"HeaderParameters": map[string]string{"X-Id": "$.value.id"}}}
		}},
		{name: "enrichment", edit: func(d map[string]any) {
			d["Enrichment"] = destARN
			d["EnrichmentParameters"] = map[string]any{"HttpParameters": map[string]any{"PathParameterValues": []string{"$.value.id"}}}
		}},
		{name: "not an api-destination", edit: func(d map[string]any) {
			d["Target"] = "arn:aws:events:us-east-1:123456789012:api-destination"
		}, field: "Target", msg: "api-destination/NAME/UUID"},
		{name: "bad name", edit: func(d map[string]any) {
			d["Target"] = "arn:aws:events:us-east-1:123456789012:api-destination/a b/1"
		}, field: "Target", msg: "name"},
		{name: "no region", edit: func(d map[string]any) {
			d["Enrichment"] = "arn:aws:events::123456789012:api-destination/orders/1"
		}, field: "Enrichment", msg: "region"},
		{name: "batch size", edit: func(d map[string]any) {
			d["SourceParameters"].(map[string]any)["SelfManagedKafkaParameters"].(map[string]any)["BatchSize"] = 10
		}, field: "SourceParameters.SelfManagedKafkaParameters.BatchSize", msg: "must be 1 with an API destination target"},
		{name: "unknown HttpParameters member", edit: func(d map[string]any) {
			d["TargetParameters"] = map[string]any{"HttpParameters": map[string]any{"PathParameters": []string{"x"}}}
		}, field: "TargetParameters.HttpParameters.PathParameters", msg: ""},
		{name: "dead-letter destination", edit: func(d map[string]any) {
			d["Target"] = "file:///tmp/out"
			d["SourceParameters"].(map[string]any)["SelfManagedKafkaParameters"].(map[string]any)["DeadLetterConfig"] = map[string]any{"Arn": destARN}
		}, field: "SourceParameters.SelfManagedKafkaParameters.DeadLetterConfig.Arn", msg: "cannot be a dead-letter destination"},
		{name: "bad header parameter", edit: func(d map[string]any) {
			d["TargetParameters"] = map[string]any{"HttpParameters": map[string]any{"HeaderParameters": map[string]string{"bad header": "x"}}}
		}, field: "TargetParameters.HttpParameters.HeaderParameters[bad header] name", msg: "header"},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			d := map[string]any{
				"Name":             "p",
				"Source":           "smk://broker:9092",
				"SourceParameters": map[string]any{"SelfManagedKafkaParameters": map[string]any{"TopicName": "orders"}},
				"Target":           destARN,
			}
			tc.edit(d)
			_, errs := awstest.Definition(t, d)
			awstest.WantFieldError(t, errs, tc.field, tc.msg)
		})
	}
}

// TestBesideEventBus: with the event bus target registered under "events", API destination ARNs still go
// to this plugin and event bus ARNs to that one.
func TestBesideEventBus(t *testing.T) {
	dest, ok := plugin.Default.TargetSpec(destARN)
	if !ok || !slices.Contains(dest.Kinds, apidest.Kind) {
		t.Errorf("TargetSpec(%s) = %v, %v; want the %s spec", destARN, dest.Kinds, ok, apidest.Kind)
	}
	bus := "arn:aws:events:us-east-1:123456789012:event-bus/default"
	spec, ok := plugin.Default.TargetSpec(bus)
	if !ok || !slices.Contains(spec.Kinds, eventbus.Kind) {
		t.Errorf("TargetSpec(%s) = %v, %v; want the %s spec", bus, spec.Kinds, ok, eventbus.Kind)
	}
}
