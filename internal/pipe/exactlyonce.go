package pipe

// ExactlyOnce (TargetParameters.KafkaParameters.ExactlyOnce, a Sluice extension) makes a kafka://
// target's records and the source offsets one Kafka transaction, so that a read_committed reader of the
// target topic sees every source record's output exactly once. Validation refuses it where that cannot
// hold:
//
//   - Credentials and ServerRootCaCertificate in KafkaParameters: the source's client produces the
//     target's records (one client must consume, produce and commit for the offsets to join the
//     transaction), so the target connects as the source does.
//   - An Enrichment, unless KafkaParameters.IdempotentEnrichment asserts that calling it again for the
//     same event is harmless: an aborted transaction's events are read, enriched and delivered again,
//     and Sluice cannot undo an external call. (What the enrichment returns may differ on the second
//     call; only the committed delivery is visible, so that does not break exactly-once.)
//   - A target on another cluster: one transaction cannot span two clusters. Whether two broker lists
//     name the same cluster is not decidable from the text (aliases, load balancers, a subset of the
//     brokers), so it is checked when the pipe starts: the source asks both broker lists for their
//     cluster ID, and the pipe fails to start when they differ (source/kafka, checkSameCluster).
//
// A DeadLetterConfig is accepted: records given up before producing (a key path that fails, an event
// larger than the target accepts) are dead-lettered outside the transaction, so the dead-letter
// destination gets them at least once, not exactly once. A record the target cluster refuses aborts the
// whole transaction instead and is never dead-lettered (it blocks its partition, as a poison record does
// without a DeadLetterConfig).
func (v *validator) exactlyOnce(d *Definition) {
	const f = "TargetParameters.KafkaParameters"
	if d.TargetParameters == nil || d.TargetParameters.KafkaParameters == nil {
		return
	}
	k := d.TargetParameters.KafkaParameters
	if !k.ExactlyOnce {
		if k.IdempotentEnrichment {
			v.fe.add(f+".IdempotentEnrichment", "applies only with ExactlyOnce")
		}
		return
	}
	const why = "must be absent with ExactlyOnce: the target's records are produced by the source's client, in the source's transactions, so the target connects with the source's credentials"
	if k.Credentials != nil {
		v.fe.add(f+".Credentials", why)
	}
	if k.ServerRootCaCertificate != "" {
		v.fe.add(f+".ServerRootCaCertificate", why)
	}
	if d.Enrichment != "" && d.Enrichment != "$" && !k.IdempotentEnrichment {
		v.fe.add(f+".ExactlyOnce", "cannot hold with an Enrichment: an aborted transaction's events are enriched again and Sluice cannot undo an enrichment call; set IdempotentEnrichment to true if calling the enrichment again for the same event is harmless")
	}
}
