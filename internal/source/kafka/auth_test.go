package kafka

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/secret"
)

func fileRef(path string) string { return "file://" + path }

// TestAuthModes consumes through every listener and authentication mode of the real broker.
func TestAuthModes(t *testing.T) {
	c := kafkatest.Real(t)
	l := kafkatest.RealListeners(t)
	pki := kafkatest.PKI(t)
	s := pki.Secrets
	ca := fileRef(s.RootCA)
	cases := []struct {
		name   string
		broker string
		auth   kafkaauth.Auth
	}{
		{"PLAINTEXT", l.Plaintext, kafkaauth.Auth{}},
		{"mTLS plain key", l.TLS, kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSPlain), RootCARef: ca}},
		{"mTLS PBES1 MD5-DES key", l.TLS, kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSPBES1MD5DES), RootCARef: ca}},
		{"mTLS PBES1 SHA1-DES key", l.TLS, kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSPBES1SHA1DES), RootCARef: ca}},
		{"mTLS PKCS#12 SHA1-3DES key", l.TLS, kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSPBES1SHA13DES), RootCARef: ca}},
		{"mTLS PBES2 key", l.TLS, kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSPBES2), RootCARef: ca}},
		{"SASL PLAIN", l.SASL, kafkaauth.Auth{Mechanism: kafkaauth.Plain, SecretRef: fileRef(s.Basic), RootCARef: ca}},
		{"SASL SCRAM-SHA-256", l.SASL, kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA256, SecretRef: fileRef(s.Scram256), RootCARef: ca}},
		{"SASL SCRAM-SHA-512", l.SASL, kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA512, SecretRef: fileRef(s.Scram512), RootCARef: ca}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topic := c.CreateTopic(t, 2)
			c.Produce(t, append(records(topic, 0, 0, 5), records(topic, 1, 0, 5)...)...)
			cfg := testConfig(t, c, topic)
			cfg.Brokers = []string{tc.broker}
			cfg.Auth = tc.auth
			cfg.Secrets = &secret.Resolver{}
			k := newSink()
			stop := start(t, newSource(t, cfg), k.handler)
			k.waitFor(t, 10, 60*time.Second)
			if err := stop(); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			checkContiguous(t, "partition 0", k.offsets[0], 0, 5)
			checkContiguous(t, "partition 1", k.offsets[1], 0, 5)
			if got := string(k.batches[0].Records[0].Event); !strings.Contains(got, `"bootstrapServers":"`+tc.broker+`"`) {
				t.Errorf("event %s does not name the bootstrap server %s", got, tc.broker)
			}
		})
	}
}

// failureCase is a configuration that New must refuse with a clear error.
type failureCase struct {
	name   string
	broker string
	topic  string // "" means an existing topic
	auth   kafkaauth.Auth
	want   []error  // every sentinel the error must wrap
	says   []string // text the error must contain besides the pipe and broker
	hidden []string // text it must not contain (secrets)
}

func checkFailure(t *testing.T, c *kafkatest.Cluster, tc failureCase) {
	t.Helper()
	topic := tc.topic
	if topic == "" {
		topic = c.CreateTopic(t, 1)
	}
	cfg := testConfig(t, c, topic)
	cfg.Brokers = []string{tc.broker}
	cfg.Auth = tc.auth
	cfg.Secrets = &secret.Resolver{}
	cfg.ConnectTimeout = 5 * time.Second
	begun := time.Now()
	_, err := New(context.Background(), cfg)
	if err == nil {
		t.Fatalf("New(%s) succeeded, want an error", tc.name)
	}
	msg := err.Error()
	t.Logf("New(%s) error (after %s): %s", tc.name, time.Since(begun).Round(time.Millisecond), msg)
	for _, w := range tc.want {
		if !errors.Is(err, w) {
			t.Errorf("New(%s) error does not wrap %q: %s", tc.name, w, msg)
		}
	}
	for _, s := range append([]string{cfg.Pipe, tc.broker}, tc.says...) {
		if !strings.Contains(msg, s) {
			t.Errorf("New(%s) error does not say %q: %s", tc.name, s, msg)
		}
	}
	for _, s := range tc.hidden {
		if strings.Contains(msg, s) {
			t.Errorf("New(%s) error contains the secret %q: %s", tc.name, s, msg)
		}
	}
}

