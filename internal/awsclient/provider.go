package awsclient

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// Options are the operator's AWS settings, from the flags of serve, run and dev.
type Options struct {
	// Endpoint is one base endpoint URL for every service (--aws-endpoint), such as moto's or
	// LocalStack's; "" leaves endpoints to the SDK, which honours AWS_ENDPOINT_URL and
	// AWS_ENDPOINT_URL_<SERVICE>.
	Endpoint string
	// AssumeRole makes a pipe's calls with its RoleArn's credentials, assumed through STS
	// (--assume-pipe-role, true by default in the commands); false uses the host's credentials.
	AssumeRole bool
	// Region is the default region, for calls whose ARN names none and for the STS calls that assume
	// roles; "" takes the SDK's configured region (AWS_REGION, the profile), else awsid.DefaultRegion.
	Region string
	// Credentials replaces the default credential chain as the host's credentials (tests, embedding);
	// nil uses the chain.
	Credentials aws.CredentialsProvider
	// RoleDuration is how long assumed-role credentials are asked to last (STS DurationSeconds); 0 is
	// the SDK's default, 15 minutes.
	RoleDuration time.Duration
	// Logger receives the SDK's messages (its warnings, and request traces when enabled) as JSON
	// records; nil discards them.
	Logger *slog.Logger
}

// Provider hands out the aws.Config of each pipe. It holds the base configuration (loaded once, on
// first use) and the assumed-role credentials of every role a pipe used. It is safe for concurrent use.
type Provider struct {
	opts Options

	mu      sync.Mutex
	base    *aws.Config
	trusted map[string]bool // host:port of the endpoints the operator named, dialled outside the egress policy
	roles   map[roleKey]*aws.CredentialsCache
	// loads counts the base configurations loaded, for tests.
	loads int
}

// roleKey identifies one assumed-role session: the same role assumed for two pipes gives two
// sessions, each named after its pipe.
type roleKey struct{ arn, session string }

// New returns a Provider; nothing is loaded or dialled until a pipe asks for a configuration.
func New(o Options) *Provider {
	return &Provider{opts: o, roles: map[roleKey]*aws.CredentialsCache{}}
}

// For returns the plugin.Env.AWS function of one pipe (runtime.Deps.AWS is this method value): the aws.Config for calls in a region ("" is the
// default region), with the pipe's credentials (roleArn assumed unless Options.AssumeRole is false or
// roleArn is ""), the operator's endpoint, and an HTTP client under sb's egress policy. The function
// loads the base configuration on its first call; a failure is returned and tried again next time.
func (p *Provider) For(pipeName, roleArn string, sb sandbox.Policy) plugin.AWSConfig {
	session := SessionName(pipeName)
	var (
		once   sync.Once
		client aws.HTTPClient
	)
	return func(ctx context.Context, region string) (aws.Config, error) {
		base, trusted, err := p.baseConfig(ctx)
		if err != nil {
			return aws.Config{}, err
		}
		cfg := base.Copy()
		if region != "" {
			cfg.Region = region
		}
		if p.opts.AssumeRole && roleArn != "" {
			cfg.Credentials = p.roleCredentials(base, roleArn, session)
		}
		once.Do(func() { client = newHTTPClient(sb.Egress, trusted) })
		if client != nil {
			cfg.HTTPClient = client
		}
		// The runtime retries (with backoff, lowering its concurrency on throttling): SDK retries
		// would hide throttling from it and multiply the attempts.
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
		return cfg, nil
	}
}

// baseConfig returns the host's configuration, loading it on first use. A failure is not kept.
func (p *Provider) baseConfig(ctx context.Context) (aws.Config, map[string]bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.base != nil {
		return *p.base, p.trusted, nil
	}
	opts := []func(*config.LoadOptions) error{config.WithLogger(SDKLogger(p.opts.Logger))}
	if p.opts.Region != "" {
		opts = append(opts, config.WithRegion(p.opts.Region))
	}
	if p.opts.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(p.opts.Credentials))
	}
	p.loads++
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = awsid.DefaultRegion
	}
	if p.opts.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(p.opts.Endpoint)
	}
	// One client (one connection pool) for the calls of every pipe without an egress policy, and
	// for the STS calls that assume roles.
	cfg.HTTPClient = HTTPClient(cfg.HTTPClient)
	trusted, err := trustedEndpoints(p.opts.Endpoint, environ())
	if err != nil {
		return aws.Config{}, nil, err
	}
	p.base, p.trusted = &cfg, trusted
	return cfg, trusted, nil
}

// roleCredentials returns the cached credentials of roleArn for one session, creating the cache on
// first use. The STS client is the host's: base credentials, base HTTP client, default region and the
// operator's endpoint (or AWS_ENDPOINT_URL_STS).
func (p *Provider) roleCredentials(base aws.Config, roleArn, session string) *aws.CredentialsCache {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := roleKey{roleArn, session}
	if c, ok := p.roles[k]; ok {
		return c
	}
	assume := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), roleArn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = session
		if p.opts.RoleDuration > 0 {
			o.Duration = p.opts.RoleDuration
		}
	})
	c := aws.NewCredentialsCache(assume)
	p.roles[k] = c
	return c
}

// SessionName turns a pipe name into an STS role session name: the characters STS allows
// ([\w+=,.@-]) kept, any other replaced by '-', at most 64 characters, at least 2 ("sluice" for an
// empty name). A pipe name (letters, digits, '.', '-', '_', at most 64) is its own session name.
func SessionName(pipeName string) string {
	var b strings.Builder
	for _, r := range pipeName {
		if b.Len() == 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("_+=,.@-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	switch b.Len() {
	case 0:
		return "sluice"
	case 1:
		return "sluice-" + b.String()
	}
	return b.String()
}
