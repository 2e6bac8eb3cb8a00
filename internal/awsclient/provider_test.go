package awsclient

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/sandbox"
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

// TestLazyLoad: nothing is loaded until a pipe asks for a configuration, and only once.
func TestLazyLoad(t *testing.T) {
	p := New(Options{Region: "eu-central-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	get := p.For("p", "", sandbox.Unrestricted())
	if p.loads != 0 {
		t.Fatalf("loads after For = %d, want 0", p.loads)
	}
	for _, region := range []string{"", "ap-south-1"} {
		cfg, err := get(t.Context(), region)
		if err != nil {
			t.Fatal(err)
		}
		want := region
		if want == "" {
			want = "eu-central-1"
		}
		// No egress policy: the SDK's default client, behind HTTPClient.
		rb, ok := cfg.HTTPClient.(readBodies)
		if ok {
			_, ok = rb.next.(*awshttp.BuildableClient)
		}
		if cfg.Region != want || !ok || cfg.BaseEndpoint != nil {
			t.Errorf("config for %q: region %q, HTTP client %T, endpoint %v; want region %s, SDK defaults behind HTTPClient", region, cfg.Region, cfg.HTTPClient, cfg.BaseEndpoint, want)
		}
		if _, ok := cfg.Retryer().(aws.NopRetryer); !ok {
			t.Errorf("config for %q: retryer %T, want aws.NopRetryer (the runtime retries)", region, cfg.Retryer())
		}
	}
	cfg, err := p.For("q", "", sandbox.Policy{Egress: sandbox.NewEgress(nil, nil)})(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if rb, ok := cfg.HTTPClient.(readBodies); !ok {
		t.Errorf("config under an egress policy: HTTP client %T, want the policy's client behind HTTPClient", cfg.HTTPClient)
	} else if _, sdk := rb.next.(*awshttp.BuildableClient); sdk {
		t.Errorf("config under an egress policy: HTTP client %T, want the frozen client of the policy", rb.next)
	}
	if p.loads != 1 {
		t.Fatalf("loads = %d, want 1", p.loads)
	}
}

// TestDefaultRegion: without Options.Region, the SDK's configured region, else awsid.DefaultRegion.
func TestDefaultRegion(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("a", "b", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	cfg, err := New(Options{Credentials: creds}).For("p", "", sandbox.Unrestricted())(t.Context(), "")
	if err != nil || cfg.Region != awsid.DefaultRegion {
		t.Fatalf("region without any = %q, %v; want %s", cfg.Region, err, awsid.DefaultRegion)
	}
	t.Setenv("AWS_REGION", "sa-east-1")
	cfg, err = New(Options{Credentials: creds}).For("p", "", sandbox.Unrestricted())(t.Context(), "")
	if err != nil || cfg.Region != "sa-east-1" {
		t.Fatalf("region from AWS_REGION = %q, %v; want sa-east-1", cfg.Region, err)
	}
}
