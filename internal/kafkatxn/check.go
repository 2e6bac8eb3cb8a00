package kafkatxn

import "github.com/sluicehq/sluice/internal/plugin"

// Parameters are the members of TargetParameters.KafkaParameters that decide whether ExactlyOnce can
// hold.
type Parameters struct {
	ExactlyOnce          bool
	IdempotentEnrichment bool
	HasCredentials       bool // KafkaParameters.Credentials is given
	HasRootCA            bool // KafkaParameters.ServerRootCaCertificate is given
}

// Check reports where ExactlyOnce cannot hold, as field errors under TargetParameters.KafkaParameters;
// enrichment is the pipe's Enrichment ("" or "$" for none). It does no I/O: whether the target is on
// the source's cluster is checked when the pipe starts, by cluster ID (source/kafka).
//
//   - Credentials and ServerRootCaCertificate must be absent: the source's client produces the target's
//     records (one client must consume, produce and commit for the offsets to join the transaction), so
//     the target connects as the source does.
//   - An enrichment needs IdempotentEnrichment: an aborted transaction's events are read, enriched and
//     delivered again, and Sluice cannot undo an external call. (The enrichment may answer differently
//     the second time; only the committed delivery is visible, so that does not break exactly-once.)
//   - IdempotentEnrichment applies only with ExactlyOnce.
//
// A DeadLetterConfig is accepted with ExactlyOnce: records given up before producing (a key path that
// fails, an event larger than the target accepts) are dead-lettered outside the transaction, so the
// dead-letter destination gets them at least once. A record the target cluster refuses aborts the whole
// transaction instead and is never dead-lettered (it blocks its partition, as a poison record does
// without a DeadLetterConfig). Whether the target is on the source's cluster cannot be told from the
// broker lists' text (aliases, load balancers, a subset of the brokers), hence the check at start.
func Check(p Parameters, enrichment string) []plugin.FieldError {
	const f = "TargetParameters.KafkaParameters"
	if !p.ExactlyOnce {
		if p.IdempotentEnrichment {
			return []plugin.FieldError{plugin.Errorf(f+".IdempotentEnrichment", "applies only with ExactlyOnce")}
		}
		return nil
	}
	var errs []plugin.FieldError
	const why = "must be absent with ExactlyOnce: the target's records are produced by the source's client, in the source's transactions, so the target connects with the source's credentials"
	if p.HasCredentials {
		errs = append(errs, plugin.Errorf(f+".Credentials", why))
	}
	if p.HasRootCA {
		errs = append(errs, plugin.Errorf(f+".ServerRootCaCertificate", why))
	}
	if enrichment != "" && enrichment != "$" && !p.IdempotentEnrichment {
		errs = append(errs, plugin.Errorf(f+".ExactlyOnce", "cannot hold with an Enrichment: an aborted transaction's events are enriched again and Sluice cannot undo an enrichment call; set IdempotentEnrichment to true if calling the enrichment again for the same event is harmless"))
	}
	return errs
}
