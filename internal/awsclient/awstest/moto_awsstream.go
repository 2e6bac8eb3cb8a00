package awstest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/sluicehq/sluice/internal/kafkatest"
)

// MotoConfig returns an AWS configuration for the emulator at SLUICE_AWS_ENDPOINT (skipping the test
// like kafkatest.AWSEndpoint when it is not there): static test credentials, region us-east-1.
func MotoConfig(t testing.TB) aws.Config {
	t.Helper()
	return ConfigAt(kafkatest.AWSEndpoint(t))
}

// ConfigAt is MotoConfig for an explicit endpoint (an Interceptor's URL).
func ConfigAt(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		// The SDK's own retries would hide the faults tests inject: the runtime retries.
		RetryMaxAttempts: 1,
	}
}
