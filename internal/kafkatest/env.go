package kafkatest

import (
	"fmt"
	"net/url"
	"os"
	"testing"
)

// Environment variables read by this package (see the package comment).
const (
	envPlaintext     = "SLUICE_KAFKA_PLAINTEXT"
	envTLS           = "SLUICE_KAFKA_TLS"
	envSASL          = "SLUICE_KAFKA_SASL"
	envPKI           = "SLUICE_KAFKA_PKI"
	envCtl           = "SLUICE_KAFKA_CTL"
	envDir           = "SLUICE_KAFKA_DIR"
	envKafkaRequired = "SLUICE_KAFKA_REQUIRED"
	envAWSEndpoint   = "SLUICE_AWS_ENDPOINT"
	envAWSRequired   = "SLUICE_AWS_REQUIRED"
)

// Listeners are the real broker's three listeners.
type Listeners struct {
	// Plaintext is the PLAINTEXT listener, 127.0.0.1:9092.
	Plaintext string
	// TLS is the SSL listener requiring a client certificate, localhost:9094.
	TLS string
	// SASL is the SASL_SSL listener (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN),
	// localhost:9096.
	SASL string
}

// RealListeners returns the real broker's listeners, skipping or failing the
// test like Real when the broker is not there. It holds the shared broker
// lock for the test, like Real.
func RealListeners(t testing.TB) Listeners {
	t.Helper()
	Real(t)
	return Listeners{
		Plaintext: os.Getenv(envPlaintext),
		TLS:       requireEnv(t, envTLS, envKafkaRequired, "the real broker's TLS listener"),
		SASL:      requireEnv(t, envSASL, envKafkaRequired, "the real broker's SASL_SSL listener"),
	}
}

// AWSEndpoint returns the URL of the Secrets Manager emulator, skipping the
// test when SLUICE_AWS_ENDPOINT is unset, or failing it when
// SLUICE_AWS_REQUIRED=1. Any access key and secret work against it; use
// region us-east-1.
func AWSEndpoint(t testing.TB) string {
	t.Helper()
	endpoint := requireEnv(t, envAWSEndpoint, envAWSRequired, "the Secrets Manager emulator")
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		t.Fatalf("%s=%q is not a URL: %v", envAWSEndpoint, endpoint, err)
	}
	if err := dialCheck(u.Host); err != nil {
		unavailable(t, envAWSRequired, "the Secrets Manager emulator at %s does not answer: %v", endpoint, err)
	}
	return endpoint
}

// requireEnv returns the value of name, or ends the test: skipped normally,
// failed when the required switch is "1".
func requireEnv(t testing.TB, name, required, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		unavailable(t, required, "%s is not configured (%s is unset; run `make test` or see scripts/kafka/ctl.sh env)", what, name)
	}
	return v
}

// unavailable skips the test, or fails it when the required switch is set,
// so that CI cannot pass by skipping.
func unavailable(t testing.TB, required, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(required) == "1" {
		t.Fatalf("%s, and %s=1", msg, required)
	}
	t.Skip(msg)
}
