package supervisor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/source/kafka"
)

// Transient reports whether a failure to build or start a pipe may go away by itself, so that trying
// again later is worth it: nothing answered (connection refused or reset, a timeout, a DNS failure, a
// Kafka error the protocol marks retriable, a Secrets Manager endpoint answering 5xx or throttling).
// Everything else is permanent, and so is anything unknown: retrying an error nobody understood would
// hide it behind a pipe that looks busy. The decision reads the error chain (errors.Is and errors.As),
// never its text, and the permanent causes are checked first because they often arrive wrapped in a
// network error (a TLS alert is a *net.OpError).
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var (
		pe   *runtime.PanicError
		fe   pipe.FieldErrors
		cve  *tls.CertificateVerificationError
		uae  x509.UnknownAuthorityError
		hne  x509.HostnameError
		cie  x509.CertificateInvalidError
		rhe  tls.RecordHeaderError
		ke   *kerr.Error
		oe   *net.OpError
		de   *net.DNSError
		ne   net.Error
		http interface{ HTTPStatusCode() int }
	)
	switch {
	case errors.As(err, &pe), errors.As(err, &fe):
		return false // a defect, or a definition that cannot work
	case errors.Is(err, sandbox.ErrEgressRefused), errors.Is(err, sandbox.ErrOutsideRoots):
		return false // the operator's policy refuses it (a refused dial arrives as a *net.OpError)
	case errors.Is(err, secret.ErrNotFound), errors.Is(err, secret.ErrMalformed),
		errors.Is(err, secret.ErrIncorrectPassword), errors.Is(err, secret.ErrUnsupportedEncryption),
		errors.Is(err, secret.ErrBadReference):
		return false // the secret is missing or wrong: someone must change it
	case errors.Is(err, kafka.ErrConfig), errors.Is(err, kafka.ErrTopicNotFound),
		errors.Is(err, kafka.ErrAuthentication), errors.Is(err, kafka.ErrAuthorization),
		errors.Is(err, kafka.ErrUntrustedBroker), errors.Is(err, kafka.ErrTLSMismatch):
		return false // the source's own classification of a connection attempt
	case errors.Is(err, kafka.ErrBrokerUnreachable):
		return true
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie),
		errors.As(err, &rhe):
		return false // certificates and TLS configuration
	case errors.As(err, &oe) && oe.Op == "remote error":
		return false // a TLS alert from the peer: it refused our certificate or our handshake
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return false // retriable for Kafka, but a pipe on a topic that does not exist fails, as in Pipes
	case errors.As(err, &ke):
		return ke.Retriable // SASL, authorization and invalid-request errors are not
	case errors.As(err, &http) && http.HTTPStatusCode() != 0: // 0: no answer, decided below
		c := http.HTTPStatusCode()
		return c >= 500 || c == 429 || c == 408
	case errors.As(err, &oe), errors.As(err, &de):
		return true // dial, DNS, read and write failures
	case errors.As(err, &ne) && ne.Timeout():
		return true // (not any net.Error: a syscall.Errno is one, ENOENT included)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return false
}
