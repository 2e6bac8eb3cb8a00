package pipe

import "github.com/sluicehq/sluice/internal/kafkatxn"

// exactlyOnce checks TargetParameters.KafkaParameters.ExactlyOnce (a Sluice extension: the kafka://
// target's records and the source offsets in one Kafka transaction) with kafkatxn.Check, which has the
// rules and why. Not checked here: that the target is on the source's cluster, which is decided when the
// pipe starts by comparing cluster IDs (a broker list's text cannot tell: aliases, load balancers, a
// subset of the brokers).
//
// A DeadLetterConfig is accepted with ExactlyOnce: records given up before producing (a key path that
// fails, an event larger than the target accepts) are dead-lettered outside the transaction, so the
// dead-letter destination gets them at least once. A record the target cluster refuses aborts the whole
// transaction instead and is never dead-lettered (it blocks its partition, as a poison record does without
// a DeadLetterConfig).
func (v *validator) exactlyOnce(d *Definition) {
	if d.TargetParameters == nil || d.TargetParameters.KafkaParameters == nil {
		return
	}
	k := d.TargetParameters.KafkaParameters
	*v.fe = append(*v.fe, kafkatxn.Check(kafkatxn.Parameters{
		ExactlyOnce:          k.ExactlyOnce,
		IdempotentEnrichment: k.IdempotentEnrichment,
		HasCredentials:       k.Credentials != nil,
		HasRootCA:            k.ServerRootCaCertificate != "",
	}, d.Enrichment)...)
}
