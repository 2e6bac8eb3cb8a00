package pipe

import "github.com/sluicehq/sluice/internal/plugin"

// Defaults that Pipes documents or Sluice chose (see the package comment for the choices).
const (
	DefaultDesiredState          = "RUNNING"
	DefaultStartingPosition      = "LATEST"
	DefaultBatchSize             = 100
	DefaultBatchingWindow        = 0
	DefaultHTTPMethod            = "POST"
	DefaultInvocationRateLimit   = 300
	DefaultOAuthHTTPMethod       = "POST"
	DefaultConsumerGroupIDPrefix = "sluice-"
)

// SetDefaults fills the optional fields that have a default, in place, with the target and enrichment
// plugins of plugin.Default (their DefaultBatchSize). It is idempotent and leaves given values alone,
// including invalid ones (Validate reports those). Sluice extension fields keep their nil "Pipes
// behaviour" meaning (see MaximumRetryAttempts and MaximumRecordAgeInSeconds).
func (d *Definition) SetDefaults() {
	d.setDefaults(plugin.Default)
}

// defaultBatchSize is the source BatchSize when the pipe gives none: the target's DefaultBatchSize, or the
// enrichment's when smaller, or DefaultBatchSize when neither has one.
func (d *Definition) defaultBatchSize(reg *plugin.Registry) int {
	n := 0
	if reg != nil {
		if s, ok := reg.TargetSpec(d.Target); ok && s.DefaultBatchSize > 0 {
			n = s.DefaultBatchSize
		}
		if s, ok := reg.EnricherSpec(d.Enrichment); ok && d.Enrichment != "" && s.DefaultBatchSize > 0 && (n == 0 || s.DefaultBatchSize < n) {
			n = s.DefaultBatchSize
		}
	}
	if n == 0 && (isHTTPString(d.Target) || isHTTPString(d.Enrichment)) {
		n = 1 // the HTTP plugins' default, for callers that have not registered them
	}
	if n == 0 {
		n = DefaultBatchSize
	}
	return n
}

func (d *Definition) setDefaults(reg *plugin.Registry) {
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
	if ep := d.EnrichmentParameters; ep != nil && isHTTPString(d.Enrichment) {
		ep.ApiDestinationParameters = defaultAPIDestination(ep.ApiDestinationParameters)
	}
	if tp := d.TargetParameters; tp != nil && isHTTPString(d.Target) {
		tp.ApiDestinationParameters = defaultAPIDestination(tp.ApiDestinationParameters)
	}
}

// defaultAPIDestination returns a with its defaults set; a nil a stays nil, because the HTTP plugins
// apply the same defaults through APIDestination.
func defaultAPIDestination(a *ApiDestinationParameters) *ApiDestinationParameters {
	if a == nil {
		return nil
	}
	if a.HttpMethod == "" {
		a.HttpMethod = DefaultHTTPMethod
	}
	if a.InvocationRateLimitPerSecond == nil {
		n := DefaultInvocationRateLimit
		a.InvocationRateLimitPerSecond = &n
	}
	if c := a.Connection; c != nil && c.AuthParameters != nil && c.AuthParameters.OAuthParameters != nil {
		if o := c.AuthParameters.OAuthParameters; o.HttpMethod == "" {
			o.HttpMethod = DefaultOAuthHTTPMethod
		}
	}
	return a
}

// APIDestination returns the effective API destination settings of an HTTP target or enrichment:
// a copy of a with defaults applied, or the defaults when a is nil.
func APIDestination(a *ApiDestinationParameters) ApiDestinationParameters {
	var out ApiDestinationParameters
	if a != nil {
		out = *a
	}
	defaultAPIDestination(&out)
	return out
}

func isHTTPString(s string) bool {
	e, err := ParseEndpoint(s)
	return err == nil && e.IsHTTP()
}
