package fieldcheck

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/kafkaauth"
)

type params struct {
	Key         string                 `json:"Key,omitempty"`
	Servers     []string               `json:"Servers,omitempty"`
	Credentials *kafkaauth.Credentials `json:"Credentials,omitempty"`
}

// TestDecode: a plugin's member is decoded strictly, every problem named by its absolute path, and what
// is left is decoded.
func TestDecode(t *testing.T) {
	raw := json.RawMessage(`{"InputTemplate":"x","Mine":{"Key":"k","Servers":["a",1],"Colour":"blue","credentials":{},"Credentials":{"BasicAuth":7}}}`)
	var p *params
	present, errs := Decode(raw, "TargetParameters", "Mine", &p)
	want := []FieldError{
		{Field: "TargetParameters.Mine.Colour", Message: "unknown field"},
		{Field: "TargetParameters.Mine.Credentials.BasicAuth", Message: "must be a string, not a number"},
		{Field: "TargetParameters.Mine.Servers[1]", Message: "must be a string, not a number"},
		{Field: "TargetParameters.Mine.credentials", Message: "unknown field (member names are case-sensitive: did you mean Credentials?)"},
	}
	if !present || !cmp.Equal(errs, want, cmp.Comparer(func(a, b FieldError) bool { return a == b })) {
		t.Errorf("Decode = %v, %v; want true and\n%v", present, errs, want)
	}
	if p == nil || p.Key != "k" || !cmp.Equal(p.Servers, []string{"a", ""}) {
		t.Errorf("decoded %+v, want the rest kept", p)
	}
	if present, errs := Decode(raw, "TargetParameters", "Other", &p); present || errs != nil {
		t.Errorf("absent member: %v, %v", present, errs)
	}
	if present, _ := Decode(json.RawMessage(`{"Mine":null}`), "TargetParameters", "Mine", &p); present {
		t.Error("a null member counts as present")
	}
}

func TestCredentials(t *testing.T) {
	if errs := Credentials("C", &kafkaauth.Credentials{BasicAuth: "env:A", SaslScram256Auth: "password"}); len(errs) != 2 {
		t.Errorf("two members, one a bad reference: %v, want 2 problems", errs)
	}
	if errs := Credentials("C", &kafkaauth.Credentials{ClientCertificateTlsAuth: "file:///etc/c.json"}); errs != nil {
		t.Errorf("valid: %v", errs)
	}
}

func TestCheckSecretRef(t *testing.T) {
	for ref, ok := range map[string]bool{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:name-AbCd": true,
		"arn:aws:secretsmanager:us-east-1:12345:secret:name":             false,
		"file:///etc/secret.json":                                        true,
		"file://relative.json":                                           false,
		"env:SLUICE_SECRET":                                              true,
		"env:1BAD":                                                       false,
		"password":                                                       false,
	} {
		if err := CheckSecretRef(ref); (err == nil) != ok {
			t.Errorf("CheckSecretRef(%s) = %v, want ok=%v", ref, err, ok)
		}
	}
}
