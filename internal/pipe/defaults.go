package pipe

import "github.com/sluicehq/sluice/internal/plugin"

// Defaults that Pipes documents or Sluice chose (see the package comment for the choices).
const (
	DefaultDesiredState          = StateRunning
	DefaultStartingPosition      = "LATEST"
	DefaultBatchSize             = 100
	DefaultBatchingWindow        = 0
	DefaultConsumerGroupIDPrefix = "sluice-"
)

// SetDefaults fills the optional fields that have a default, in place, with the defaults of reg's target
// and enrichment plugins (their DefaultBatchSize). It is idempotent and leaves given values alone,
// including invalid ones (Validate reports those). Sluice extension fields keep their nil "Pipes
// behaviour" meaning (see MaximumRetryAttempts and MaximumRecordAgeInSeconds). The plugins' own
// parameter members are left as given: a plugin applies its defaults when it builds the part.
func (d *Definition) SetDefaults(reg *plugin.Registry) {
	if d.DesiredState == "" {
		d.DesiredState = DefaultDesiredState
	}
	if d.Enrichment == "$" { // the OptionalArn pattern's spelling of "no enrichment"
		d.Enrichment = ""
	}
	if sp := d.SourceParameters; sp != nil && sp.SelfManagedKafkaParameters != nil {
		k := sp.SelfManagedKafkaParameters
		if k.StartingPosition == "" {
			k.StartingPosition = DefaultStartingPosition
		}
		if k.BatchSize == nil {
			n := d.defaultBatchSize(reg)
			k.BatchSize = &n
		}
		if k.MaximumBatchingWindowInSeconds == nil {
			n := DefaultBatchingWindow
			k.MaximumBatchingWindowInSeconds = &n
		}
		// Only a valid name makes a valid group ID; an invalid one is reported once, on Name.
		if k.ConsumerGroupID == "" && len(d.Name) <= 64 && reName.MatchString(d.Name) {
			k.ConsumerGroupID = DefaultConsumerGroupIDPrefix + d.Name
		}
	}
}

// defaultBatchSize is the source BatchSize when the pipe gives none: the target plugin's
// DefaultBatchSize, or the enrichment plugin's when smaller, or DefaultBatchSize when neither has one.
func (d *Definition) defaultBatchSize(reg *plugin.Registry) int {
	n := 0
	if reg != nil {
		if s, ok := reg.TargetSpec(d.Target); ok && s.DefaultBatchSize > 0 {
			n = s.DefaultBatchSize
		}
		if d.Enrichment != "" {
			if s, ok := reg.EnricherSpec(d.Enrichment); ok && s.DefaultBatchSize > 0 && (n == 0 || s.DefaultBatchSize < n) {
				n = s.DefaultBatchSize
			}
		}
	}
	if n == 0 {
		n = DefaultBatchSize
	}
	return n
}