// TestFailuresRealBroker: each way of misconfiguring a pipe against the real broker gives its own
// clear error naming the pipe, the broker and the cause.
func TestFailuresRealBroker(t *testing.T) {
	c := kafkatest.Real(t)
	l := kafkatest.RealListeners(t)
	s := kafkatest.PKI(t).Secrets
	ca := fileRef(s.RootCA)
	secrets := []string{kafkatest.PlainPassword, kafkatest.Scram256Password, kafkatest.Scram512Password, kafkatest.KeyPassword, kafkatest.WrongPassword}
	cases := []failureCase{
		{name: "missing topic", broker: l.Plaintext, topic: "sluice-no-such-topic", want: []error{ErrTopicNotFound}, says: []string{"sluice-no-such-topic"}},
		{name: "PLAIN bad password", broker: l.SASL, auth: kafkaauth.Auth{Mechanism: kafkaauth.Plain, SecretRef: fileRef(s.BasicWrongPassword), RootCARef: ca},
			want: []error{ErrAuthentication}, says: []string{"PLAIN", s.BasicWrongPassword}, hidden: secrets},
		{name: "SCRAM-256 bad password", broker: l.SASL, auth: kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA256, SecretRef: fileRef(s.Scram256WrongPassword), RootCARef: ca},
			want: []error{ErrAuthentication}, says: []string{"SCRAM-SHA-256"}, hidden: secrets},
		{name: "SCRAM-512 bad password", broker: l.SASL, auth: kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA512, SecretRef: fileRef(s.Scram512WrongPassword), RootCARef: ca},
			want: []error{ErrAuthentication}, says: []string{"SCRAM-SHA-512"}, hidden: secrets},
		{name: "untrusted broker certificate (other CA)", broker: l.SASL, auth: kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA512, SecretRef: fileRef(s.Scram512), RootCARef: fileRef(s.RootCAUntrusted)},
			want: []error{ErrUntrustedBroker}, says: []string{"ServerRootCaCertificate"}, hidden: secrets},
		{name: "untrusted broker certificate (system roots only)", broker: l.TLS, auth: kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSPlain)},
			want: []error{ErrUntrustedBroker}, says: []string{"ServerRootCaCertificate"}, hidden: secrets},
		{name: "client certificate from an untrusted CA", broker: l.TLS, auth: kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSUntrusted), RootCARef: ca},
			want: []error{ErrAuthentication}, says: []string{"client certificate"}, hidden: secrets},
		{name: "wrong key password", broker: l.TLS, auth: kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSWrongKeyPassword), RootCARef: ca},
			want: []error{ErrSecret, secret.ErrIncorrectPassword}, says: []string{"privateKeyPassword", s.MTLSWrongKeyPassword}, hidden: secrets},
		{name: "TLS against the plaintext listener", broker: l.Plaintext, auth: kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(s.MTLSPlain), RootCARef: ca},
			want: []error{ErrTLSMismatch}, hidden: secrets},
		{name: "plaintext against the TLS listener", broker: l.TLS, want: []error{ErrTLSMismatch}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkFailure(t, c, tc) })
	}
}

