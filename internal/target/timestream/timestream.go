// Package timestream registers the Timestream for LiveAnalytics target only to refuse it: Pipes does
// not support Apache Kafka sources (self-managed or Amazon MSK) with a Timestream target, and Sluice's
// source is always Kafka. Registering the kind (and its TimestreamParameters member) turns such a pipe
// into a ValidationException naming the Target, instead of "unknown target kind".
package timestream

import (
	"github.com/sluicehq/sluice/internal/plugin"
)

// Member is the TargetParameters member of the Timestream target.
const Member = "TimestreamParameters"

// Message is the refusal. Pipes' documentation says Apache Kafka streams "are not currently supported as
// a pipe source" for a Timestream target; the API's exact message is not documented, so this is the
// closest wording.
const Message = "Timestream for LiveAnalytics targets do not support Apache Kafka streams (self-managed Apache Kafka or Amazon MSK) as the pipe source"

// Validate refuses every Timestream target: a Sluice pipe's source is always Kafka.
func Validate(plugin.Check) []plugin.FieldError {
	return []plugin.FieldError{{Field: "Target", Message: Message}}
}
