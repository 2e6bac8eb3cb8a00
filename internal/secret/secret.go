// Package secret resolves the secret references of a pipe definition and parses the Secrets Manager
// JSON formats EventBridge Pipes uses for self-managed Kafka:
//
//   - SASL (BasicAuth, SaslScram256Auth, SaslScram512Auth): {"username": "...", "password": "..."}
//   - mTLS (ClientCertificateTlsAuth): {"certificate": "<PEM chain>", "privateKey": "<PKCS#8 PEM>",
//     "privateKeyPassword": "..."}; the key may be plain or encrypted (PBES1, the PKCS#12 schemes,
//     and PBES2, which Pipes itself does not accept)
//   - ServerRootCaCertificate: {"certificate": "<PEM>"}
//
// A reference is one of:
//
//   - a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), read with GetSecretValue
//     in the ARN's region, from Resolver.AWSEndpoint when set (a local Secrets Manager such as moto,
//     with static test credentials unless others are given) or from AWS with the default credential chain;
//   - file:///absolute/path.json (or file://localhost/absolute/path.json), confined to Resolver.Files when
//     that is set (the operator's file roots under sluice serve: a path outside them, or a symbolic link
//     leaving them, is refused with an error wrapping sandbox.ErrOutsideRoots);
//   - env:VARIABLE, the variable's value.
//
// Secrets never appear in errors: errors name the reference, the member and the cause only.
package secret

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// MaxSize is the largest secret accepted, Secrets Manager's own limit.
const MaxSize = 65536

// Resolver resolves secret references. The zero value resolves file:// and env: references and ARNs
// against AWS with the default credential chain. A Resolver is safe for concurrent use.
type Resolver struct {
	// Files confines file:// references to the operator's file roots; nil reads any file the process
	// can (sluice run, whose definition the operator wrote).
	Files *sandbox.Files
	// AWSEndpoint is the base endpoint of the Secrets Manager API (for example http://127.0.0.1:5000 for
	// a local moto server); empty means AWS itself.
	AWSEndpoint string
	// Region is used when an ARN does not name one; default us-east-1.
	Region string
	// Credentials overrides the credentials; when nil and AWSEndpoint is set, static test credentials
	// are used, and when both are empty the SDK's default chain is.
	Credentials aws.CredentialsProvider
	// Logger receives the AWS SDK's log messages (its warnings at Warn, the rest at Debug); nil discards them.
	Logger *slog.Logger

	aws awsClient // built on the first ARN, so that file: and env: references never load an AWS configuration
}

var _ plugin.SecretResolver = (*Resolver)(nil)

// Resolve returns the secret's text (for Secrets Manager, SecretString, or SecretBinary when the secret
// has no string).
func (r *Resolver) Resolve(ctx context.Context, ref string) ([]byte, error) {
	switch {
	case strings.HasPrefix(ref, "arn:"):
		return r.resolveARN(ctx, ref)
	case strings.HasPrefix(ref, "file://"):
		return r.resolveFile(ref)
	case strings.HasPrefix(ref, "env:"):
		name := strings.TrimPrefix(ref, "env:")
		v, ok := os.LookupEnv(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("resolving secret %s: %w: environment variable %q is not set", ref, ErrNotFound, name)
		}
		return checkSize(ref, []byte(v))
	}
	return nil, fmt.Errorf("resolving secret %q: %w: want a Secrets Manager ARN, file:///path or env:VARIABLE", ref, ErrBadReference)
}

func checkSize(ref string, b []byte) ([]byte, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("resolving secret %s: %w: %d bytes, more than %d", ref, ErrMalformed, len(b), MaxSize)
	}
	return b, nil
}

func (r *Resolver) resolveFile(ref string) ([]byte, error) {
	path, err := sandbox.FileURLPath(ref)
	if err != nil {
		return nil, fmt.Errorf("resolving secret %s: %w: %v", ref, ErrBadReference, err)
	}
	f, err := r.Files.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("resolving secret %s: %w: no file %s", ref, ErrNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("resolving secret %s: %w", ref, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("resolving secret %s: reading %s: %w", ref, path, err)
	}
	return checkSize(ref, b)
}

// arnRegion returns the region field of an ARN (arn:PARTITION:SERVICE:REGION:...), checking the service.
func arnRegion(ref string) (string, error) {
	parts := strings.SplitN(ref, ":", 7)
	if len(parts) < 7 || parts[2] != "secretsmanager" || parts[5] != "secret" || parts[6] == "" {
		return "", fmt.Errorf("resolving secret %s: %w: not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)",
			ref, ErrBadReference)
	}
	return parts[3], nil
}

func (r *Resolver) resolveARN(ctx context.Context, ref string) ([]byte, error) {
	region, err := arnRegion(ref)
	if err != nil {
		return nil, err
	}
	c, err := r.aws.get(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("resolving secret %s: %w", ref, err)
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref)}, func(o *secretsmanager.Options) {
		if region != "" {
			o.Region = region
		}
	})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("resolving secret %s: %w", ref, ErrNotFound)
		}
		return nil, fmt.Errorf("resolving secret %s: %w", ref, err)
	}
	if out.SecretString != nil {
		return checkSize(ref, []byte(*out.SecretString))
	}
	if out.SecretBinary != nil {
		return checkSize(ref, out.SecretBinary)
	}
	return nil, fmt.Errorf("resolving secret %s: %w: the secret has no value", ref, ErrMalformed)
}
