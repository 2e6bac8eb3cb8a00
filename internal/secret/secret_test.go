package secret

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestResolveFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sasl.json")
	if err := os.WriteFile(path, []byte(`{"username":"u","password":"p"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, MaxSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_TEST_SECRET", `{"username":"e","password":"q"}`)
	cases := []struct {
		ref     string
		want    string
		wantErr error
	}{
		{"file://" + path, `{"username":"u","password":"p"}`, nil},
		{"file://localhost" + path, `{"username":"u","password":"p"}`, nil},
		{"file://" + filepath.Join(dir, "missing.json"), "", ErrNotFound},
		{"file://" + big, "", ErrMalformed},
		{"file://", "", ErrBadReference},
		{"env:SLUICE_TEST_SECRET", `{"username":"e","password":"q"}`, nil},
		{"env:SLUICE_TEST_SECRET_UNSET", "", ErrNotFound},
		{"env:", "", ErrNotFound},
		{"https://example.invalid/secret", "", ErrBadReference},
		{"arn:aws:s3:::bucket/key", "", ErrBadReference},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:", "", ErrBadReference},
	}
	var r Resolver
	for _, c := range cases {
		got, err := r.Resolve(context.Background(), c.ref)
		if string(got) != c.want || !errors.Is(err, c.wantErr) {
			t.Errorf("Resolve(%s) = %q, %v; want %q, %v", c.ref, got, err, c.want, c.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), strings.TrimSuffix(c.ref, "/secret")) {
			t.Errorf("Resolve(%s) error %q does not name the reference", c.ref, err)
		}
	}
}

// awsEndpoint returns the local Secrets Manager (moto) the test bed started, skipping the test when
// there is none unless SLUICE_AWS_REQUIRED is set.
func awsEndpoint(t *testing.T) string {
	t.Helper()
	ep := os.Getenv("SLUICE_AWS_ENDPOINT")
	if ep == "" {
		if os.Getenv("SLUICE_AWS_REQUIRED") != "" {
			t.Fatal("SLUICE_AWS_REQUIRED is set but SLUICE_AWS_ENDPOINT is empty")
		}
		t.Skip("no local Secrets Manager: SLUICE_AWS_ENDPOINT is not set")
	}
	return ep
}

func TestResolveSecretsManagerARN(t *testing.T) {
	ep := awsEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sm := secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(ep),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	name := "sluice-secret-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000")
	value := `{"username":"alice","password":"from-moto"}`
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("creating secret in moto at %s: %v", ep, err)
	}
	t.Cleanup(func() {
		_, _ = sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	r := &Resolver{AWSEndpoint: ep}
	got, err := r.Resolve(ctx, *out.ARN)
	if err != nil || string(got) != value {
		t.Fatalf("Resolve(%s) = %q, %v; want %q", *out.ARN, got, err, value)
	}
	if ba, err := ParseBasicAuth(got); err != nil || ba.Username != "alice" {
		t.Fatalf("ParseBasicAuth(resolved) = %v, %v", ba, err)
	}
	missing := strings.Replace(*out.ARN, name, name+"-missing", 1)
	if _, err := r.Resolve(ctx, missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Resolve(%s) error = %v, want ErrNotFound", missing, err)
	}
}

// TestSecretsManagerEndpointVariable: AWS_ENDPOINT_URL_SECRETS_MANAGER wins over AWSEndpoint
// (--aws-endpoint) for Secrets Manager, as per-service variables do for the pipes' AWS calls.
func TestSecretsManagerEndpointVariable(t *testing.T) {
	ep := awsEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sm := secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ep),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	name := "sluice-secret-env-" + time.Now().Format("150405.000000")
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"k":"v"}`)})
	if err != nil {
		t.Fatalf("creating secret in moto at %s: %v", ep, err)
	}
	t.Cleanup(func() {
		_, _ = sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", ep)
	r := &Resolver{AWSEndpoint: "http://127.0.0.1:1"} // nothing listens there
	if got, err := r.Resolve(ctx, *out.ARN); err != nil || string(got) != `{"k":"v"}` {
		t.Fatalf("Resolve(%s) = %q, %v; want the secret through AWS_ENDPOINT_URL_SECRETS_MANAGER", *out.ARN, got, err)
	}
}
