package kafkatest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestAWSEndpoint proves the Secrets Manager emulator: a secret made from
// one of the PKI's JSON files reads back byte for byte by its ARN.
func TestAWSEndpoint(t *testing.T) {
	endpoint := AWSEndpoint(t)
	p := PKI(t)
	want, err := os.ReadFile(p.Secrets.MTLSPBES1MD5DES)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(TopicName(t)),
		SecretString: aws.String(string(want)),
	})
	if err != nil {
		t.Fatalf("CreateSecret at %s: %v", endpoint, err)
	}
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN})
	if err != nil {
		t.Fatalf("GetSecretValue(%s): %v", aws.ToString(created.ARN), err)
	}
	if aws.ToString(got.SecretString) != string(want) {
		t.Errorf("GetSecretValue(%s) = %q, want the content of %s", aws.ToString(created.ARN), aws.ToString(got.SecretString), p.Secrets.MTLSPBES1MD5DES)
	}
}
