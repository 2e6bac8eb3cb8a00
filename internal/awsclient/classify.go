package awsclient

import (
	"context"
	"errors"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/internal/plugin"
)

// throttleCodes are the error codes by which AWS services ask the caller to slow down. Any code
// containing "Throttl" counts too (KMSThrottlingException, KmsThrottled, ...).
var throttleCodes = map[string]bool{
	"Throttling":                             true,
	"ThrottlingException":                    true,
	"ThrottledException":                     true,
	"RequestThrottledException":              true,
	"RequestThrottled":                       true,
	"TooManyRequestsException":               true,
	"ProvisionedThroughputExceededException": true,
	"TransactionInProgressException":         true,
	"RequestLimitExceeded":                   true,
	"BandwidthLimitExceeded":                 true,
	"LimitExceededException":                 true,
	"SlowDown":                               true,
	"PriorRequestNotComplete":                true,
	"EC2ThrottledException":                  true,
	"ExecutionLimitExceeded":                 true, // Step Functions: too many running executions
	"ActiveStatementsExceededException":      true, // Redshift Data: too many running statements
}

// permanentCodes are the error codes that retrying the same call cannot cure: the resource is missing,
// the credentials or the role's permissions are refused, or the request itself is invalid. Codes
// starting with AccessDenied, ResourceNotFound, InvalidParameter or KMS (a key the role cannot use) count
// too. They stop the pipe when they persist (auto-stop), as Pipes does.
var permanentCodes = map[string]bool{
	// Missing resources.
	"NotFound":                       true, // SNS topic
	"NotFoundException":              true,
	"NonExistentQueue":               true, // SQS (AWS.SimpleQueueService.NonExistentQueue)
	"QueueDoesNotExist":              true,
	"StateMachineDoesNotExist":       true,
	"StateMachineDeleting":           true,
	"ClusterNotFoundException":       true, // ECS
	"EventBusNotFound":               true,
	"NoSuchBucket":                   true,
	"FunctionNotFound":               true,
	"ServiceNotFoundException":       true,
	"InvalidArn":                     true,
	"InvalidArnException":            true,
	"InvalidName":                    true,
	"InvalidExecutionInput":          true,
	"InvalidDestination":             true,
	"UnsupportedOperation":           true,
	"UnsupportedFeatureException":    true,
	"PlatformUnknownException":       true,
	"ClientException":                true, // Batch, ECS: the request is wrong
	"InvalidSecurity":                true, // SQS: not over HTTPS as the queue requires
	"InvalidAddress":                 true,
	"InvalidMessageContents":         true,
	"InvalidArgumentException":       true, // Kinesis, Firehose
	"InvalidRequestContentException": true, // Lambda
	"InvalidKMSResourceException":    true, // Firehose
	"InvalidSourceException":         true,
	"UnsupportedMediaTypeException":  true,
	"RequestTooLargeException":       true,
	"RequestEntityTooLargeException": true,
	"BatchRequestTooLong":            true,
	"BatchEntryIdsNotDistinct":       true,
	"EmptyBatchRequest":              true,
	"TooManyEntriesInBatchRequest":   true,
	"InvalidBatchEntryId":            true,
	"ValidationException":            true,
	"ValidationError":                true,
	"AuthorizationError":             true, // SNS
	"AuthorizationErrorException":    true,
	"UnauthorizedOperation":          true,
	"UnrecognizedClientException":    true, // unknown access key
	"InvalidClientTokenId":           true,
	"SignatureDoesNotMatch":          true,
	"OptInRequired":                  true,
	"EndpointDisabled":               true,
}

// permanentPrefixes are code prefixes of permanent errors.
var permanentPrefixes = []string{"AccessDenied", "ResourceNotFound", "InvalidParameter", "KMS", "Kms"}

// Classify turns an error from an SDK call into the error kinds the runtime acts on:
//   - a throttling code, or HTTP 429 without a code, gives a *plugin.ThrottledError (overload: the
//     runtime lowers its concurrency);
//   - a code of a missing resource, a refused permission or credential, or an invalid request gives a
//     plugin.Permanent error (not retried; feeds auto-stop);
//   - anything else (5xx, connection failures, unknown codes) is returned as is, and retried.
//
// Context errors, and errors already classified, are returned as they are. The code is the API
// error's ErrorCode (smithy.APIError); an SQS query-compatible code such as
// "AWS.SimpleQueueService.NonExistentQueue" is matched on its last part. A nil error gives nil.
func Classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var (
		perm      *plugin.PermanentError
		throttled *plugin.ThrottledError
	)
	if errors.As(err, &perm) || errors.As(err, &throttled) {
		return err
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if code := ErrorCode(api); code != "" {
			return ClassifyCode(code, err)
		}
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusTooManyRequests {
		return &plugin.ThrottledError{Err: err}
	}
	return err
}

// ClassifyCode classifies err by an AWS error code, as Classify does: for the failed entries of a
// batch API (SQS SendMessageBatch's BatchResultErrorEntry.Code, Kinesis PutRecords' ErrorCode, ...),
// which come without an API error. err carries the message; the code's query-compatible prefix
// ("AWS.SimpleQueueService.") is ignored.
func ClassifyCode(code string, err error) error {
	if i := strings.LastIndexByte(code, '.'); i >= 0 && strings.HasPrefix(code, "AWS.") {
		code = code[i+1:]
	}
	switch {
	case IsThrottleCode(code):
		return &plugin.ThrottledError{Err: err}
	case IsPermanentCode(code):
		return plugin.Permanent(err)
	}
	return err
}

// ErrorCode returns an API error's code without the query-compatible service prefix
// ("AWS.SimpleQueueService.NonExistentQueue" -> "NonExistentQueue").
func ErrorCode(api smithy.APIError) string {
	code := api.ErrorCode()
	if i := strings.LastIndexByte(code, '.'); i >= 0 && strings.HasPrefix(code, "AWS.") {
		code = code[i+1:]
	}
	return code
}

// IsThrottleCode reports whether an error code asks the caller to slow down.
func IsThrottleCode(code string) bool {
	return throttleCodes[code] || strings.Contains(code, "Throttl")
}

// IsPermanentCode reports whether retrying a call that failed with code cannot succeed.
func IsPermanentCode(code string) bool {
	if permanentCodes[code] {
		return true
	}
	for _, p := range permanentPrefixes {
		if strings.HasPrefix(code, p) {
			return true
		}
	}
	return false
}
