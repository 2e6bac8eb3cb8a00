package retry

import (
	"encoding/json"
	"time"
)

// DeadLetterVersion is the version of the DeadLetter shape; it changes only when a field changes meaning.
const DeadLetterVersion = "1"

// DeadLetter is what Sluice writes to a pipe's dead-letter destination for each record given up, one
// JSON object per record (a Kafka record's value for a kafka:// destination, a line for file://):
//
//	{
//	  "version": "1",
//	  "pipe": "orders", "pipeArn": "arn:aws:pipes:us-east-1:000000000000:pipe/orders",
//	  "reason": "retries-exhausted",          // permanent-failure | retries-exhausted | record-age-exceeded
//	  "errorClass": "retryable",              // retryable | throttled | timeout | permanent
//	  "error": "delivering to https://...: 503 Service Unavailable",
//	  "attempts": 4,                           // executions that included the record
//	  "topic": "orders", "partition": 0, "offset": 1234,
//	  "timestamp": "2026-11-25T13:00:00.123Z", // the Kafka record's timestamp
//	  "failedAt": "2026-11-25T13:00:09.870Z",
//	  "event": { "eventSource": "SelfManagedKafka", ... }   // the original Pipes event, untransformed
//	}
//
// event is the record as the pipe's source produced it (before filtering, enrichment and templates), so
// that replaying it into the pipe, or producing its key and value back to the topic, is possible.
type DeadLetter struct {
	Version    string          `json:"version"`
	Pipe       string          `json:"pipe"`
	PipeArn    string          `json:"pipeArn"`
	Reason     Reason          `json:"reason"`
	ErrorClass string          `json:"errorClass"`
	Error      string          `json:"error"`
	Attempts   int             `json:"attempts"`
	Topic      string          `json:"topic"`
	Partition  int32           `json:"partition"`
	Offset     int64           `json:"offset"`
	Timestamp  time.Time       `json:"timestamp"`
	FailedAt   time.Time       `json:"failedAt"`
	Event      json.RawMessage `json:"event"`
}

// RecordInfo is where a record came from, for NewDeadLetter.
type RecordInfo struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	Event     json.RawMessage
}

// NewDeadLetter builds the dead-letter record of a Failure.
func NewDeadLetter(pipe, pipeArn string, f Failure, rec RecordInfo, failedAt time.Time) DeadLetter {
	msg := ""
	if f.Err != nil {
		msg = f.Err.Error()
	}
	return DeadLetter{
		Version:    DeadLetterVersion,
		Pipe:       pipe,
		PipeArn:    pipeArn,
		Reason:     f.Reason,
		ErrorClass: f.Class.String(),
		Error:      msg,
		Attempts:   f.Attempts,
		Topic:      rec.Topic,
		Partition:  rec.Partition,
		Offset:     rec.Offset,
		Timestamp:  rec.Timestamp.UTC(),
		FailedAt:   failedAt.UTC(),
		Event:      rec.Event,
	}
}
