package kafka

import (
	"regexp"

	"github.com/sluicehq/sluice/internal/fieldcheck"
	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/kafkatxn"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Parameters is TargetParameters.KafkaParameters (Sluice extension), the kafka:// target's own member.
// Authentication works as for the source; when neither Credentials nor ServerRootCaCertificate is given
// the connection is plaintext.
type Parameters struct {
	// Key is the record key: a JSON path ("$.value.orderId", read from the event before the input
	// template) or a static string; empty means a null key.
	Key string `json:"Key,omitempty"`
	// AdditionalBootstrapServers are up to 2 more "host:port" brokers of the target cluster.
	AdditionalBootstrapServers []string `json:"AdditionalBootstrapServers,omitempty"`
	// Credentials as for the source.
	Credentials *kafkaauth.Credentials `json:"Credentials,omitempty"`
	// ServerRootCaCertificate as for the source.
	ServerRootCaCertificate string `json:"ServerRootCaCertificate,omitempty"`
	// ExactlyOnce produces the records into the source's transactions, with the source offsets
	// (transact.go; kafkatxn.Check has what it requires).
	ExactlyOnce bool `json:"ExactlyOnce,omitempty"`
	// IdempotentEnrichment asserts that calling the pipe's enrichment again for the same event is
	// harmless, which ExactlyOnce requires of an enrichment.
	IdempotentEnrichment bool `json:"IdempotentEnrichment,omitempty"`
}

var reNotBlank = regexp.MustCompile(`\S`)

// Validate is Spec.Validate: the kafka:// Target (or dead-letter destination) string and
// TargetParameters.KafkaParameters.
func Validate(c plugin.Check) []plugin.FieldError {
	var errs []plugin.FieldError
	if addr, err := ParseTarget(c.Endpoint); err != nil {
		errs = append(errs, plugin.Errorf("Target", "%v", err))
	} else {
		for _, b := range addr.Brokers {
			if err := fieldcheck.CheckBroker(b); err != nil {
				errs = append(errs, plugin.Errorf("Target", "kafka broker %v", err))
			}
		}
		if err := fieldcheck.CheckTopic(addr.Topic); err != nil {
			errs = append(errs, plugin.Errorf("Target", "kafka topic %q %v", addr.Topic, err))
		}
	}
	var p *Parameters
	_, fe := fieldcheck.Decode(c.Params, "TargetParameters", "KafkaParameters", &p)
	errs = append(errs, fe...)
	if p == nil {
		return errs
	}
	const f = "TargetParameters.KafkaParameters"
	if p.Key != "" {
		errs = append(errs, fieldcheck.Length(f+".Key", p.Key, 0, 256)...)
		errs = append(errs, fieldcheck.Dynamic(f+".Key", p.Key, reNotBlank, "must not be blank")...)
	}
	errs = append(errs, fieldcheck.BootstrapServers(f+".AdditionalBootstrapServers", p.AdditionalBootstrapServers)...)
	errs = append(errs, fieldcheck.Credentials(f+".Credentials", p.Credentials)...)
	if p.ServerRootCaCertificate != "" {
		errs = append(errs, fieldcheck.SecretRef(f+".ServerRootCaCertificate", p.ServerRootCaCertificate)...)
	}
	errs = append(errs, kafkatxn.Check(kafkatxn.Parameters{
		ExactlyOnce: p.ExactlyOnce, IdempotentEnrichment: p.IdempotentEnrichment,
		HasCredentials: p.Credentials != nil, HasRootCA: p.ServerRootCaCertificate != "",
	}, c.Enrichment)...)
	return errs
}

// Files is Spec.Files: the secret references of TargetParameters.KafkaParameters (Credentials and
// ServerRootCaCertificate); the Key is never opened.
func Files(c plugin.Check) []plugin.FileRef {
	p, err := ParseParameters(c.Params)
	if err != nil {
		return nil
	}
	const f = "TargetParameters.KafkaParameters"
	var refs []plugin.FileRef
	if cr := p.Credentials; cr != nil {
		for _, m := range []struct{ name, ref string }{{"BasicAuth", cr.BasicAuth}, {"ClientCertificateTlsAuth", cr.ClientCertificateTlsAuth},
			{"SaslScram256Auth", cr.SaslScram256Auth}, {"SaslScram512Auth", cr.SaslScram512Auth}} {
			if m.ref != "" {
				refs = append(refs, plugin.FileRef{Field: f + ".Credentials." + m.name, Ref: m.ref})
			}
		}
	}
	if p.ServerRootCaCertificate != "" {
		refs = append(refs, plugin.FileRef{Field: f + ".ServerRootCaCertificate", Ref: p.ServerRootCaCertificate})
	}
	return refs
}
