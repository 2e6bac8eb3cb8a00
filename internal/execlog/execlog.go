// Package execlog writes a pipe's execution log: the EventBridge Pipes log records for each execution step,
// as JSON lines to standard error or a file, filtered by the pipe's LogConfiguration Level (OFF, ERROR,
// INFO, TRACE) and carrying execution data (payload, awsRequest, awsResponse) only when
// IncludeExecutionData is ["ALL"]. The record schema and the steps each level emits are those of the
// EventBridge user guide, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-logs-schema.html
// and .../eb-pipes-logs-execution-steps.html.
//
// Decisions where Pipes is silent or does not apply:
//   - timestamp is an RFC 3339 UTC string with millisecond precision ("2026-11-25T13:42:04.123Z"); the
//     Pipes reference gives its unit (milliseconds) but not its encoding.
//   - logLevel is the pipe's configured level, as the Pipes reference defines it ("the level of detail
//     specified for the pipe log"), not the step's own level.
//   - payload, awsRequest and awsResponse are left out of a record unless IncludeExecutionData is set;
//     truncatedFields and error are always present, null when empty.
//   - Records are cut to 256 KB (the Pipes limit for CloudWatch Logs destinations) the Pipes way: characters
//     removed from the end of payload, then awsRequest, then awsResponse, each named in truncatedFields.
//   - awsRequest and awsResponse hold the JSON the runtime sent to the enrichment or target (the events)
//     and the JSON the enrichment returned, for every kind. Pipes logs the raw HTTP request and response
//     of API destinations there; Sluice does not, so that headers, where credentials travel, never reach
//     the log.
//   - Unlike Pipes, which documents that it does not redact execution data, Sluice never writes a secret
//     it knows of: every value given to AddSecrets is masked wherever it appears in a record.
package execlog

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxRecordBytes is the largest record written; execution data is truncated to fit.
const MaxRecordBytes = 256 << 10

// Config is the part of a pipe's LogConfiguration that governs what is logged.
type Config struct {
	Level Level
	// IncludeExecutionData is IncludeExecutionData ["ALL"]: payloads, requests and responses are logged.
	IncludeExecutionData bool
}

// ParseConfig builds a Config from LogConfiguration's Level and IncludeExecutionData members.
func ParseConfig(level string, includeExecutionData []string) (Config, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return Config{}, err
	}
	c := Config{Level: l}
	for _, v := range includeExecutionData {
		if v != "ALL" {
			return Config{}, fmt.Errorf("parsing IncludeExecutionData value %q: the only value is ALL", v)
		}
		c.IncludeExecutionData = true
	}
	return c, nil
}

// Record is one log line, in the Pipes schema.
type Record struct {
	ExecutionID     string       `json:"executionId"`
	Timestamp       string       `json:"timestamp"`
	MessageType     MessageType  `json:"messageType"`
	ResourceArn     string       `json:"resourceArn"`
	LogLevel        string       `json:"logLevel"`
	Payload         *string      `json:"payload,omitempty"`
	AWSRequest      *string      `json:"awsRequest,omitempty"`
	AWSResponse     *string      `json:"awsResponse,omitempty"`
	TruncatedFields []string     `json:"truncatedFields"`
	Error           *ErrorDetail `json:"error"`
}

// ErrorDetail is a record's error object.
type ErrorDetail struct {
	HTTPStatusCode int    `json:"httpStatusCode,omitempty"`
	Message        string `json:"message"`
	Details        string `json:"details"`
	AWSService     string `json:"awsService,omitempty"`
	RequestID      string `json:"requestId,omitempty"`
}

// Entry is what the runtime reports for one step. Payload, Request and Response are only read when the
// step carries them and IncludeExecutionData is set; check WantsData before building costly dumps.
type Entry struct {
	Type MessageType
	// Payload is the JSON the step saw or produced (the event batch).
	Payload []byte
	// Request and Response are the call's exchange: the JSON events sent and, for an enrichment, the
	// JSON it returned.
	Request, Response []byte
	// Err is the failure of a failure step; its HTTP status and request ID are read through the
	// HTTPStatusCode() int and ServiceRequestID() string methods that HTTP and AWS SDK errors have.
	Err error
	// Details adds context to Err (the retry attempt, the classification).
	Details string
	// Service names the AWS service or target kind for error.awsService.
	Service string
}

// Logger writes one pipe's execution log. It is safe for concurrent use.
type Logger struct {
	cfg Config
	arn string

	mu      sync.Mutex
	w       io.Writer
	secrets []string // every form a secret may take in a field: raw, and JSON-escaped inside JSON text
	err     error
	buf     bytes.Buffer
}

// New returns a Logger of the pipe with ARN resourceArn writing JSON lines to w.
func New(w io.Writer, resourceArn string, cfg Config) *Logger {
	return &Logger{cfg: cfg, arn: resourceArn, w: w}
}

// Config returns the logger's configuration.
func (l *Logger) Config() Config { return l.cfg }

// Enabled reports whether a step of type m is written at the pipe's level.
func (l *Logger) Enabled(m MessageType) bool {
	return l != nil && l.cfg.Level != Off && m.MinLevel() <= l.cfg.Level
}

// WantsData reports whether a step of type m would carry execution data (payload or request/response),
// so that the caller builds it only then.
func (l *Logger) WantsData(m MessageType) bool {
	if !l.Enabled(m) || !l.cfg.IncludeExecutionData {
		return false
	}
	s := steps[m]
	return s.payload || s.exchange
}

