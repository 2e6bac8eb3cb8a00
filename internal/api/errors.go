package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// Error is an AWS-style API error: the exception type goes into the X-Amzn-ErrorType header (which the
// SDKs read first) and, with the members below, into the JSON body.
type Error struct {
	// Type is the exception name, e.g. "ValidationException".
	Type string
	// Status is the HTTP status code.
	Status int
	// Message is the human-readable text (body member "message").
	Message string
	// Fields lists per-field problems (ValidationException "fieldList").
	Fields []FieldError
	// ResourceID and ResourceType name the resource (ConflictException, ServiceQuotaExceededException).
	ResourceID, ResourceType string
	// ServiceCode and QuotaCode identify a quota (ServiceQuotaExceededException, ThrottlingException).
	ServiceCode, QuotaCode string
	// RetryAfter, when positive, is sent as the Retry-After header (ThrottlingException, InternalException).
	RetryAfter time.Duration
}

// FieldError is one entry of ValidationException.fieldList.
type FieldError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Error returns "Type: message".
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Exception names and their HTTP status codes (the error shapes of the Pipes API model, plus the
// authentication errors every AWS service returns).
const (
	TypeValidation         = "ValidationException"
	TypeNotFound           = "NotFoundException"
	TypeConflict           = "ConflictException"
	TypeServiceQuota       = "ServiceQuotaExceededException"
	TypeThrottling         = "ThrottlingException"
	TypeInternal           = "InternalException"
	TypeUnrecognizedClient = "UnrecognizedClientException"
	TypeInvalidSignature   = "InvalidSignatureException"
	TypeMissingAuth        = "MissingAuthenticationTokenException"
	TypeUnknownOperation   = "UnknownOperationException"
)

// Quota codes sent with ServiceQuotaExceededException and ThrottlingException.
const (
	serviceCode         = "pipes"
	quotaCodePipes      = "L-PIPES-PER-ACCOUNT"
	quotaCodeAPIRequest = "L-API-REQUEST-RATE"
	resourceTypePipe    = "pipe"
)

func validationError(msg string, fields ...FieldError) *Error {
	return &Error{Type: TypeValidation, Status: http.StatusBadRequest, Message: msg, Fields: fields}
}

func notFound(name string) *Error {
	return &Error{Type: TypeNotFound, Status: http.StatusNotFound, Message: "Pipe " + name + " does not exist."}
}

func conflict(name, msg string) *Error {
	return &Error{Type: TypeConflict, Status: http.StatusConflict, Message: msg, ResourceID: name, ResourceType: resourceTypePipe}
}

func internalError(msg string) *Error {
	return &Error{Type: TypeInternal, Status: http.StatusInternalServerError, Message: msg, RetryAfter: time.Second}
}

// toAPIError maps a domain error (the store's and the supervisor's) to the exception the client sees. Errors that are not known domain
// errors become InternalException with a generic message: their text may name files or internals.
func toAPIError(err error, pipeName string) *Error {
	var ae *Error
	var busy *supervisor.BusyError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		return notFound(pipeName)
	case errors.Is(err, store.ErrExists):
		return conflict(pipeName, "Pipe "+pipeName+" already exists.")
	case errors.As(err, &busy):
		return conflict(busy.Name, busy.Error())
	case errors.Is(err, store.ErrConflict):
		return conflict(pipeName, "Pipe "+pipeName+" was changed by another request at the same time; describe it and try again.")
	case errors.Is(err, supervisor.ErrClosed):
		return internalError("The server is shutting down.")
	case errors.Is(err, store.ErrQuota):
		return &Error{Type: TypeServiceQuota, Status: http.StatusPaymentRequired,
			Message:    "Maximum number of pipes reached for this account.",
			ResourceID: pipeName, ResourceType: resourceTypePipe, ServiceCode: serviceCode, QuotaCode: quotaCodePipes}
	}
	return internalError("An internal error occurred; see the server log.")
}

// errorBody is the JSON body of an error; member names are the ones the SDKs' deserializers read.
type errorBody struct {
	Type         string       `json:"__type,omitempty"`
	Message      string       `json:"message"`
	FieldList    []FieldError `json:"fieldList,omitempty"`
	ResourceID   string       `json:"resourceId,omitempty"`
	ResourceType string       `json:"resourceType,omitempty"`
	ServiceCode  string       `json:"serviceCode,omitempty"`
	QuotaCode    string       `json:"quotaCode,omitempty"`
}

func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Type)
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	body, _ := json.Marshal(errorBody{
		Type: e.Type, Message: e.Message, FieldList: e.Fields,
		ResourceID: e.ResourceID, ResourceType: e.ResourceType,
		ServiceCode: e.ServiceCode, QuotaCode: e.QuotaCode,
	})
	w.WriteHeader(e.Status)
	w.Write(body)
}
