package pipe

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

func TestDecodeEdgeCases(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // "" = ok; otherwise a substring of the error
	}{
		{"empty", "  \n", "empty pipe definition"},
		{"array", `[1]`, "must be a JSON object"},
		{"trailing data", `{"Name":"a"} {"Name":"b"}`, "unexpected data"},
		{"null members are absent", `{"Name":"a","SourceParameters":null,"Tags":null,"Description":null}`, ""},
		{"null raw member", `{"SourceParameters":{"SqsQueueParameters":null}}`, ""},
		{"float batch size", `{"SourceParameters":{"SelfManagedKafkaParameters":{"BatchSize":1.5}}}`, "BatchSize: must be an integer, not 1.5"},
		{"huge integer", `{"SourceParameters":{"SelfManagedKafkaParameters":{"BatchSize":99999999999999999999}}}`, "must be an integer"},
		{"wrong object type", `{"SourceParameters":"x"}`, "SourceParameters: must be an object, not a string"},
		{"wrong array type", `{"SourceParameters":{"FilterCriteria":{"Filters":{}}}}`, "Filters: must be an array, not an object"},
		{"case-insensitive match refused", `{"target":"file:///x"}`, "did you mean Target?"},
		{"yaml unknown field", "Name: a\nSorce: smk://a:1\n", "Sorce: unknown field"},
		{"yaml wrong type", "Name: a\nTags: [1]\n", "Tags: must be an object, not an array"},
		{"yaml is not an object", "- a\n", "must be a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Decode(%s) = %v, want no error", tc.in, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Decode(%s) = %v, want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
	if _, err := Decode(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Decode(nil) = %v, want ErrEmpty", err)
	}
}

// TestTargetStrings: the Target string is checked generically here (an ARN or a URI of a registered kind)
// and by its plugin's Validate (file, http, kafka), whose problems Validate reports on "Target".
func TestTargetStrings(t *testing.T) {
	cases := []struct {
		in, kind, want string // want: "" ok, else error substring
	}{
		{"file:///dev/stdout", "file", ""},
		{"file://localhost/tmp/x.jsonl", "file", ""},
		{"file://out.jsonl", "", "use file:///absolute/path"},
		{"file:///tmp/dir/", "", "must name a file"},
		{"file:///tmp/x?fsync=never", "file", ""},
		{"file:///tmp/x?fsync=batch", "file", ""},
		{"file:///tmp/x?fsync=always", "", `fsync must be "batch" or "never"`},
		{"file:///tmp/x?mode=0600", "", "unknown option"},
		{"https://api.example.com/a/*/b?x=1", "https", ""},
		{"http://127.0.0.1:8080", "http", ""},
		{"HTTP://127.0.0.1:8080/x", "http", ""},
		{"https:///nohost", "", "no host"},
		{"https://u:p@h/x", "", "credentials"},
		{"https://h/x#frag", "", "fragment"},
		{"kafka://localhost:9092/out", "kafka", ""},
		{"kafka://10.0.0.1:9092/a.b-c_d", "kafka", ""},
		{"kafka://localhost/out", "", "host:port"},
		{"kafka://localhost:70000/out", "", "port must be 1..65535"},
		{"kafka://localhost:9092", "", "kafka://host:port"},
		{"kafka://a:9092,b.example.com:9093/out", "kafka", ""},
		{"kafka://[::1]:9092/out", "kafka", ""},
		{"kafka://a:9092,/out", "", "must be host:port"},
		{"kafka://bad_host:9092/out", "", "not a DNS name"},
		{"kafka://localhost:9092/bad topic", "", "only letters"},
		{"arn:aws:sqs:us-east-1:123456789012:queue", "sqs", ""},
		{"arn:aws:sqs", "", "not a valid ARN"},
		{"ftp://x/y", "", `target kind "ftp" is not supported`},
		{"just-a-name", "", "must be an ARN or a URI"},
	}
	reg := builtin()
	reg.AddTarget(plugin.TargetSpec{Kinds: []string{"sqs"}, New: func(context.Context, plugin.Env, plugin.Check) (plugin.Target, error) { return nil, nil }})
	for _, tc := range cases {
		d := &Definition{Name: "p", Source: "smk://localhost:9092", Target: tc.in,
			SourceParameters: &SourceParameters{SelfManagedKafkaParameters: &SelfManagedKafkaParameters{TopicName: "t"}}}
		d.SetDefaults(reg)
		var msgs []string
		for _, fe := range d.Validate(reg) {
			if fe.Field == "Target" {
				msgs = append(msgs, fe.Message)
			}
		}
		got := strings.Join(msgs, "; ")
		switch {
		case tc.want == "" && got != "":
			t.Errorf("Target %s: %s, want ok", tc.in, got)
		case tc.want == "" && plugin.Kind(tc.in) != tc.kind:
			t.Errorf("Kind(%s) = %q, want %q", tc.in, plugin.Kind(tc.in), tc.kind)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("Target %s: %q, want a problem containing %q", tc.in, got, tc.want)
		}
	}
}

func TestParseSource(t *testing.T) {
	cases := []struct{ in, broker, want string }{
		{"smk://localhost:9092", "localhost:9092", ""},
		{"smk://b-1.kafka.example.com:9096", "b-1.kafka.example.com:9096", ""},
		{"smk://127.0.0.1:9092", "127.0.0.1:9092", ""},
		{"smk://localhost", "", "smk://host:port"},
		{"smk://[::1]:9092", "", "smk://host:port"},
		{"smk://-bad:9092", "", "smk://host:port"},
		{"smk://localhost:99999", "", "out of range"},
		{"kafka://localhost:9092", "", "must be smk://host:port"},
		{"arn:aws:kafka:us-east-1:123456789012:cluster/c/u", "", "self-managed Kafka only"},
	}
	for _, tc := range cases {
		b, err := ParseSource(tc.in)
		switch {
		case tc.want == "" && (err != nil || b != tc.broker):
			t.Errorf("ParseSource(%s) = %q, %v, want %q", tc.in, b, err, tc.broker)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ParseSource(%s) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestCredentialsMechanism(t *testing.T) {
	cases := []struct {
		c          *KafkaCredentials
		mech, want string
	}{
		{nil, "", ""},
		{&KafkaCredentials{BasicAuth: "env:A"}, "PLAIN", "env:A"},
		{&KafkaCredentials{SaslScram256Auth: "env:B"}, "SCRAM-SHA-256", "env:B"},
		{&KafkaCredentials{SaslScram512Auth: "env:C"}, "SCRAM-SHA-512", "env:C"},
		{&KafkaCredentials{ClientCertificateTlsAuth: "env:D"}, "MTLS", "env:D"},
	}
	for _, tc := range cases {
		if m, r := tc.c.Mechanism(); m != tc.mech || r != tc.want {
			t.Errorf("Mechanism(%+v) = %s, %s, want %s, %s", tc.c, m, r, tc.mech, tc.want)
		}
	}
}

func TestSetDefaultsIdempotent(t *testing.T) {
	d := mustLoad(t, "testdata/good/http-target.json")
	before := d.Clone()
	d.SetDefaults(builtin())
	if fe := d.Validate(builtin()); len(fe) > 0 {
		t.Fatal(fe)
	}
	if before.SourceParameters.SelfManagedKafkaParameters.ConsumerGroupID != d.SourceParameters.SelfManagedKafkaParameters.ConsumerGroupID {
		t.Errorf("second SetDefaults changed the consumer group")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"Name":"a"}`, "Name: a\n", `{"SourceParameters":{"SelfManagedKafkaParameters":{"BatchSize":1}}}`, `{"Tags":{"a":"b"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		var fe FieldErrors
		if err != nil && !errors.As(err, &fe) {
			if d != nil {
				t.Fatalf("Decode(%q) = a definition and %v, want nil with a plain error", data, err)
			}
			return
		}
		if d == nil {
			return // not an object
		}
		// A partly decoded definition must be as safe to default and validate as a whole one.
		d.SetDefaults(builtin())
		_ = fe.Join(d.Validate(builtin()))
		_ = d.Clone()
	})
}

// TestDecodeKeepsGoing checks that decode problems do not hide the rest: the partly decoded definition
// comes back with the FieldErrors, and validating it adds the other problems (the first decode error used to
// hide them).
func TestDecodeKeepsGoing(t *testing.T) {
	in := `{
	  "Name": "p", "Naem": "x", "Source": "smk://localhost:9092",
	  "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "bad topic", "BatchSize": "10"}},
	  "Target": 7, "DesiredState": "PAUSED"
	}`
	d, err := Decode([]byte(in))
	var fe FieldErrors
	if !errors.As(err, &fe) || d == nil {
		t.Fatalf("Decode = %v, %v, want a partial definition and FieldErrors", d, err)
	}
	if d.Name != "p" || d.SourceParameters.SelfManagedKafkaParameters.BatchSize != nil {
		t.Errorf("partial definition = %+v, want Name kept and the bad BatchSize unset", d)
	}
	d.SetDefaults(builtin())
	got := fe.Join(d.Validate(builtin()))
	want := FieldErrors{
		{Field: "DesiredState", Message: `must be one of RUNNING, STOPPED, not "PAUSED"`},
		{Field: "Naem", Message: "unknown field"},
		{Field: "SourceParameters.SelfManagedKafkaParameters.BatchSize", Message: "must be an integer, not a string"},
		{Field: "SourceParameters.SelfManagedKafkaParameters.TopicName", Message: ""},
		{Field: "Target", Message: "must be a string, not a number"}, // and not also "is required"
	}
	if len(got) != len(want) {
		t.Fatalf("Join(Validate) = %v, want %d problems: %v", got, len(want), want)
	}
	for i := range want {
		if got[i].Field != want[i].Field || (want[i].Message != "" && got[i].Message != want[i].Message) {
			t.Errorf("problem %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestJoinCovers(t *testing.T) {
	decode := FieldErrors{{Field: "SourceParameters.SelfManagedKafkaParameters", Message: "must be an object, not a string"}, {Field: "Tags[a]", Message: "must be a string, not a number"}}
	later := FieldErrors{
		{Field: "SourceParameters.SelfManagedKafkaParameters", Message: "is required"},
		{Field: "SourceParameters.SelfManagedKafkaParameters.TopicName", Message: "is required"},
		{Field: "SourceParameters.SelfManagedKafkaParametersX", Message: "kept"},
		{Field: "Tags[a] key", Message: "dropped"},
		{Field: "Tags[ab]", Message: "kept"},
		{Field: "Target", Message: "kept"},
	}
	got := decode.Join(later)
	var kept []string
	for _, f := range got {
		kept = append(kept, f.Field+": "+f.Message)
	}
	want := []string{
		"SourceParameters.SelfManagedKafkaParameters: must be an object, not a string",
		"SourceParameters.SelfManagedKafkaParametersX: kept",
		"Tags[a]: must be a string, not a number",
		"Tags[ab]: kept",
		"Target: kept",
	}
	if diff := cmp.Diff(want, kept); diff != "" {
		t.Errorf("Join (-want +got):\n%s", diff)
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"trailing comma", "{\n  \"Name\": \"p\",\n}", "line 3, column 1: invalid character '}'"},
		{"leading blank lines count", "\n\n{\"Name\" \"p\"}", "line 3, column 9: invalid character '\"' after object key"},
		{"column in characters", "{\"Description\": \"é\" x}", "line 1, column 21: invalid character 'x'"},
		{"unclosed object", "{\n  \"Tags\": {\"a\": \"b\"\n\n", "line 2, column 20: unexpected end of input"},
		{"unclosed string", "{\"Name\": \"p", "line 1, column 12: unexpected end of input"},
		{"trailing data", "{}\n {}", "line 2, column 2: unexpected data after the top-level object"},
		{"yaml line", "\n\nName: p\nTags: [x\n", "yaml: line 4:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode(%q) = %v, want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestPosition(t *testing.T) {
	text := []byte("ab\nçd\n")
	cases := []struct {
		off       int64
		line, col int
	}{{-1, 1, 1}, {0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {5, 2, 2}, {6, 2, 3}, {7, 3, 1}, {99, 3, 1}}
	for _, tc := range cases {
		if l, c := Position(text, tc.off); l != tc.line || c != tc.col {
			t.Errorf("Position(%d) = %d:%d, want %d:%d", tc.off, l, c, tc.line, tc.col)
		}
	}
}

func TestWarnings(t *testing.T) {
	d := mustLoad(t, "testdata/good/minimal.json")
	if w := d.Warnings(); len(w) != 0 {
		t.Errorf("Warnings(minimal) = %v, want none", w)
	}
	enrich, target := `{"id": <$.value.id>`, "Order <$.value.id>"
	d.EnrichmentParameters = &EnrichmentParameters{InputTemplate: &enrich}
	d.TargetParameters = &TargetParameters{InputTemplate: &target}
	w := d.Warnings()
	if len(w) != 1 || w[0].Field != "EnrichmentParameters.InputTemplate" ||
		!strings.Contains(w[0].Message, "line 1, column 20: starts like JSON but does not render to JSON") {
		t.Errorf("Warnings = %v, want one for EnrichmentParameters.InputTemplate at line 1, column 20", w)
	}
}
