package supervisor

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/source/kafka"
)

func TestTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	dns := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "broker.invalid", IsNotFound: true}}
	smStatus := func(code int) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("api error")}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", fmt.Errorf("connecting to broker 127.0.0.1:1: unable to dial: %w", refused), true},
		{"dns failure", fmt.Errorf("unable to dial: %w", dns), true},
		{"source: broker unreachable", fmt.Errorf("pipe p: connecting: %w: %v", kafka.ErrBrokerUnreachable, refused), true},
		{"deadline", fmt.Errorf("no answer within 15s: %w", context.DeadlineExceeded), true},
		{"retriable kafka error", fmt.Errorf("metadata: %w", kerr.NotLeaderForPartition), true},
		{"secrets manager down", fmt.Errorf("resolving secret arn:...: %w", fmt.Errorf("operation error: %w", refused)), true},
		{"secrets manager 503", fmt.Errorf("resolving secret arn:...: %w", smStatus(503)), true},
		{"secrets manager throttled", fmt.Errorf("resolving secret arn:...: %w", smStatus(429)), true},
		{"secrets manager access denied", fmt.Errorf("resolving secret arn:...: %w", smStatus(400)), false},
		{"sasl rejected", fmt.Errorf("connecting: %w", kerr.SaslAuthenticationFailed), false},
		{"topic authorization", fmt.Errorf("connecting: %w", kerr.TopicAuthorizationFailed), false},
		{"unknown topic", fmt.Errorf("connecting: %w", kerr.UnknownTopicOrPartition), false},
		{"source: authentication", fmt.Errorf("%w: rejected: %w", kafka.ErrAuthentication, refused), false},
		{"source: topic not found", fmt.Errorf("%w: topic %q does not exist", kafka.ErrTopicNotFound, "t"), false},
		{"untrusted certificate", &net.OpError{Op: "dial", Err: x509.UnknownAuthorityError{}}, false},
		{"tls alert", &net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}, false},
		{"secret not set", fmt.Errorf("building HTTP target: %w", fmt.Errorf("resolving secret env:X: %w", secret.ErrNotFound)), false},
		{"malformed secret", fmt.Errorf("source credentials: %w", fmt.Errorf("%w: not a JSON object", secret.ErrMalformed)), false},
		{"secret unusable wrapping a network error", fmt.Errorf("%w: %w", kafka.ErrSecret, refused), true},
		{"file target in a missing directory", fmt.Errorf("opening file target /x/y: %w", &os.PathError{Op: "open", Path: "/x/y", Err: syscall.ENOENT}), false},
		{"invalid definition", fmt.Errorf("pipe p: invalid definition: %w", pipe.FieldErrors{{Field: "Target", Message: "bad"}}), false},
		{"egress refused in the dial", fmt.Errorf("connecting to broker localhost:9400: unable to dial: %w",
			&net.OpError{Op: "dial", Net: "tcp", Err: &sandbox.EgressError{Addr: netip.MustParseAddrPort("127.0.0.1:9400"), Reason: "this server's own listener"}}), false},
		{"egress refused, unparsable address", &net.OpError{Op: "dial", Err: fmt.Errorf("%w: cannot check", sandbox.ErrEgressRefused)}, false},
		{"file outside the roots", fmt.Errorf("opening file target: %w", sandbox.ErrOutsideRoots), false},
		{"panic", &runtime.PanicError{Where: "building", Value: refused}, false},
		{"unknown", errors.New("something odd"), false},
	}
	for _, tt := range tests {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("Transient(%s: %v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 5 * time.Minute}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 9: 256 * time.Second, 10: 5 * time.Minute, 50: 5 * time.Minute} {
		for range 100 {
			if d := b.Delay(n); d > want || d < want/2 {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := (Backoff{}).Delay(1); d > DefaultInitial || d < DefaultInitial/2 {
		t.Errorf("zero Backoff: Delay(1) = %v, want about %v", d, DefaultInitial)
	}
}

// TestRetry checks, on the fake clock of synctest, that Retry waits the backoff between transient
// failures, reports each, stops at a permanent failure or a success, and ends promptly with ctx.
func TestRetry(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	b := Backoff{Initial: time.Second, Max: 4 * time.Second}

	t.Run("transient then success", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			var at []time.Duration
			var reported []Retrying
			err := Retry(t.Context(), b, func(context.Context) error {
				at = append(at, time.Since(start))
				if len(at) < 5 {
					return refused
				}
				return nil
			}, func(r Retrying) { reported = append(reported, r) })
			if err != nil {
				t.Fatalf("Retry = %v, want nil", err)
			}
			if len(at) != 5 || len(reported) != 4 {
				t.Fatalf("attempts %d, reports %d; want 5 and 4", len(at), len(reported))
			}
			for i, r := range reported {
				if r.Attempt != i+1 || !errors.Is(r.Err, syscall.ECONNREFUSED) {
					t.Errorf("report %d = attempt %d, %v", i, r.Attempt, r.Err)
				}
				if gap := at[i+1] - at[i]; gap != r.Delay {
					t.Errorf("attempt %d came %v after the previous one, want the reported delay %v", i+2, gap, r.Delay)
				}
				if r.Delay > 4*time.Second {
					t.Errorf("delay %v above the cap", r.Delay)
				}
			}
		})
	})
	t.Run("permanent stops at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			perm := fmt.Errorf("x: %w", kerr.SaslAuthenticationFailed)
			err := Retry(t.Context(), b, func(context.Context) error { calls++; return perm }, nil)
			if !errors.Is(err, kerr.SaslAuthenticationFailed) || calls != 1 {
				t.Fatalf("Retry = %v after %d calls, want the permanent error after 1", err, calls)
			}
		})
	})
	t.Run("cancel during the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() {
				done <- Retry(ctx, Backoff{Initial: time.Hour, Max: time.Hour}, func(context.Context) error { return refused }, nil)
			}()
			synctest.Wait() // Retry is waiting its first backoff
			start := time.Now()
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Retry = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("Retry returned %v after the cancel, want at once", d)
			}
		})
	})
}

func TestRetryingReason(t *testing.T) {
	r := Retrying{Attempt: 4, Err: errors.New("connecting to broker 127.0.0.1:1: connection refused"), Delay: 8 * time.Second,
		Next: time.Date(2026, 12, 4, 13, 20, 5, 0, time.UTC)}
	want := "retrying in 8s, at 13:20:05Z (attempt 4 failed): connecting to broker 127.0.0.1:1: connection refused"
	if got := r.Reason(); got != want {
		t.Errorf("Reason() = %q, want %q", got, want)
	}
}

// TestTransientSecretsManagerDown: the real resolver against a Secrets Manager endpoint that refuses
// connections gives an error Transient accepts (the SDK's error chain keeps the *net.OpError).
func TestTransientSecretsManagerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &secret.Resolver{AWSEndpoint: "http://" + addr}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err = r.Resolve(ctx, "arn:aws:secretsmanager:us-east-1:000000000000:secret:sluice-test-x")
	if err == nil || !Transient(err) {
		t.Errorf("Transient(%v) = false, want true (%T)", err, errors.Unwrap(err))
	}
}