// TestFailures: the failures that need no real broker, on kfake.
func TestFailures(t *testing.T) {
	c := kafkatest.Kfake(t)
	pki := kafkatest.PKI(t)
	s := pki.Secrets
	ca := fileRef(s.RootCA)
	broker := c.Bootstrap[0]
	mtls := func(ref string) kafkaauth.Auth {
		return kafkaauth.Auth{Mechanism: kafkaauth.MTLS, SecretRef: fileRef(ref), RootCARef: ca}
	}
	hidden := []string{kafkatest.KeyPassword, kafkatest.WrongPassword, kafkatest.PlainPassword}
	cases := []failureCase{
		{name: "unreachable broker", broker: "127.0.0.1:1", topic: "t", want: []error{ErrBrokerUnreachable}, says: []string{"connection refused"}},
		{name: "missing topic", broker: broker, topic: "sluice-no-such-topic", want: []error{ErrTopicNotFound}, says: []string{"sluice-no-such-topic"}},
		{name: "wrong key password", broker: broker, auth: mtls(s.MTLSWrongKeyPassword),
			want: []error{ErrSecret, secret.ErrIncorrectPassword}, says: []string{"privateKeyPassword"}, hidden: hidden},
		{name: "key does not match certificate", broker: broker, auth: mtls(s.MTLSKeyMismatch),
			want: []error{ErrSecret, secret.ErrMalformed}, says: []string{"does not match"}, hidden: hidden},
		{name: "malformed mTLS secret", broker: broker, auth: mtls(s.MalformedMTLS), want: []error{ErrSecret, secret.ErrMalformed}, says: []string{"certificate"}, hidden: hidden},
		{name: "secret not JSON", broker: broker, auth: kafkaauth.Auth{Mechanism: kafkaauth.Plain, SecretRef: fileRef(s.MalformedJSON), RootCARef: ca},
			want: []error{ErrSecret, secret.ErrMalformed}, says: []string{"JSON"}, hidden: hidden},
		{name: "SASL secret without password", broker: broker, auth: kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA256, SecretRef: fileRef(s.MalformedBasic), RootCARef: ca},
			want: []error{ErrSecret, secret.ErrMalformed}, says: []string{"password"}, hidden: hidden},
		{name: "malformed root CA", broker: broker, auth: kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA256, SecretRef: fileRef(s.Scram256), RootCARef: fileRef(s.MalformedRootCA)},
			want: []error{ErrSecret, secret.ErrMalformed}, says: []string{"root CA"}, hidden: hidden},
		{name: "missing secret file", broker: broker, auth: mtls(pki.Dir + "/no-such-secret.json"), want: []error{ErrSecret, secret.ErrNotFound}, says: []string{"no-such-secret.json"}},
		{name: "SASL without a secret", broker: broker, auth: kafkaauth.Auth{Mechanism: kafkaauth.Plain}, want: []error{ErrSecret, kafkaauth.ErrNoSecret}},
		{name: "unknown mechanism", broker: broker, auth: kafkaauth.Auth{Mechanism: "GSSAPI", SecretRef: ca}, want: []error{ErrConfig, kafkaauth.ErrUnsupportedMechanism}, says: []string{"GSSAPI"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkFailure(t, c, tc) })
	}
}

// TestSecretsManagerARN consumes with SCRAM-SHA-512 credentials and the root CA resolved from a local
// Secrets Manager (moto) by ARN.
func TestSecretsManagerARN(t *testing.T) {
	ep := kafkatest.AWSEndpoint(t)
	c := kafkatest.Real(t)
	l := kafkatest.RealListeners(t)
	s := kafkatest.PKI(t).Secrets
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sm := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(ep),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	create := func(name, file string) string {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(b))})
		if err != nil {
			t.Fatalf("creating secret %s in moto: %v", name, err)
		}
		t.Cleanup(func() {
			_, _ = sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
		})
		return *out.ARN
	}
	topic := c.CreateTopic(t, 1)
	c.Produce(t, records(topic, 0, 0, 3)...)
	cfg := testConfig(t, c, topic)
	cfg.Brokers = []string{l.SASL}
	cfg.Auth = kafkaauth.Auth{Mechanism: kafkaauth.ScramSHA512,
		SecretRef: create(topic+"-scram", s.Scram512), RootCARef: create(topic+"-ca", s.RootCA)}
	cfg.Secrets = &secret.Resolver{AWSEndpoint: ep}
	k := newSink()
	stop := start(t, newSource(t, cfg), k.handler)
	k.waitFor(t, 3, 60*time.Second)
	_ = stop()
	checkContiguous(t, "via Secrets Manager", k.offsets[0], 0, 3)
	_ = kgo.Record{}
}
