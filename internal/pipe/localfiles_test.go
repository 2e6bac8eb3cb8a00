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
	    "AuthParameters": {"BasicAuthParameters": {"SecretArn": "file:///etc/sluice/a%20b.json"}}}},
	    "HttpParameters": {"HeaderParameters": {"X-Note": "file:x"}, "QueryStringParameters": {"src": "file:///etc/passwd"}}},
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
	// The header and query values "file:..." are sent, not opened: the HTTP plugin does not declare them.
	if diff := cmp.Diff(want, def.LocalFiles(builtin())); diff != "" {
		t.Errorf("LocalFiles (-want +got):\n%s", diff)
	}

	none := &Definition{Name: "q", Source: "smk://b:9092", Target: "https://t.example/",
		SourceParameters: &SourceParameters{SelfManagedKafkaParameters: &SelfManagedKafkaParameters{TopicName: "t",
			Credentials: &KafkaCredentials{SaslScram512Auth: "env:SCRAM"}}}}
	if got := none.LocalFiles(builtin()); len(got) != 0 {
		t.Errorf("LocalFiles without file references = %v", got)
	}
}

// TestLocalFilesKafkaTarget: the Kafka target declares its secret references, not its Key.
func TestLocalFilesKafkaTarget(t *testing.T) {
	def, err := Load([]byte(`{"Source": "smk://b:9092", "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t"}},
	  "Target": "kafka://k:9092/out", "TargetParameters": {"KafkaParameters": {"Key": "file:k",
	    "Credentials": {"SaslScram512Auth": "file:///etc/sluice/scram.json"}, "ServerRootCaCertificate": "env:CA"}}}`),
		builtin(), func(d *Definition) error { d.Name = "k"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []LocalFile{{"TargetParameters.KafkaParameters.Credentials.SaslScram512Auth", "/etc/sluice/scram.json"}}
	if diff := cmp.Diff(want, def.LocalFiles(builtin())); diff != "" {
		t.Errorf("LocalFiles (-want +got):\n%s", diff)
	}
}
