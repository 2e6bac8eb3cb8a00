package awstest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// PipeConfig returns the configuration a pipe's target gets (SDK retries off, the runtime retries),
// with the host's test credentials and endpoint (the emulator, or a FaultProxy's URL in front of it),
// for a test building a target directly.
func PipeConfig(t testing.TB, endpoint string) aws.Config {
	t.Helper()
	p := awsclient.New(awsclient.Options{Endpoint: endpoint, Region: Region, Credentials: Credentials()})
	cfg, err := p.For("test", "", sandbox.Unrestricted())(t.Context(), "")
	if err != nil {
		t.Fatalf("PipeConfig(%s): %v", endpoint, err)
	}
	return cfg
}
