package api

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/pipes/types"

	"github.com/sluicehq/sluice/internal/sandbox"
)

// TestFileRootsPluginFiles: under file roots (serve --file-root) CreatePipe checks the files the plugins
// declare (their Files hook), not every "file:" string in their parameters: an HTTP header value
// "file:x" is sent, never opened, and is accepted; a connection's secret reference outside the roots is
// refused naming its field.
func TestFileRootsPluginFiles(t *testing.T) {
	root := t.TempDir()
	files, err := sandbox.NewFiles([]string{root}, false)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(s *setup) { s.Sandbox.Files = files })
	const pipe = `{"Source":"smk://127.0.0.1:9092","SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"t","BatchSize":1}},
		"Target":"https://t.example/orders","TargetParameters":{"HttpParameters":{"HeaderParameters":{"X-Origin":"file:x"},
		"QueryStringParameters":{"from":"file:///etc/passwd"}}%s}, "DesiredState":"STOPPED"}`

	if r := h.raw("POST", "/v1/pipes/header", strings.Replace(pipe, "%s", "", 1)); r.status != 200 {
		t.Fatalf("CreatePipe with a header value file:x = %d %s, want 200", r.status, r.raw)
	}
	h.waitState("header", types.PipeStateStopped)

	secret := `,"ApiDestinationParameters":{"Connection":{"AuthorizationType":"BASIC",
		"AuthParameters":{"BasicAuthParameters":{"SecretArn":"file:///etc/sluice/basic.json"}}}}`
	r := h.raw("POST", "/v1/pipes/secret", strings.Replace(pipe, "%s", secret, 1))
	if r.status != 400 || r.typ != TypeValidation {
		t.Fatalf("CreatePipe with a secret outside the roots = %d %s %s, want 400 ValidationException", r.status, r.typ, r.raw)
	}
	const field = "TargetParameters.ApiDestinationParameters.Connection.AuthParameters.BasicAuthParameters.SecretArn"
	if len(r.body.FieldList) != 1 || r.body.FieldList[0].Name != field {
		t.Errorf("fieldList %+v, want one problem on %s", r.body.FieldList, field)
	}

	// Inside a root the same secret reference is accepted.
	inside := strings.Replace(secret, "/etc/sluice", root, 1)
	if r := h.raw("POST", "/v1/pipes/inside", strings.Replace(pipe, "%s", inside, 1)); r.status != 200 {
		t.Errorf("CreatePipe with a secret inside the root = %d %s, want 200", r.status, r.raw)
	}
}
