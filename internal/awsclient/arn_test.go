package awsclient

import (
	"errors"
	"strings"
	"testing"
)

func TestParseARN(t *testing.T) {
	cases := []struct {
		in        string
		want      ARN
		wantField string // "" when valid
	}{
		{in: "arn:aws:sqs:eu-west-1:123456789012:orders", want: ARN{"aws", "sqs", "eu-west-1", "123456789012", "orders"}},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f:prod", want: ARN{"aws", "lambda", "us-east-1", "123456789012", "function:f:prod"}},
		{in: "arn:aws-cn:events:cn-north-1:123456789012:event-bus/default", want: ARN{"aws-cn", "events", "cn-north-1", "123456789012", "event-bus/default"}},
		{in: "arn:aws:s3:::bucket/key", want: ARN{"aws", "s3", "", "", "bucket/key"}},
		{in: "arn:aws:iam::123456789012:role/r", want: ARN{"aws", "iam", "", "123456789012", "role/r"}},
		{in: "", wantField: "prefix"},
		{in: "https://sqs.us-east-1.amazonaws.com/1/q", wantField: "prefix"},
		{in: "arn:aws:sqs:us-east-1:123456789012", wantField: "resource"},
		{in: "arn:aws:sqs:us-east-1:123456789012:", wantField: "resource"},
		{in: "arn::sqs:us-east-1:123456789012:q", wantField: "partition"},
		{in: "arn:AWS:sqs:us-east-1:123456789012:q", wantField: "partition"},
		{in: "arn:aws::us-east-1:123456789012:q", wantField: "service"},
		{in: "arn:aws:sqs:US-EAST-1:123456789012:q", wantField: "region"},
		{in: "arn:aws:sqs:evil.example.com#:123456789012:q", wantField: "region"},
		{in: "arn:aws:sqs:-us:123456789012:q", wantField: "region"},
		{in: "arn:aws:sqs:us-east-1:1234:q", wantField: "account"},
		{in: "arn:aws:sqs:us-east-1:12345678901x:q", wantField: "account"},
	}
	for _, c := range cases {
		got, err := ParseARN(c.in)
		if c.wantField == "" {
			if err != nil || got != c.want || got.String() != c.in {
				t.Errorf("ParseARN(%s) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
			continue
		}
		var ae *ARNError
		if !errors.As(err, &ae) || ae.Field != c.wantField || !errors.Is(err, ErrBadARN) {
			t.Errorf("ParseARN(%s) error = %v; want an *ARNError on field %s", c.in, err, c.wantField)
			continue
		}
		if !strings.Contains(err.Error(), c.wantField) || !strings.Contains(err.Error(), c.in) {
			t.Errorf("ParseARN(%s) error %q does not name the ARN and the field %s", c.in, err, c.wantField)
		}
	}
}

func FuzzParseARN(f *testing.F) {
	for _, s := range []string{"arn:aws:sqs:eu-west-1:123456789012:orders", "arn:aws:s3:::b", "arn:", "arn:a:b:c:d:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseARN(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("ParseARN(%q).String() = %q", s, a.String())
		}
		if a.Region != "" && !isLabel(a.Region) {
			t.Fatalf("ParseARN(%q) accepted region %q", s, a.Region)
		}
	})
}
