package awsclient

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/internal/plugin"
)

// TestDynamicParameterRule is the README's rule for dynamic parameters ("Targets"), checked on the two
// ways targets read them, with the same events: a key that routes the record (Param: Kinesis
// PartitionKey, SQS MessageGroupId) resolves to a string or a number, else that event fails permanently;
// an optional request member (Dynamic: the ECS, Batch, Redshift and SageMaker parameter objects) whose
// path finds nothing, or finds JSON null, is left out.
func TestDynamicParameterRule(t *testing.T) {
	event := kafkaEvent(`{"s":"o-1","n":42,"f":1.5,"b":true,"z":null,"o":{"k":"v"},"a":[1,2]}`)
	cases := []struct {
		path string
		// key is Param's value ("" with keyErr set: the event fails permanently).
		key    string
		keyErr error
		// member is Dynamic's resolved member (absent: left out).
		member  string
		omitted bool
	}{
		{path: "$.value.s", key: "o-1", member: "o-1"},
		{path: "$.value.n", key: "42", member: "42"},
		{path: "$.value.f", key: "1.5", member: "1.5"},
		{path: "$.value.b", keyErr: ErrParamNotScalar, member: "true"},
		{path: "$.value.o", keyErr: ErrParamNotScalar, member: "{k:v}"},
		{path: "$.value.a", keyErr: ErrParamNotScalar, member: "[1,2]"},
		{path: "$.value.z", keyErr: ErrParamNotScalar, omitted: true},
		{path: "$.value.missing", keyErr: ErrParamMissing, omitted: true},
		{path: "$.partition", key: "0", member: "0"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			p, errs := ParseParam("TargetParameters.KinesisStreamParameters.PartitionKey", c.path)
			if errs != nil {
				t.Fatal(errs)
			}
			key, err := p.Value(event)
			switch {
			case c.keyErr == nil && (err != nil || key != c.key):
				t.Errorf("routing key = %q, %v; want %q", key, err, c.key)
			case c.keyErr != nil && (!errors.Is(err, c.keyErr) || !plugin.IsPermanent(err)):
				t.Errorf("routing key = %q, %v; want a permanent %v", key, err, c.keyErr)
			}

			d, errs := ParseDynamic(plugin.Check{Params: json.RawMessage(`{"M":{"Group":"` + c.path + `","List":["x","` + c.path + `"]}}`)}, "M")
			if errs != nil {
				t.Fatal(errs)
			}
			raw, err := d.Resolve(event)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Group *string
				List  []string
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("Resolve gave %s: %v", raw, err)
			}
			if c.omitted {
				if got.Group != nil || len(got.List) != 1 {
					t.Errorf("optional member = %s; want Group and the list element left out", raw)
				}
				return
			}
			if got.Group == nil || *got.Group != c.member || len(got.List) != 2 || got.List[1] != c.member {
				t.Errorf("optional member = %s; want %q", raw, c.member)
			}
		})
	}
}
