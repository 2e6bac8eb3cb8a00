package console

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
)

// logTapRecords is how many execution-log records LogTap keeps per pipe.
const logTapRecords = 50

// LogRecord is the part of an execution-log record (internal/execlog) the pipe page shows. Payloads
// are left out: the page lists steps, and the log written to its destination keeps the rest.
type LogRecord struct {
	Timestamp   string `json:"timestamp"`
	MessageType string `json:"messageType"`
	ExecutionID string `json:"executionId"`
	Error       string `json:"error,omitempty"`
}

// LogTap passes the pipes' execution log on to its destination and keeps the last records of each pipe
// for the pipe page. Give it as runtime.Deps.ExecutionLog and Options.ExecutionLog. execlog writes one
// record per Write, with secrets already masked.
type LogTap struct {
	next io.Writer

	mu    sync.Mutex
	pipes map[string][]LogRecord // by resourceArn's pipe name
}

// NewLogTap returns a LogTap writing through to next (nil: nowhere).
func NewLogTap(next io.Writer) *LogTap {
	if next == nil {
		next = io.Discard
	}
	return &LogTap{next: next, pipes: map[string][]LogRecord{}}
}

// Write passes p on and keeps the records it holds.
func (t *LogTap) Write(p []byte) (int, error) {
	for line := range bytes.SplitSeq(bytes.TrimSpace(p), []byte("\n")) {
		var r struct {
			LogRecord
			ResourceArn string `json:"resourceArn"`
			Err         *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(line, &r) != nil || r.ResourceArn == "" {
			continue
		}
		if r.Err != nil {
			r.Error = r.Err.Message
		}
		_, name, _ := strings.Cut(r.ResourceArn, ":pipe/")
		t.mu.Lock()
		recs := append(t.pipes[name], r.LogRecord)
		if len(recs) > logTapRecords {
			recs = recs[len(recs)-logTapRecords:]
		}
		t.pipes[name] = recs
		t.mu.Unlock()
	}
	return t.next.Write(p)
}

// Recent returns the last records of a pipe, newest first.
func (t *LogTap) Recent(pipe string, n int) []LogRecord {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	recs := t.pipes[pipe]
	out := make([]LogRecord, 0, min(n, len(recs)))
	for i := len(recs) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, recs[i])
	}
	return out
}
