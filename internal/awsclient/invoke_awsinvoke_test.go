package awsclient_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/target/lambda"
	"github.com/sluicehq/sluice/internal/target/stepfunctions"
)

const (
	fnARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"
	smARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders"
)

// TestInvokeValidate checks the validation of the invoked resources' targets and enrichments (the
// InvokeSpecs of the Lambda and Step Functions plugins): the ARN, its resource form, InvocationType.
func TestInvokeValidate(t *testing.T) {
	fe := func(field, msg string) plugin.FieldError { return plugin.FieldError{Field: field, Message: msg} }
	const invocationType = "TargetParameters.LambdaFunctionParameters.InvocationType"
	lt, le := lambda.Spec.Specs()
	st, se := stepfunctions.Spec.Specs()
	for _, tc := range []struct {
		name       string
		validate   func(plugin.Check) []plugin.FieldError
		endpoint   string
		parameters string
		want       []plugin.FieldError
	}{
		{"function", lt.Validate, fnARN, ``, nil},
		{"function alias, fire and forget", lt.Validate, fnARN + ":live", `{"LambdaFunctionParameters":{"InvocationType":"FIRE_AND_FORGET"}}`, nil},
		{"function version", lt.Validate, fnARN + ":7", `{"LambdaFunctionParameters":{"InvocationType":"REQUEST_RESPONSE"}}`, nil},
		{"function $LATEST, template", lt.Validate, fnARN + ":$LATEST", `{"InputTemplate":"x","LambdaFunctionParameters":{}}`, nil},
		{"function in GovCloud", lt.Validate, "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", ``, nil},
		{"function name", lt.Validate, "orders", ``, []plugin.FieldError{
			fe("Target", `ARN "orders": prefix must be "arn:"`)}},
		{"queue ARN", lt.Validate, "arn:aws:sqs:us-east-1:123456789012:function:f", ``, []plugin.FieldError{
			fe("Target", `ARN service "sqs" is not "lambda"`)}},
		{"no region nor account", lt.Validate, "arn:aws:lambda:::function:f", ``, []plugin.FieldError{
			fe("Target", `ARN region is missing: the lambda call is made in it`), fe("Target", `ARN account is missing`)}},
		{"layer", lt.Validate, "arn:aws:lambda:us-east-1:123456789012:layer:l:1", ``, []plugin.FieldError{
			fe("Target", `Lambda function ARN resource "layer:l:1" is not function:NAME[:VERSION_OR_ALIAS]`)}},
		{"bad function name and qualifier", lt.Validate, "arn:aws:lambda:us-east-1:123456789012:function:a.b:", ``, []plugin.FieldError{
			fe("Target", `Lambda function name "a.b" must be 1 to 64 letters, digits, '-' or '_'`),
			fe("Target", `Lambda function qualifier "" must be $LATEST, a version or an alias (1 to 128 letters, digits, '-' or '_')`)}},
		{"Lambda's own invocation type", lt.Validate, fnARN, `{"LambdaFunctionParameters":{"InvocationType":"Event"}}`, []plugin.FieldError{
			fe(invocationType, `must be REQUEST_RESPONSE or FIRE_AND_FORGET, not "Event"`)}},
		{"invocation type not a string", lt.Validate, fnARN, `{"LambdaFunctionParameters":{"InvocationType":1}}`, []plugin.FieldError{
			fe(invocationType, `must be REQUEST_RESPONSE or FIRE_AND_FORGET, not 1`)}},
		{"unknown member field", lt.Validate, fnARN, `{"LambdaFunctionParameters":{"Qualifier":"live","InvocationType":"FIRE_AND_FORGET"}}`, []plugin.FieldError{
			fe("TargetParameters.LambdaFunctionParameters.Qualifier", `unknown field; LambdaFunctionParameters has only InvocationType`)}},
		{"member not an object", lt.Validate, fnARN, `{"LambdaFunctionParameters":"FIRE_AND_FORGET"}`, []plugin.FieldError{
			fe("TargetParameters.LambdaFunctionParameters", `must be an object with InvocationType`)}},
		{"function enrichment", le.Validate, fnARN + ":live", ``, nil},
		{"function enrichment, short account", le.Validate, "arn:aws:lambda:us-east-1:12345:function:f", ``, []plugin.FieldError{
			fe("Enrichment", `ARN "arn:aws:lambda:us-east-1:12345:function:f": account "12345" must be 12 digits`)}},

		{"state machine", st.Validate, smARN, ``, nil},
		{"state machine alias, fire and forget", st.Validate, smARN + ":prod", `{"StepFunctionStateMachineParameters":{"InvocationType":"FIRE_AND_FORGET"}}`, nil},
		{"state machine version", st.Validate, smARN + ":3", ``, nil},
		{"state machine name with dots", st.Validate, "arn:aws:states:us-east-1:123456789012:stateMachine:a.b_c-1", ``, nil},
		{"execution ARN", st.Validate, "arn:aws:states:us-east-1:123456789012:execution:orders:e1", ``, []plugin.FieldError{
			fe("Target", `state machine ARN resource "execution:orders:e1" is not stateMachine:NAME[:VERSION_OR_ALIAS]`)}},
		{"state machine with braces", st.Validate, "arn:aws:states:us-east-1:123456789012:stateMachine:a{b}", ``, []plugin.FieldError{
			fe("Target", `state machine name "a{b}" must be 1 to 80 characters without white space, brackets or special characters`)}},
		{"bad state machine qualifier", st.Validate, smARN + ":v$1", ``, []plugin.FieldError{
			fe("Target", `state machine qualifier "v$1" must be a version number or an alias (letters, digits, '-' or '_')`)}},
		{"bad region", st.Validate, "arn:aws:states:Europe:123456789012:stateMachine:orders", ``, []plugin.FieldError{
			fe("Target", `ARN "arn:aws:states:Europe:123456789012:stateMachine:orders": region "Europe" must be lowercase letters, digits and hyphens, such as us-east-1`)}},
		{"bad invocation type and unknown field", st.Validate, smARN, `{"StepFunctionStateMachineParameters":{"InvocationType":"SYNC","Name":"x"}}`, []plugin.FieldError{
			fe("TargetParameters.StepFunctionStateMachineParameters.Name", `unknown field; StepFunctionStateMachineParameters has only InvocationType`),
			fe("TargetParameters.StepFunctionStateMachineParameters.InvocationType", `must be REQUEST_RESPONSE or FIRE_AND_FORGET, not "SYNC"`)}},
		{"state machine enrichment", se.Validate, smARN, ``, nil},
		{"activity enrichment", se.Validate, "arn:aws:states:us-east-1:123456789012:activity:a", ``, []plugin.FieldError{
			fe("Enrichment", `state machine ARN resource "activity:a" is not stateMachine:NAME[:VERSION_OR_ALIAS]`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := plugin.Check{Endpoint: tc.endpoint}
			if tc.parameters != "" {
				c.Params = json.RawMessage(tc.parameters)
			}
			if diff := cmp.Diff(tc.want, tc.validate(c)); diff != "" {
				t.Errorf("Validate(%s, %s) (-want +got):\n%s", tc.endpoint, tc.parameters, diff)
			}
		})
	}
}

// TestInvokePipeValidate checks that a pipe definition's validation (the API's CreatePipe and `sluice
// run`) reports the plugins' problems by field.
func TestInvokePipeValidate(t *testing.T) {
	_, err := pipe.Load([]byte(`{"Name":"p","Source":"smk://127.0.0.1:9092","RoleArn":"arn:aws:iam::123456789012:role/r",
		"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}},
		"Enrichment":"arn:aws:states:us-east-1:123456789012:stateMachine:a b",
		"Target":"`+fnARN+`","TargetParameters":{"LambdaFunctionParameters":{"InvocationType":"Event"}}}`), plugin.Default, nil)
	var errs pipe.FieldErrors
	if !errors.As(err, &errs) {
		t.Fatalf("Load = %v, want FieldErrors", err)
	}
	got := map[string]string{}
	for _, e := range errs {
		got[e.Field] = e.Message
	}
	want := map[string]string{
		"Enrichment": `state machine name "a b" must be 1 to 80 characters without white space, brackets or special characters`,
		"TargetParameters.LambdaFunctionParameters.InvocationType": `must be REQUEST_RESPONSE or FIRE_AND_FORGET, not "Event"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
}

// TestJSONArray checks the batch array: payloads as they are, text as JSON strings.
func TestJSONArray(t *testing.T) {
	for _, tc := range []struct {
		payloads []string
		ownJSON  bool
		want     string
	}{
		{[]string{`{"a":1}`}, false, `[{"a":1}]`},
		{[]string{`{"a":1}`, `Hello, "you"`, ``, `[1, 2]`, `"s"`}, false, `[{"a":1},"Hello, \"you\"","",[1, 2],"s"]`},
		{[]string{`{"a":1}`, `{"b":2}`}, true, `[{"a":1},{"b":2}]`},
		{nil, false, `[]`},
	} {
		raws := make([]json.RawMessage, len(tc.payloads))
		for i, p := range tc.payloads {
			raws[i] = json.RawMessage(p)
		}
		if got := string(awsclient.JSONArray(raws, tc.ownJSON)); got != tc.want {
			t.Errorf("JSONArray(%q, %v) = %s, want %s", tc.payloads, tc.ownJSON, got, tc.want)
		}
	}
}
