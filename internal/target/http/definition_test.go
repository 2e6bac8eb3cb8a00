package httptarget

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

// TestFromDefinition goes the way the runtime does: a YAML definition is decoded, defaulted and
// validated by package pipe, its TargetParameters are marshalled and handed to the registered factory.
func TestFromDefinition(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
	}))
	defer srv.Close()
	def, err := pipe.Decode([]byte(`
Name: webhook
Source: smk://localhost:9092
SourceParameters:
  SelfManagedKafkaParameters: {TopicName: orders}
Target: ` + srv.URL + `/orders/*
TargetParameters:
  InputTemplate: '{"id": <$.value.id>}'
  HttpParameters:
    PathParameterValues: [$.value.id]
    HeaderParameters: {X-City: $.value.city}
  ApiDestinationParameters:
    HttpMethod: PATCH
    Connection:
      AuthorizationType: BASIC
      AuthParameters: {BasicAuthParameters: {SecretArn: "env:BASIC"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	def.SetDefaults(plugin.Default)
	if fe := def.Validate(plugin.Default); len(fe) > 0 {
		t.Fatal(fe)
	}
	if bs := *def.SourceParameters.SelfManagedKafkaParameters.BatchSize; bs != 1 {
		t.Errorf("default BatchSize for an HTTP target = %d, want 1", bs)
	}
	spec, ok := plugin.Default.TargetSpec(def.Target)
	if !ok {
		t.Fatalf("no plugin for %s", def.Target)
	}
	chk, err := def.TargetCheck()
	if err != nil {
		t.Fatal(err)
	}
	it, err := spec.New(context.Background(), plugin.Env{PipeName: def.Name, Secrets: testSecrets}, chk)
	if err != nil {
		t.Fatal(err)
	}
	input := kafkaRecord(`{"id":"o-7","city":"Seattle"}`)
	if err := it.Deliver(context.Background(), plugin.Batch{Payloads: []json.RawMessage{json.RawMessage(`{"id":"o-7"}`)}, Inputs: []json.RawMessage{input}}); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Method != "PATCH" || got.URL.Path != "/orders/o-7" || got.Header.Get("X-City") != "Seattle" ||
		!strings.HasPrefix(got.Header.Get("Authorization"), "Basic ") {
		t.Errorf("request = %+v", got)
	}
}
