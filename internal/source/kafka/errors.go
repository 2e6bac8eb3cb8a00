package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// Sentinel errors of the source; the errors New and Run return wrap one of them (or one of package
// secret's) and name the pipe, the brokers and the cause.
var (
	// ErrConfig is returned by New for an invalid Config.
	ErrConfig = errors.New("invalid source configuration")
	// ErrBrokerUnreachable is returned when no broker answers within the connect timeout.
	ErrBrokerUnreachable = errors.New("broker unreachable")
	// ErrTopicNotFound is returned when the cluster has no topic of the configured name.
	ErrTopicNotFound = errors.New("topic not found")
	// ErrAuthentication is returned when the broker rejects the credentials (SASL username or
	// password, or the client certificate).
	ErrAuthentication = errors.New("authentication failed")
	// ErrAuthorization is returned when the credentials lack an ACL (topic read, group).
	ErrAuthorization = errors.New("not authorized")
	// ErrUntrustedBroker is returned when the broker's certificate does not verify against the system
	// roots plus ServerRootCaCertificate, or names another host.
	ErrUntrustedBroker = errors.New("broker certificate not trusted")
	// ErrTLSMismatch is returned when TLS is used against a plaintext listener or the reverse.
	ErrTLSMismatch = errors.New("TLS handshake failed")
	// ErrSecret is returned when a credentials or root CA secret cannot be resolved or parsed; the
	// wrapped error is one of package secret's sentinels.
	ErrSecret = errors.New("secret unusable")
)

// classify wraps err, from a connection attempt, in the sentinel that names its cause.
func (s *Source) classify(err error) error {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
		rec tls.RecordHeaderError
		ae  *tls.AlertError
	)
	var fre *kgo.ErrFirstReadEOF
	mech := s.cfg.Auth.Mechanism
	if mech == "" {
		mech = "none"
	}
	switch {
	case errors.Is(err, sandbox.ErrEgressRefused):
		return err // permanent, and its text names the address and the flag that opens it
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie):
		hint := "the system roots"
		if s.cfg.Auth.RootCARef != "" {
			hint += " and ServerRootCaCertificate " + s.cfg.Auth.RootCARef
		} else {
			hint += " (set ServerRootCaCertificate for a private CA)"
		}
		return fmt.Errorf("%w: %v (verified against %s)", ErrUntrustedBroker, err, hint)
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState),
		errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Errorf("%w: the broker rejected %s credentials from secret %s: %v", ErrAuthentication, mech, s.cfg.Auth.SecretRef, err)
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.GroupAuthorizationFailed),
		errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("%w: %v", ErrAuthorization, err)
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return fmt.Errorf("%w: topic %q does not exist", ErrTopicNotFound, s.cfg.Topic)
	case errors.As(err, &fre) && s.cfg.Auth.TLS():
		return fmt.Errorf("%w: the broker closed the connection at the TLS handshake (is it a plaintext listener?): %v", ErrTLSMismatch, err)
	case errors.As(err, &fre):
		return fmt.Errorf("%w: the broker closed the connection (does the listener require TLS or SASL?): %v", ErrTLSMismatch, err)
	// franz-go reports a TLS answer to a plaintext request only in the text of this error.
	case !s.cfg.Auth.TLS() && strings.Contains(err.Error(), "invalid large response size"):
		return fmt.Errorf("%w: the broker answered with TLS (configure authentication and ServerRootCaCertificate): %v", ErrTLSMismatch, err)
	case errors.As(err, &rec):
		return fmt.Errorf("%w: the broker did not answer TLS (is it a plaintext listener?): %v", ErrTLSMismatch, err)
	case errors.As(err, &ae) || strings.Contains(err.Error(), "remote error: tls"):
		if s.cfg.Auth.Mechanism == kafkaauth.MTLS {
			return fmt.Errorf("%w: the broker rejected the client certificate from secret %s: %v", ErrAuthentication, s.cfg.Auth.SecretRef, err)
		}
		return fmt.Errorf("%w: the broker refused the TLS handshake (does it require a client certificate?): %v", ErrAuthentication, err)
	case s.cfg.Auth.TLS() && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		if s.cfg.Auth.Mechanism == kafkaauth.MTLS {
			return fmt.Errorf("%w: the broker closed the connection during the TLS handshake (client certificate from secret %s not accepted?): %v",
				ErrAuthentication, s.cfg.Auth.SecretRef, err)
		}
		return fmt.Errorf("%w: the broker closed the connection during the TLS handshake: %v", ErrTLSMismatch, err)
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%w: the broker closed the connection (is it a TLS or SASL listener?): %v", ErrTLSMismatch, err)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w: %v", ErrBrokerUnreachable, err)
	}
	return err
}

// secretError wraps an error of kafkaauth.Options, which resolves and parses the secrets; the wrapped
// error keeps package secret's sentinel (wrong key password, malformed secret, not found).
func secretError(err error) error {
	return fmt.Errorf("%w: %w", ErrSecret, err)
}
