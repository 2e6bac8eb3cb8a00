package awsid

import "testing"

func TestPipeArn(t *testing.T) {
	cases := []struct {
		region, account, name, want string
	}{
		{"eu-west-1", "123456789012", "orders", "arn:aws:pipes:eu-west-1:123456789012:pipe/orders"},
		{"", "", "orders", "arn:aws:pipes:us-east-1:000000000000:pipe/orders"},
		{"eu-west-1", "123456789012", "", "arn:aws:pipes:eu-west-1:123456789012:pipe/"},
	}
	for _, c := range cases {
		if got := PipeArn(c.region, c.account, c.name); got != c.want {
			t.Errorf("PipeArn(%q, %q, %q) = %q, want %q", c.region, c.account, c.name, got, c.want)
		}
	}
}
