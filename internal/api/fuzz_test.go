package api

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
)

// FuzzRequestDecoder feeds arbitrary bytes to every request decoder: CreatePipe and UpdatePipe bodies
// (decode, defaults, validation, merge), TagResource bodies, ListPipes and UntagResource queries and the
// router. Properties: nothing panics; whatever is accepted is valid and survives the store's JSON
// round trip; whatever is rejected is a ValidationException with a message.
func FuzzRequestDecoder(f *testing.F) {
	seeds := []string{
		validBody,
		`{"Description":"d","DesiredState":"STOPPED","Source":"smk://b-1.example:9092","Target":"kafka://127.0.0.1:9092/out",` +
			`"SourceParameters":{"FilterCriteria":{"Filters":[{"Pattern":"{\"value\":{\"n\":[{\"numeric\":[\">\",1]}]}}"}]},` +
			`"SelfManagedKafkaParameters":{"TopicName":"t","BatchSize":10,"StartingPosition":"TRIM_HORIZON",` +
			`"Credentials":{"SaslScram512Auth":"arn:aws:secretsmanager:us-east-1:000000000000:secret:x"}}},` +
			`"TargetParameters":{"InputTemplate":"{\"v\": <$.value>}"},"Tags":{"a":"b"}}`,
		`{"SourceParameters":{"SelfManagedKafkaParameters":{"BatchSize":7}},"Enrichment":""}`,
		`{"tags":{"a":"b"}}`,
		`{"Source":1}`, `{`, `[]`, `{"Tags":{"":""}}`, "Source: x",
		`NamePrefix=p&Limit=3&NextToken=v1.cDAx`, `tagKeys=a&tagKeys=b`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), "orders")
	}
	current := mustDefinition(f)
	arns := ARNs{Region: awsid.DefaultRegion, Account: awsid.DefaultAccount}
	srv := &Server{arns: arns}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		if def, e := decodeCreate(name, data, plugin.Default); e != nil {
			checkValidation(t, "decodeCreate", e)
		} else {
			if fe := def.Validate(plugin.Default); len(fe) > 0 {
				t.Fatalf("decodeCreate accepted an invalid definition: %v", fe)
			}
			roundTrip(t, def)
		}
		if u, e := decodeUpdate("orders", data); e != nil {
			checkValidation(t, "decodeUpdate", e)
		} else if merged, err := mergeUpdate(current.Clone(), u, plugin.Default); err != nil {
			ae, ok := err.(*Error)
			if !ok {
				t.Fatalf("mergeUpdate error %T is not *Error", err)
			}
			checkValidation(t, "mergeUpdate", ae)
		} else {
			roundTrip(t, merged)
		}
		if _, e := decodeTagResource(data); e != nil {
			checkValidation(t, "decodeTagResource", e)
		}
		if q, err := url.ParseQuery(string(data)); err == nil {
			if _, e := parseListQuery(q); e != nil {
				checkValidation(t, "parseListQuery", e)
			}
			if _, e := parseUntagKeys(q); e != nil {
				checkValidation(t, "parseUntagKeys", e)
			}
		}
		_ = canonicalQuery(string(data))
		if _, e := arns.parsePipeArn(string(data)); e != nil && e.Type != TypeValidation && e.Type != TypeNotFound {
			t.Fatalf("parsePipeArn error type %s", e.Type)
		}
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			path := "/" + strings.TrimLeft(url.PathEscape(string(data)), "/")
			r := httptest.NewRequest(m, "http://x/v1/pipes", nil)
			r.URL.Path, r.URL.RawPath = "", ""
			if u, err := url.Parse(path); err == nil {
				r.URL = u
			}
			_ = srv.route(r)
		}
	})
}

func mustDefinition(f *testing.F) *pipe.Definition {
	d, e := decodeCreate("orders", []byte(validBody), plugin.Default)
	if e != nil {
		f.Fatal(e)
	}
	return d
}

func checkValidation(t *testing.T, op string, e *Error) {
	t.Helper()
	if e.Type != TypeValidation || e.Status != 400 || e.Message == "" {
		t.Fatalf("%s rejected with %s %d %q, want a ValidationException with a message", op, e.Type, e.Status, e.Message)
	}
	for _, f := range e.Fields {
		if f.Message == "" {
			t.Fatalf("%s: fieldList entry %q without a message", op, f.Name)
		}
	}
}

// roundTrip checks that an accepted definition is stored and read back unchanged and still valid.
func roundTrip(t *testing.T, def *pipe.Definition) {
	t.Helper()
	d := *def
	d.Tags = nil
	b, err := json.Marshal(&d)
	if err != nil {
		t.Fatalf("encoding an accepted definition: %v", err)
	}
	var back pipe.Definition
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decoding a stored definition: %v", err)
	}
	back.Name, back.Tags = def.Name, def.Tags
	if fe := back.Validate(plugin.Default); len(fe) > 0 {
		t.Fatalf("stored definition no longer valid: %v\n%s", fe, b)
	}
}
