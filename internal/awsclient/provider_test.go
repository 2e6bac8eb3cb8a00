package awsclient

import (
	"strings"
	"testing"
)

func TestSessionName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"orders-to-sqs", "orders-to-sqs"},
		{"a.b_c-D9", "a.b_c-D9"},
		{"", "sluice"},
		{"x", "sluice-x"},
		{"with space/and:colon", "with-space-and-colon"},
		{"héllo", "h-llo"},
		{strings.Repeat("p", 70), strings.Repeat("p", 64)},
	}
	for _, c := range cases {
		if got := SessionName(c.in); got != c.want {
			t.Errorf("SessionName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTrustedEndpoints(t *testing.T) {
	got, err := trustedEndpoints("http://127.0.0.1:5055", []string{
		"AWS_ENDPOINT_URL_SQS=http://LocalStack:4566",
		"AWS_ENDPOINT_URL=https://aws.internal.example",
		"AWS_ENDPOINT_URL_STS=",
		"AWS_REGION=eu-west-1",
		"NOT_AWS_ENDPOINT_URL=http://other:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:5055", "localstack:4566", "aws.internal.example:443"}
	if len(got) != len(want) {
		t.Fatalf("trustedEndpoints = %v, want %v", got, want)
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("trustedEndpoints = %v, missing %s", got, w)
		}
	}
	for _, bad := range []string{"localhost:4566", "ftp://x", "http://"} {
		if _, err := trustedEndpoints(bad, nil); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("trustedEndpoints(%q) error = %v, want one naming it", bad, err)
		}
	}
	if _, err := trustedEndpoints("", []string{"AWS_ENDPOINT_URL_SQS=::bad"}); err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_SQS") {
		t.Errorf("trustedEndpoints with a bad variable: error = %v, want one naming the variable", err)
	}
}
