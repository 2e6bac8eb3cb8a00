package secret

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/sluicehq/sluice/internal/awsclient"
	"github.com/sluicehq/sluice/internal/awsid"
)

// awsClient is a Resolver's Secrets Manager client, built when the first Secrets Manager ARN is resolved
// and not before: loading the AWS configuration reads the shared config files, and the default credential
// chain may end at the EC2 instance metadata service, which a pipe with only file: and env: references
// must never reach (on a machine outside EC2 that is a connection to a link-local address that times out).
type awsClient struct {
	mu     sync.Mutex
	client *secretsmanager.Client
	// loads counts the AWS configurations loaded, for tests.
	loads int
}

// get returns the client, building it from r's settings on first use. A failure is not kept, so that
// the next ARN tries again.
func (a *awsClient) get(ctx context.Context, r *Resolver) (*secretsmanager.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		return a.client, nil
	}
	region := r.Region
	if region == "" {
		region = awsid.DefaultRegion
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region), config.WithLogger(awsclient.SDKLogger(r.Logger))}
	switch {
	case r.Credentials != nil:
		opts = append(opts, config.WithCredentialsProvider(r.Credentials))
	case r.AWSEndpoint != "":
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	a.loads++
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if r.AWSEndpoint != "" {
		// On the configuration, not the client, so that AWS_ENDPOINT_URL_SECRETS_MANAGER still wins
		// for this service, as it does for the pipes' AWS calls (internal/awsclient).
		cfg.BaseEndpoint = aws.String(r.AWSEndpoint)
	}
	cfg.HTTPClient = awsclient.HTTPClient(cfg.HTTPClient)
	a.client = secretsmanager.NewFromConfig(cfg)
	return a.client, nil
}
