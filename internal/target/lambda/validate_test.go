package lambda

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

const fnARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"

func TestValidateTarget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint string
		params   string
		want     []plugin.FieldError
	}{
		{"unqualified, no parameters", fnARN, ``, nil},
		{"alias", fnARN + ":live", `{"LambdaFunctionParameters":{"InvocationType":"FIRE_AND_FORGET"}}`, nil},
		{"version", fnARN + ":7", `{"LambdaFunctionParameters":{"InvocationType":"REQUEST_RESPONSE"}}`, nil},
		{"$LATEST", fnARN + ":$LATEST", `{"InputTemplate":"x","LambdaFunctionParameters":{}}`, nil},
		{"GovCloud", "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", ``, nil},
		{"not an ARN", "orders", ``, []plugin.FieldError{
			{Field: "Target", Message: `ARN "orders": prefix must be "arn:"`}}},
		{"other service", "arn:aws:sqs:us-east-1:123456789012:function:f", ``, []plugin.FieldError{
			{Field: "Target", Message: `ARN service "sqs" is not "lambda"`}}},
		{"no region nor account", "arn:aws:lambda:::function:f", ``, []plugin.FieldError{
			{Field: "Target", Message: `ARN region is missing: the lambda call is made in it`},
			{Field: "Target", Message: `ARN account is missing`}}},
		{"layer", "arn:aws:lambda:us-east-1:123456789012:layer:l:1", ``, []plugin.FieldError{
			{Field: "Target", Message: `Lambda ARN resource "layer:l:1" is not function:NAME[:VERSION_OR_ALIAS]`}}},
		{"bad name and qualifier", "arn:aws:lambda:us-east-1:123456789012:function:a.b:", ``, []plugin.FieldError{
			{Field: "Target", Message: `Lambda function name "a.b" must be 1 to 64 letters, digits, '-' or '_'`},
			{Field: "Target", Message: `Lambda function qualifier "" must be $LATEST, a version or an alias (1 to 128 letters, digits, '-' or '_')`}}},
		{"bad invocation type", fnARN, `{"LambdaFunctionParameters":{"InvocationType":"Event"}}`, []plugin.FieldError{
			{Field: "TargetParameters.LambdaFunctionParameters.InvocationType", Message: `must be REQUEST_RESPONSE or FIRE_AND_FORGET, not "Event"`}}},
		{"invocation type not a string", fnARN, `{"LambdaFunctionParameters":{"InvocationType":1}}`, []plugin.FieldError{
			{Field: "TargetParameters.LambdaFunctionParameters.InvocationType", Message: `must be REQUEST_RESPONSE or FIRE_AND_FORGET, not 1`}}},
		{"unknown member field", fnARN, `{"LambdaFunctionParameters":{"Qualifier":"live","InvocationType":"FIRE_AND_FORGET"}}`, []plugin.FieldError{
			{Field: "TargetParameters.LambdaFunctionParameters.Qualifier", Message: `unknown field; LambdaFunctionParameters has only InvocationType`}}},
		{"member not an object", fnARN, `{"LambdaFunctionParameters":"FIRE_AND_FORGET"}`, []plugin.FieldError{
			{Field: "TargetParameters.LambdaFunctionParameters", Message: `must be an object with InvocationType`}}},
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
		{fnARN, nil},
		{fnARN + ":live", nil},
		{"arn:aws:lambda:us-east-1:12345:function:f", []plugin.FieldError{
			{Field: "Enrichment", Message: `ARN "arn:aws:lambda:us-east-1:12345:function:f": account "12345" must be 12 digits`}}},
	} {
		if diff := cmp.Diff(tc.want, EnricherSpec.Validate(plugin.Check{Endpoint: tc.endpoint})); diff != "" {
			t.Errorf("Validate(%s) (-want +got):\n%s", tc.endpoint, diff)
		}
	}
}

// TestPipeValidate checks that a pipe definition's validation (the API's CreatePipe and `sluice run`)
// reports the plugin's problems by field.
func TestPipeValidate(t *testing.T) {
	d, err := pipe.Decode([]byte(`{"Name":"p","Source":"smk://127.0.0.1:9092","RoleArn":"arn:aws:iam::123456789012:role/r",
		"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t"}},
		"Enrichment":"arn:aws:lambda:us-east-1:123456789012:function:bad.name",
		"Target":"` + fnARN + `","TargetParameters":{"LambdaFunctionParameters":{"InvocationType":"Event"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	d.SetDefaults()
	got := map[string]string{}
	for _, fe := range d.Validate() {
		got[fe.Field] = fe.Message
	}
	want := map[string]string{
		"Enrichment": `Lambda function name "bad.name" must be 1 to 64 letters, digits, '-' or '_'`,
		"TargetParameters.LambdaFunctionParameters.InvocationType": `must be REQUEST_RESPONSE or FIRE_AND_FORGET, not "Event"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
}
