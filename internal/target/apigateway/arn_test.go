package apigateway

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

func TestParseMethodARN(t *testing.T) {
	tests := []struct {
		arn     string
		want    methodARN
		wantErr bool
	}{
		{arn: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/orders/*/items",
			want: methodARN{partition: "aws", region: "eu-west-1", account: "123456789012", api: "a1b2c3d4e5", stage: "prod", method: "POST", path: "orders/*/items"}},
		{arn: "arn:aws:execute-api:us-east-1:123456789012:abc/dev/GET",
			want: methodARN{partition: "aws", region: "us-east-1", account: "123456789012", api: "abc", stage: "dev", method: "GET"}},
		{arn: "arn:aws-cn:execute-api:cn-north-1:123456789012:abc/v1/*/x",
			want: methodARN{partition: "aws-cn", region: "cn-north-1", account: "123456789012", api: "abc", stage: "v1", method: "*", path: "x"}},
		{arn: "arn:aws:lambda:us-east-1:123456789012:function:f", wantErr: true},
		{arn: "arn:aws:execute-api:us-east-1:123456789012:abc/dev", wantErr: true},
		{arn: "arn:aws:execute-api:us-east-1:123456789012:abc/dev/FETCH/x", wantErr: true},
		{arn: "arn:aws:execute-api:us-east-1:1234:abc/dev/GET/x", wantErr: true},
		{arn: "arn:aws:execute-api:US_EAST:123456789012:abc/dev/GET/x", wantErr: true},
		{arn: "arn:aws:execute-api:us-east-1:123456789012:abc/dev/GET/a//b", wantErr: true},
		{arn: "arn:aws:execute-api:us-east-1:123456789012:abc/dev/GET/a?b=c", wantErr: true},
		{arn: "arn:aws:execute-api:us-east-1:123456789012:a-b/dev/GET/x", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseMethodARN(tc.arn)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseMethodARN(%s) error = %v, want error %v", tc.arn, err, tc.wantErr)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("parseMethodARN(%s) = %+v, want %+v", tc.arn, got, tc.want)
		}
	}
}

// TestInvokeURL: the public invoke URL, or the operator's AWS_ENDPOINT_URL_EXECUTE_API (read through the
// SDK's configuration sources), never the general endpoint.
func TestInvokeURL(t *testing.T) {
	a, err := parseMethodARN("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/POST/orders")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env, general, want string
	}{
		{name: "aws", want: "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod"},
		{name: "general endpoint ignored", general: "http://127.0.0.1:5055", want: "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod"},
		{name: "override", env: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080/prod"},
		{name: "override with base path", env: "http://127.0.0.1:8080/restapis", want: "http://127.0.0.1:8080/restapis/prod"},
		{name: "localstack host", env: "http://{apiId}.execute-api.localhost.localstack.cloud:4566", want: "http://a1b2c3.execute-api.localhost.localstack.cloud:4566/prod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL_EXECUTE_API", tc.env)
			t.Setenv("AWS_ENDPOINT_URL", tc.general)
			t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
			cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-1"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.general != "" && aws.ToString(cfg.BaseEndpoint) != tc.general {
				t.Fatalf("BaseEndpoint = %q", aws.ToString(cfg.BaseEndpoint))
			}
			got, err := invokeURL(context.Background(), cfg, a)
			if err != nil {
				t.Fatalf("invokeURL: %v", err)
			}
			if got != tc.want {
				t.Errorf("invokeURL = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := overrideURL("ftp://x", a); err == nil {
		t.Error("overrideURL(ftp://x) succeeded")
	}
}
