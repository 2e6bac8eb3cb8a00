package stepfunctions

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

const smARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders"

func TestValidateTarget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint string
		params   string
		want     []plugin.FieldError
	}{
		{"unqualified, no parameters", smARN, ``, nil},
		{"alias, fire and forget", smARN + ":prod", `{"StepFunctionStateMachineParameters":{"InvocationType":"FIRE_AND_FORGET"}}`, nil},
		{"version", smARN + ":3", `{"StepFunctionStateMachineParameters":{"InvocationType":"REQUEST_RESPONSE"}}`, nil},
		{"name with dots", "arn:aws:states:us-east-1:123456789012:stateMachine:a.b_c-1", ``, nil},
		{"execution ARN", "arn:aws:states:us-east-1:123456789012:execution:orders:e1", ``, []plugin.FieldError{
			{Field: "Target", Message: `Step Functions ARN resource "execution:orders:e1" is not stateMachine:NAME[:VERSION_OR_ALIAS]`}}},
		{"other service", "arn:aws:lambda:us-east-1:123456789012:stateMachine:orders", ``, []plugin.FieldError{
			{Field: "Target", Message: `ARN service "lambda" is not "states"`}}},
		{"bad name", "arn:aws:states:us-east-1:123456789012:stateMachine:a{b}", ``, []plugin.FieldError{
			{Field: "Target", Message: `state machine name "a{b}" must be 1 to 80 characters without white space, brackets or special characters`}}},
		{"bad qualifier", smARN + ":v$1", ``, []plugin.FieldError{
			{Field: "Target", Message: `state machine qualifier "v$1" must be a version or an alias (letters, digits, '-' or '_')`}}},
		{"bad region", "arn:aws:states:Europe:123456789012:stateMachine:orders", ``, []plugin.FieldError{
			{Field: "Target", Message: `ARN "arn:aws:states:Europe:123456789012:stateMachine:orders": region "Europe" must be lowercase letters, digits and hyphens, such as us-east-1`}}},
		{"bad invocation type and unknown field", smARN, `{"StepFunctionStateMachineParameters":{"InvocationType":"SYNC","Name":"x"}}`, []plugin.FieldError{
			{Field: "TargetParameters.StepFunctionStateMachineParameters.Name", Message: `unknown field; StepFunctionStateMachineParameters has only InvocationType`},
			{Field: "TargetParameters.StepFunctionStateMachineParameters.InvocationType", Message: `must be REQUEST_RESPONSE or FIRE_AND_FORGET, not "SYNC"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := plugin.Check{Endpoint: tc.endpoint}
			if tc.params != "" {
				c.Params = json.RawMessage(tc.params)
			}
			if diff := cmp.Diff(tc.want, TargetSpec.Validate(c)); diff != "" {
				t.Errorf("Validate(%s, %s) (-want +got):\n%s", tc.endpoint, tc.params, diff)
			}
		})
	}
}

func TestValidateEnricher(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		want     []plugin.FieldError
	}{
		{smARN, nil},
		{"arn:aws:states:us-east-1:123456789012:activity:a", []plugin.FieldError{
			{Field: "Enrichment", Message: `Step Functions ARN resource "activity:a" is not stateMachine:NAME[:VERSION_OR_ALIAS]`}}},
	} {
		if diff := cmp.Diff(tc.want, EnricherSpec.Validate(plugin.Check{Endpoint: tc.endpoint})); diff != "" {
			t.Errorf("Validate(%s) (-want +got):\n%s", tc.endpoint, diff)
		}
	}
}
