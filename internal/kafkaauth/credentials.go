package kafkaauth

// Credentials is the Credentials union of a Kafka source (SelfManagedKafkaParameters) and of the Kafka
// target (KafkaParameters): exactly one member, each a secret reference (a Secrets Manager secret ARN,
// "file:///path" or "env:NAME").
type Credentials struct {
	BasicAuth                string `json:"BasicAuth,omitempty"`
	SaslScram256Auth         string `json:"SaslScram256Auth,omitempty"`
	SaslScram512Auth         string `json:"SaslScram512Auth,omitempty"`
	ClientCertificateTlsAuth string `json:"ClientCertificateTlsAuth,omitempty"`
}

// Mechanism returns the mechanism (None, Plain, ScramSHA256, ScramSHA512, MTLS) and the secret reference
// of the member that is set (the first one; after validation there is only one).
func (c *Credentials) Mechanism() (mechanism, secretRef string) {
	switch {
	case c == nil:
		return None, ""
	case c.BasicAuth != "":
		return Plain, c.BasicAuth
	case c.SaslScram256Auth != "":
		return ScramSHA256, c.SaslScram256Auth
	case c.SaslScram512Auth != "":
		return ScramSHA512, c.SaslScram512Auth
	case c.ClientCertificateTlsAuth != "":
		return MTLS, c.ClientCertificateTlsAuth
	}
	return None, ""
}
