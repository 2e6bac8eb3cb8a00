package pipe

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

// queueParams is what the test plugin below owns: a TargetParameters member of its own.
type queueParams struct {
	MessageGroupId string `json:"MessageGroupId"`
}

// testRegistry holds a target plugin of kind "sqs" owning SqsQueueParameters, whose Validate checks
// MessageGroupId and the batch size it is given, and one of kind "kinesis" owning KinesisStreamParameters.
func testRegistry(t *testing.T, seen *[]plugin.Check) *plugin.Registry {
	t.Helper()
	reg := plugin.NewRegistry()
	newNothing := func(context.Context, plugin.Env, plugin.Check) (plugin.Target, error) { return nil, nil }
	reg.AddTarget(plugin.TargetSpec{
		Kinds:            []string{"sqs"},
		Members:          []string{"SqsQueueParameters"},
		MaxBatch:         10,
		DefaultBatchSize: 10,
		Validate: func(c plugin.Check) []plugin.FieldError {
			*seen = append(*seen, c)
			raw, err := c.Member("SqsQueueParameters")
			if err != nil || raw == nil {
				return nil
			}
			var p queueParams
			if err := json.Unmarshal(raw, &p); err != nil {
				return []plugin.FieldError{plugin.Errorf("TargetParameters.SqsQueueParameters", "%v", err)}
			}
			if p.MessageGroupId == "" {
				return []plugin.FieldError{plugin.Errorf("TargetParameters.SqsQueueParameters.MessageGroupId", "must not be empty")}
			}
			return nil
		},
		New: newNothing,
	})
	reg.AddTarget(plugin.TargetSpec{Kinds: []string{"kinesis"}, Members: []string{"KinesisStreamParameters"}, New: newNothing})
	return reg
}

// TestPluginOwnsItsParameters: validation hands a member owned by the pipe's target plugin to that
// plugin's Validate (with the whole TargetParameters and the pipe's context), and puts its FieldErrors in
// the list; a member owned by another plugin is refused naming it, and one nobody owns as unsupported.
// The plugin's DefaultBatchSize is the source BatchSize when the pipe gives none.
func TestPluginOwnsItsParameters(t *testing.T) {
	const queue = "arn:aws:sqs:us-east-1:123456789012:orders"
	tests := []struct {
		name   string
		params string
		want   []FieldError
	}{
		{"valid", `{"SqsQueueParameters": {"MessageGroupId": "g"}}`, nil},
		{"plugin's own problem", `{"SqsQueueParameters": {"MessageGroupId": ""}}`,
			[]FieldError{{Field: "TargetParameters.SqsQueueParameters.MessageGroupId", Message: "must not be empty"}}},
		{"another plugin's member", `{"SqsQueueParameters": {"MessageGroupId": "g"}, "KinesisStreamParameters": {"PartitionKey": "k"}}`,
			[]FieldError{{Field: "TargetParameters.KinesisStreamParameters",
				Message: "applies only to kinesis targets, which this pipe's Target (sqs) is not"}}},
		{"nobody's member", `{"LambdaFunctionParameters": {"InvocationType": "FIRE_AND_FORGET"}}`,
			[]FieldError{{Field: "TargetParameters.LambdaFunctionParameters", Message: "not supported: no target plugin of this Sluice uses it"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen []plugin.Check
			reg := testRegistry(t, &seen)
			d, err := Decode([]byte(`{"Name": "p", "Source": "smk://localhost:9092", "RoleArn": "arn:aws:iam::123456789012:role/r",
				"SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t"}},
				"Target": "` + queue + `", "TargetParameters": ` + tc.params + `}`))
			if err != nil {
				t.Fatal(err)
			}
			d.SetDefaults(reg)
			got := d.Validate(reg)
			if diff := cmp.Diff(tc.want, []FieldError(got)); diff != "" {
				t.Errorf("validate (-want +got):\n%s", diff)
			}
			if len(seen) != 1 {
				t.Fatalf("Validate called %d times, want once", len(seen))
			}
			c := seen[0]
			if c.Endpoint != queue || c.PipeName != "p" || c.RoleArn != "arn:aws:iam::123456789012:role/r" || c.SourceTopic != "t" ||
				!cmp.Equal(c.SourceBrokers, []string{"localhost:9092"}) || c.BatchSize != 10 || len(c.Params) == 0 {
				t.Errorf("Validate got %+v, want the pipe's context with the defaulted BatchSize 10", c)
			}
		})
	}
}

// TestLoad: Load decodes, names, defaults and validates with the registry it is given (not
// plugin.Default), listing decode and validation problems together; the name function's error is
// returned as is.
func TestLoad(t *testing.T) {
	var seen []plugin.Check
	reg := testRegistry(t, &seen)
	body := []byte(`{"Source": "smk://localhost:9092", "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t"}},
		"Target": "arn:aws:sqs:us-east-1:123456789012:q", "TargetParameters": {"SqsQueueParameters": {"MessageGroupId": "g"}}}`)
	d, err := Load(body, reg, func(d *Definition) error { d.Name = "named"; return nil })
	if err != nil || d.Name != "named" || *d.SourceParameters.SelfManagedKafkaParameters.BatchSize != 10 || len(seen) != 1 {
		t.Fatalf("Load = %+v, %v (plugin saw %d checks); want a valid, named definition with the plugin's BatchSize 10", d, err, len(seen))
	}
	// The same body with the built-in plugins only: sqs is not registered there.
	_, err = Load(body, builtin(), func(d *Definition) error { d.Name = "named"; return nil })
	var fe FieldErrors
	if !errors.As(err, &fe) || len(fe) != 2 || fe[0].Field != "Target" || fe[1].Field != "TargetParameters.SqsQueueParameters" {
		t.Errorf("Load with another registry = %v, want the Target kind and the member refused", err)
	}
	bad := []byte(`{"Source": 1, "Target": "arn:aws:sqs:us-east-1:123456789012:q", "TargetParameters": {"SqsQueueParameters": {}}}`)
	_, err = Load(bad, reg, nil)
	if !errors.As(err, &fe) || len(fe) != 4 {
		t.Errorf("Load(bad) = %v, want the decode problem (Source) with Name, SourceParameters and the plugin's MessageGroupId", err)
	}
	stop := errors.New("stop")
	if _, err := Load(body, reg, func(*Definition) error { return stop }); err != stop {
		t.Errorf("Load with a failing name = %v, want its error", err)
	}
}
