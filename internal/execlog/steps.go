package execlog

import (
	"fmt"
	"strings"
)

// Level is a pipe's LogConfiguration Level. A level emits the steps of its own column of the Pipes
// table and of every lower level; Off emits nothing.
type Level int

// The levels, lowest first.
const (
	Off Level = iota
	Error
	Info
	Trace
)

var levelNames = [...]string{Off: "OFF", Error: "ERROR", Info: "INFO", Trace: "TRACE"}

// String returns the Pipes name of the level (OFF, ERROR, INFO, TRACE).
func (l Level) String() string {
	if l < Off || l > Trace {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel parses a LogConfiguration Level; the empty string is OFF, the Pipes default.
func ParseLevel(s string) (Level, error) {
	if s == "" {
		return Off, nil
	}
	for l, name := range levelNames {
		if s == name {
			return Level(l), nil
		}
	}
	return Off, fmt.Errorf("parsing log level %q: want one of OFF, ERROR, INFO, TRACE", s)
}

// MessageType is an execution step, the messageType of a log record.
type MessageType string

// The execution steps of Pipes (the user guide's execution steps page, see the package comment), in the
// order a successful execution emits them.
const (
	ExecutionStarted                  MessageType = "EXECUTION_STARTED"
	EnrichmentStageEntered            MessageType = "ENRICHMENT_STAGE_ENTERED"
	EnrichmentTransformationStarted   MessageType = "ENRICHMENT_TRANSFORMATION_STARTED"
	EnrichmentTransformationSucceeded MessageType = "ENRICHMENT_TRANSFORMATION_SUCCEEDED"
	EnrichmentTransformationFailed    MessageType = "ENRICHMENT_TRANSFORMATION_FAILED"
	EnrichmentInvocationStarted       MessageType = "ENRICHMENT_INVOCATION_STARTED"
	EnrichmentInvocationSucceeded     MessageType = "ENRICHMENT_INVOCATION_SUCCEEDED"
	EnrichmentInvocationSkipped       MessageType = "ENRICHMENT_INVOCATION_SKIPPED"
	EnrichmentInvocationFailed        MessageType = "ENRICHMENT_INVOCATION_FAILED"
	EnrichmentStageSucceeded          MessageType = "ENRICHMENT_STAGE_SUCCEEDED"
	EnrichmentStageFailed             MessageType = "ENRICHMENT_STAGE_FAILED"
	TargetStageEntered                MessageType = "TARGET_STAGE_ENTERED"
	TargetTransformationStarted       MessageType = "TARGET_TRANSFORMATION_STARTED"
	TargetTransformationSucceeded     MessageType = "TARGET_TRANSFORMATION_SUCCEEDED"
	TargetTransformationFailed        MessageType = "TARGET_TRANSFORMATION_FAILED"
	TargetInvocationStarted           MessageType = "TARGET_INVOCATION_STARTED"
	TargetInvocationSucceeded         MessageType = "TARGET_INVOCATION_SUCCEEDED"
	TargetInvocationSkipped           MessageType = "TARGET_INVOCATION_SKIPPED"
	TargetInvocationFailed            MessageType = "TARGET_INVOCATION_FAILED"
	TargetInvocationPartiallyFailed   MessageType = "TARGET_INVOCATION_PARTIALLY_FAILED"
	TargetStageSucceeded              MessageType = "TARGET_STAGE_SUCCEEDED"
	TargetStageFailed                 MessageType = "TARGET_STAGE_FAILED"
	TargetStagePartiallyFailed        MessageType = "TARGET_STAGE_PARTIALLY_FAILED"
	TargetStageSkipped                MessageType = "TARGET_STAGE_SKIPPED"
	ExecutionSucceeded                MessageType = "EXECUTION_SUCCEEDED"
	ExecutionFailed                   MessageType = "EXECUTION_FAILED"
	ExecutionPartiallyFailed          MessageType = "EXECUTION_PARTIALLY_FAILED"
	ExecutionThrottled                MessageType = "EXECUTION_THROTTLED"
	ExecutionTimeout                  MessageType = "EXECUTION_TIMEOUT"
)

// step is one row of the Pipes table: the lowest level that emits the step, and which execution data
// the step may carry.
type step struct {
	level    Level
	payload  bool // payload, with IncludeExecutionData
	exchange bool // awsRequest and awsResponse, with IncludeExecutionData
}

// steps is the Pipes table of which level emits which step, and the log schema's list of which steps carry
// a payload or the request/response, as data so that the table test reads it row by row.
var steps = map[MessageType]step{
	ExecutionStarted:                  {level: Info, payload: true},
	ExecutionSucceeded:                {level: Info},
	ExecutionFailed:                   {level: Error},
	ExecutionPartiallyFailed:          {level: Error},
	ExecutionThrottled:                {level: Error},
	ExecutionTimeout:                  {level: Error},
	EnrichmentStageEntered:            {level: Info},
	EnrichmentStageSucceeded:          {level: Info, payload: true},
	EnrichmentStageFailed:             {level: Error},
	EnrichmentTransformationStarted:   {level: Trace},
	EnrichmentTransformationSucceeded: {level: Trace, payload: true},
	EnrichmentTransformationFailed:    {level: Error},
	EnrichmentInvocationStarted:       {level: Trace},
	EnrichmentInvocationSucceeded:     {level: Trace, exchange: true},
	EnrichmentInvocationSkipped:       {level: Info},
	EnrichmentInvocationFailed:        {level: Error, exchange: true},
	TargetStageEntered:                {level: Info},
	TargetStageSucceeded:              {level: Info, payload: true},
	TargetStageFailed:                 {level: Error},
	TargetStagePartiallyFailed:        {level: Error},
	TargetStageSkipped:                {level: Trace},
	TargetTransformationStarted:       {level: Trace},
	TargetTransformationSucceeded:     {level: Trace, payload: true},
	TargetTransformationFailed:        {level: Error},
	TargetInvocationStarted:           {level: Trace},
	TargetInvocationSucceeded:         {level: Trace, exchange: true},
	TargetInvocationSkipped:           {level: Trace},
	TargetInvocationFailed:            {level: Error, exchange: true},
	TargetInvocationPartiallyFailed:   {level: Error, exchange: true},
}

// MessageTypes returns every execution step, for documentation and tests.
func MessageTypes() []MessageType {
	out := make([]MessageType, 0, len(steps))
	for m := range steps {
		out = append(out, m)
	}
	return out
}

// MinLevel returns the lowest level that emits m, or Trace+1 (never emitted) for an unknown type.
func (m MessageType) MinLevel() Level {
	s, ok := steps[m]
	if !ok {
		return Trace + 1
	}
	return s.level
}

// IsFailure reports whether m is a failure step, whose record carries the error object.
func (m MessageType) IsFailure() bool {
	return strings.HasSuffix(string(m), "_FAILED") || m == ExecutionThrottled || m == ExecutionTimeout
}
