package secret

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/logging"

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
	opts := []func(*config.LoadOptions) error{config.WithRegion(region), config.WithLogger(sdkLogger{log: r.Logger})}
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
	a.client = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if r.AWSEndpoint != "" {
			o.BaseEndpoint = aws.String(r.AWSEndpoint)
		}
	})
	return a.client, nil
}

// sdkLogger routes the AWS SDK's log messages (smithy-go's logging.Logger) to slog, so that they are JSON
// records like every other line instead of "SDK 2006/01/02 ..." text on standard error. The SDK logs its
// warnings (such as falling back to IMDSv1) as WARN and its request/response traces as DEBUG.
type sdkLogger struct {
	log *slog.Logger
	// ctx is the context the SDK hands to WithContext for one operation; holding it is the shape of
	// smithy-go's ContextLogger, and it only travels to the slog handler.
	ctx context.Context
}

var _ logging.ContextLogger = sdkLogger{}

// Logf logs one SDK message at the slog level of its classification.
func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	if l.log == nil {
		return
	}
	ctx := l.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, fmt.Sprintf(format, v...), "component", "aws-sdk")
}

// WithContext returns the logger for one SDK operation.
func (l sdkLogger) WithContext(ctx context.Context) logging.Logger {
	l.ctx = ctx
	return l
}
