// Package awstest points AWS targets' tests at the AWS emulator (moto) that the test bed runs
// (scripts/moto/ctl.sh, exported as SLUICE_AWS_ENDPOINT by `make test` and the developer's env script).
// Tests skip when it is not configured, and fail instead when SLUICE_AWS_REQUIRED=1, so that CI cannot
// pass by skipping (kafkatest.AWSEndpoint).
//
// The emulator accepts any access key; with the static credentials used here every call is in account
// Account. It lets any role be assumed, existing or not, and an assumed role's calls are made in the
// role's account: give pipes RoleArn(name) so that what they create is in Account too, where the test
// reads it back.
package awstest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// The emulator's account and the region the tests use.
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// Endpoint returns the emulator's URL, skipping the test when it is not configured.
func Endpoint(t testing.TB) string {
	t.Helper()
	return kafkatest.AWSEndpoint(t)
}

// Credentials are the static host credentials the tests use against the emulator.
func Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("test", "test", "")
}

// Options returns the operator options of a Sluice pointed at the emulator: its endpoint, the static
// test credentials as the host's, pipe roles assumed, region Region.
func Options(t testing.TB) awsclient.Options {
	t.Helper()
	return awsclient.Options{Endpoint: Endpoint(t), AssumeRole: true, Region: Region, Credentials: Credentials()}
}

// Provider returns a Provider with Options(t), the one to give plugin.Env.AWS in a test:
// env.AWS = awstest.Provider(t).For(pipeName, awstest.RoleArn("x"), sandbox.Unrestricted()).
func Provider(t testing.TB) *awsclient.Provider {
	t.Helper()
	return awsclient.New(Options(t))
}

// Config returns the host's configuration against the emulator in region ("" is Region), for a test's
// own calls: creating queues and streams, reading back what a pipe delivered. The SDK retries as usual.
func Config(t testing.TB, region string) aws.Config {
	t.Helper()
	if region == "" {
		region = Region
	}
	return aws.Config{
		Region:       region,
		Credentials:  Credentials(),
		BaseEndpoint: aws.String(Endpoint(t)),
		// The client Sluice's own calls use, so that the tests' calls do not lose the SDK's race
		// either (awsclient.HTTPClient).
		HTTPClient: awsclient.HTTPClient(nil),
	}
}

// RoleArn returns the ARN of a role named name in Account.
func RoleArn(name string) string { return "arn:aws:iam::" + Account + ":role/" + name }
