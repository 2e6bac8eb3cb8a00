package pipe

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLocalFiles(t *testing.T) {
	def, err := Decode([]byte(`{
	  "Name": "p",
	  "Source": "smk://b:9092",
	  "SourceParameters": {"SelfManagedKafkaParameters": {
	    "TopicName": "t",
	    "BatchSize": 1,
	    "Credentials": {"BasicAuth": "file:///etc/sluice/basic.json"},
	    "ServerRootCaCertificate": "file://localhost/etc/sluice/ca.json",
	    "DeadLetterConfig": {"Arn": "file:///var/dlq/../../etc/dead.jsonl?fsync=never"}
	  }},
	  "Enrichment": "https://e.example/x",
	  "EnrichmentParameters": {"ApiDestinationParameters": {"Connection": {"AuthorizationType": "BASIC",
	    "AuthParameters": {"BasicAuthParameters": {"SecretArn": "file:///etc/sluice/a%20b.json"}}}}},
	  "Target": "file:///dev/stdout"
	}`))
	if err != nil {
		t.Fatal(err)
	}
	def.SetDefaults(builtin())
	if fe := def.Validate(builtin()); len(fe) > 0 {
		t.Fatalf("Validate = %v", fe)
	}
	want := []LocalFile{
		{"SourceParameters.SelfManagedKafkaParameters.Credentials.BasicAuth", "/etc/sluice/basic.json"},
		{"SourceParameters.SelfManagedKafkaParameters.ServerRootCaCertificate", "/etc/sluice/ca.json"},
		{"SourceParameters.SelfManagedKafkaParameters.DeadLetterConfig.Arn", "/var/dlq/../../etc/dead.jsonl"},
		{"EnrichmentParameters.ApiDestinationParameters.Connection.AuthParameters.BasicAuthParameters.SecretArn", "/etc/sluice/a b.json"},
		{"Target", "/dev/stdout"},
	}
	if diff := cmp.Diff(want, def.LocalFiles()); diff != "" {
		t.Errorf("LocalFiles (-want +got):\n%s", diff)
	}

	none := &Definition{Name: "q", Source: "smk://b:9092", Target: "https://t.example/",
		SourceParameters: &SourceParameters{SelfManagedKafkaParameters: &SelfManagedKafkaParameters{TopicName: "t",
			Credentials: &KafkaCredentials{SaslScram512Auth: "env:SCRAM"}}}}
	if got := none.LocalFiles(); len(got) != 0 {
		t.Errorf("LocalFiles without file references = %v", got)
	}
}