// AddSecrets registers values that must never appear in the log (passwords, API keys, tokens resolved
// from secrets): they are replaced by "****" wherever they occur in execution data and error text, raw or
// JSON-escaped. Values shorter than four bytes are ignored, as masking them would mangle ordinary text
// without protecting anything.
func (l *Logger) AddSecrets(values ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range values {
		if len(v) < 4 {
			continue
		}
		for _, form := range []string{v, jsonEscape(v)} {
			if !slices.Contains(l.secrets, form) {
				l.secrets = append(l.secrets, form)
			}
		}
	}
}

// Err returns the first error the writer returned; logging goes on after it (an execution must not fail
// because its log could not be written).
func (l *Logger) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Log writes the record of one step of execution executionID, if the pipe's level emits it.
func (l *Logger) Log(executionID string, e Entry) {
	if !l.Enabled(e.Type) {
		return
	}
	r := Record{
		ExecutionID: executionID,
		Timestamp:   time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		MessageType: e.Type,
		ResourceArn: l.arn,
		LogLevel:    l.cfg.Level.String(),
	}
	if l.cfg.IncludeExecutionData {
		s := steps[e.Type]
		if s.payload && e.Payload != nil {
			r.Payload = ptr(string(e.Payload))
		}
		if s.exchange {
			if e.Request != nil {
				r.AWSRequest = ptr(string(e.Request))
			}
			if e.Response != nil {
				r.AWSResponse = ptr(string(e.Response))
			}
		}
	}
	if e.Err != nil || e.Type.IsFailure() {
		r.Error = errorDetail(e)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	l.mask(&r)
	line := l.encode(&r)
	for len(line) > MaxRecordBytes && truncate(&r, len(line)-MaxRecordBytes) {
		line = l.encode(&r)
	}
	if _, err := l.w.Write(line); err != nil && l.err == nil {
		l.err = fmt.Errorf("writing the execution log of %s: %w", l.arn, err)
	}
}

// encode renders r as one JSON line; the result aliases l.buf (callers hold l.mu).
func (l *Logger) encode(r *Record) []byte {
	l.buf.Reset()
	enc := json.NewEncoder(&l.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		// Every field is a string, number or string slice: encoding cannot fail.
		panic(fmt.Sprintf("execlog: encoding a record: %v", err))
	}
	return l.buf.Bytes()
}

// mask replaces every registered secret in the fields that carry data from outside (execution data and
// error text) before encoding, so that masking can never break the line's JSON. Callers hold l.mu.
func (l *Logger) mask(r *Record) {
	if len(l.secrets) == 0 {
		return
	}
	for _, f := range []*string{r.Payload, r.AWSRequest, r.AWSResponse} {
		if f != nil {
			*f = l.maskString(*f)
		}
	}
	if r.Error != nil {
		r.Error.Message = l.maskString(r.Error.Message)
		r.Error.Details = l.maskString(r.Error.Details)
	}
}

func (l *Logger) maskString(s string) string {
	for _, secret := range l.secrets {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, "****")
		}
	}
	return s
}

// truncate shortens execution data by about excess bytes, in the Pipes order, and reports whether
// anything was left to cut.
func truncate(r *Record, excess int) bool {
	for _, f := range []struct {
		name string
		v    **string
	}{{"payload", &r.Payload}, {"awsRequest", &r.AWSRequest}, {"awsResponse", &r.AWSResponse}} {
		if *f.v == nil || len(**f.v) == 0 {
			continue
		}
		s := **f.v
		cut := min(len(s), excess+16) // escaping makes encoded bytes exceed string bytes; overshoot a little
		s = strings.ToValidUTF8(s[:len(s)-cut], "")
		*f.v = &s
		if len(r.TruncatedFields) == 0 || r.TruncatedFields[len(r.TruncatedFields)-1] != f.name {
			r.TruncatedFields = append(r.TruncatedFields, f.name)
		}
		return true
	}
	return false
}

func errorDetail(e Entry) *ErrorDetail {
	d := &ErrorDetail{Details: e.Details, AWSService: e.Service}
	if e.Err == nil {
		d.Message = strings.ToLower(strings.ReplaceAll(string(e.Type), "_", " "))
		return d
	}
	d.Message = e.Err.Error()
	var status interface{ HTTPStatusCode() int }
	if errors.As(e.Err, &status) {
		d.HTTPStatusCode = status.HTTPStatusCode()
	}
	var reqID interface{ ServiceRequestID() string }
	if errors.As(e.Err, &reqID) {
		d.RequestID = reqID.ServiceRequestID()
	}
	return d
}

// NewExecutionID returns a random (version 4) UUID, the executionId shared by the records of one
// execution.
func NewExecutionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Open returns the writer for a log destination: "" or "stderr" is stderr (not closed by the returned
// closer), "file:///path" or a plain path is a file opened for appending.
func Open(dest string, stderr io.Writer) (io.WriteCloser, error) {
	switch {
	case dest == "" || dest == "stderr":
		return nopCloser{stderr}, nil
	default:
		path := strings.TrimPrefix(dest, "file://")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("opening the execution log %s: %w", path, err)
		}
		return f, nil
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func ptr(s string) *string { return &s }

// jsonEscape returns s as it appears inside a JSON string written by the record encoder.
func jsonEscape(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b := bytes.TrimSpace(buf.Bytes())
	return string(b[1 : len(b)-1])
}
