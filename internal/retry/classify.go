package retry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Class is how a failed call should be treated.
type Class int

// The classes, from "try again" to "never again".
const (
	// Retryable failures (network errors, 5xx, unknown errors) are retried with backoff.
	Retryable Class = iota
	// Throttled failures (429, AWS throttling codes) are retried after the delay the far side asked for,
	// or with backoff when it named none.
	Throttled
	// Timeout failures (a call or the execution exceeding its deadline) are retried with backoff.
	Timeout
	// Permanent failures (plugin.Permanent, a 4xx other than 408 and 429, an AWS client fault that the
	// SDK marks not retryable) are not retried: retrying cannot fix them.
	Permanent
)

var classNames = [...]string{Retryable: "retryable", Throttled: "throttled", Timeout: "timeout", Permanent: "permanent"}

// String returns the class name used in logs, metrics and dead-letter records.
func (c Class) String() string { return classNames[c] }

// throttlingCodes are AWS error codes meaning "slow down", whatever the HTTP status they came with.
var throttlingCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true, "RequestThrottled": true,
	"SlowDown": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true,
}

// Classify returns how err should be treated and the delay the far side asked for (zero when none).
// It reads, in order: plugin.PermanentError; plugin.ThrottledError and plugin.RetryAfterError (with their
// Retry-After); a deadline; an HTTP status (any error with an HTTPStatusCode() int method, which HTTP
// plugins and the AWS SDK's response errors have: 429 throttled, 408 and 5xx retryable, other 4xx
// permanent); AWS throttling error codes; the SDK's own RetryableError() verdict; then network timeouts.
// An error it cannot place is Retryable: Pipes retries a Kafka batch whatever failed, and giving up on an
// unknown error would lose records.
func Classify(err error) (Class, time.Duration) {
	if err == nil {
		return Retryable, 0
	}
	if plugin.IsPermanent(err) {
		return Permanent, 0
	}
	var th *plugin.ThrottledError
	if errors.As(err, &th) {
		return Throttled, max(th.RetryAfter, 0)
	}
	var ra *plugin.RetryAfterError
	if errors.As(err, &ra) {
		return Retryable, max(ra.RetryAfter, 0)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout, 0
	}
	var api smithy.APIError
	if errors.As(err, &api) && throttlingCodes[api.ErrorCode()] {
		return Throttled, 0
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch code := status.HTTPStatusCode(); {
		case code == http.StatusTooManyRequests:
			return Throttled, 0
		case code == http.StatusRequestTimeout:
			return Timeout, 0
		case code >= 500:
			return Retryable, 0
		case code >= 400:
			return Permanent, 0
		}
	}
	var retryable interface{ RetryableError() bool }
	if errors.As(err, &retryable) && !retryable.RetryableError() {
		return Permanent, 0
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout, 0
	}
	// Refused and reset connections and streams cut short (the far side down or restarting) land here.
	return Retryable, 0
}
