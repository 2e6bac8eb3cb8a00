package awsclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

func kafkaEvent(value string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"eventSource":"SelfManagedKafka","topic":"t","partition":0,"offset":0,"value":%q}`,
		base64.StdEncoding.EncodeToString([]byte(value))))
}

func TestDynamicResolve(t *testing.T) {
	c := plugin.Check{Params: json.RawMessage(`{"InputTemplate":"x","M":{"Name":"$.value.name","Count":2,"Flag":true,
		"List":["static","$.value.items[1]","$.value.missing"],"Map":{"$.not.a.key":"$.value.n"},"Obj":"$.value.obj","Lit":"$5"}}`)}
	d, errs := ParseDynamic(c, "M")
	if len(errs) > 0 || d.Static() {
		t.Fatalf("ParseDynamic = %v, static %v", errs, d.Static())
	}
	got, err := d.Resolve(kafkaEvent(`{"name":"a \"b\"","items":["x","y"],"n":7,"obj":{"k":"v"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("Resolve gave %s: %v", got, err)
	}
	want := map[string]any{
		"Name": `a "b"`, "Count": 2.0, "Flag": true,
		"List": []any{"static", "y"}, // a missing path leaves the element out
		"Map":  map[string]any{"$.not.a.key": "7"},
		"Obj":  "{k:v}", // an object as text, as a template made of only the placeholder renders it
		"Lit":  "$5",    // not a path: literal
	}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("Resolve (-want +got):\n%s", d)
	}

	var p struct{ Name string }
	if err := d.Decode(plugin.Batch{Inputs: []json.RawMessage{kafkaEvent(`{"name":"n1"}`)}}, 0, &p); err != nil || p.Name != "n1" {
		t.Errorf("Decode = %+v, %v; want Name n1", p, err)
	}
	if err := d.Decode(plugin.Batch{}, 0, &p); !plugin.IsPermanent(err) {
		t.Errorf("Decode without the input = %v, want a permanent error", err)
	}
	if err := d.Decode(plugin.Batch{Inputs: []json.RawMessage{json.RawMessage(`{"value": {`)}}, 0, &p); !plugin.IsPermanent(err) {
		t.Errorf("Decode of a malformed event = %v, want a permanent error", err)
	}
}

func TestParseDynamicErrors(t *testing.T) {
	c := plugin.Check{Params: json.RawMessage(`{"M":{"A":["$.ok","$.bad["],"B":{"C":"$."}}}`)}
	_, errs := ParseDynamic(c, "M")
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	if d := cmp.Diff([]string{"TargetParameters.M.A[1]", "TargetParameters.M.B.C"}, fields); d != "" {
		t.Errorf("ParseDynamic error fields (-want +got):\n%s", d)
	}
	d, errs := ParseDynamic(plugin.Check{}, "M")
	var v map[string]any
	if len(errs) > 0 || !d.Static() || d.Decode(plugin.Batch{}, 0, &v) != nil || len(v) != 0 {
		t.Errorf("ParseDynamic of an absent member = %v, %v; want an empty static object", errs, v)
	}
}

func TestRefused(t *testing.T) {
	s := func(v string) *string { return &v }
	codes := []*string{nil, s("ProvisionedThroughputExceededException"), nil, s("InternalFailure")}
	code := func(j int) (*string, *string) { return codes[j], s("msg") }

	if err := Refused("call", 0, 4, code); err != nil {
		t.Errorf("Refused(count 0) = %v", err)
	}
	err := Refused("call", 2, 4, code)
	var pe *plugin.PartialError
	var th *plugin.ThrottledError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{1, 3}) || !errors.As(pe.Err, &th) {
		t.Errorf("Refused = %v, want PartialError{Failed: [1 3]} throttled (the first refusal's class)", err)
	}
	all := func(int) (*string, *string) { return s("AccessDeniedException"), nil }
	if err := Refused("call", 2, 2, all); errors.As(err, &pe) || !plugin.IsPermanent(err) {
		t.Errorf("Refused(every entry) = %v, want the permanent error alone", err)
	}
	if err := Refused("call", 1, 2, func(int) (*string, *string) { return nil, nil }); err == nil || errors.As(err, &pe) {
		t.Errorf("Refused(count without codes) = %v, want an error of the whole call", err)
	}
}

func TestEachEvent(t *testing.T) {
	var calls []int
	fail := errors.New("boom")
	err := EachEvent(context.Background(), 4, func(_ context.Context, i int) error {
		calls = append(calls, i)
		if i == 2 {
			return fail
		}
		return nil
	})
	var pe *plugin.PartialError
	if !errors.As(err, &pe) || !cmp.Equal(pe.Failed, []int{2, 3}) || !errors.Is(err, fail) || !cmp.Equal(calls, []int{0, 1, 2}) {
		t.Errorf("EachEvent = %v after calls %v, want PartialError{Failed: [2 3]} after 0 1 2", err, calls)
	}
	if err := EachEvent(context.Background(), 2, func(context.Context, int) error { return fail }); errors.As(err, &pe) || !errors.Is(err, fail) {
		t.Errorf("EachEvent failing first = %v, want the error alone", err)
	}
}

func TestTargetARN(t *testing.T) {
	for _, tc := range []struct {
		arn, name string
		errs      int
	}{
		{"arn:aws:kinesis:us-east-1:123456789012:stream/s", "s", 0},
		{"arn:aws:kinesis::123456789012:stream/s", "s", 0},
		{"arn:aws:kinesis:us-east-1::stream/s", "s", 1},
		{"arn:aws:sqs:us-east-1:123456789012:stream/s", "s", 1},
		{"arn:aws:kinesis:us-east-1:123456789012:table/s", "", 1},
		{"kinesis:stream/s", "", 1},
	} {
		_, name, errs := TargetARN(tc.arn, "kinesis", "stream/")
		if name != tc.name || len(errs) != tc.errs {
			t.Errorf("TargetARN(%s) = %q, %v; want %q and %d errors", tc.arn, name, errs, tc.name, tc.errs)
		}
	}
}

func TestDecodeMember(t *testing.T) {
	var v struct {
		A *string
		B []int
	}
	for _, tc := range []struct {
		params  string
		present bool
		want    []plugin.FieldError
	}{
		{`{"M":{"A":"x","B":[1]}}`, true, nil},
		{`{"Other":{}}`, false, nil},
		{`{"M":null}`, false, nil},
		{`{"M":{"C":1}}`, true, []plugin.FieldError{{Field: "TargetParameters.M", Message: `has unknown member "C"`}}},
		{`{"M":{"B":["x"]}}`, true, []plugin.FieldError{{Field: "TargetParameters.M.B", Message: "must be an integer, not string"}}},
		{`[]`, false, []plugin.FieldError{{Field: "TargetParameters"}}},
	} {
		present, errs := DecodeMember(plugin.Check{Params: json.RawMessage(tc.params)}, "M", &v)
		if len(errs) == 1 && len(tc.want) == 1 && tc.want[0].Message == "" {
			errs[0].Message = ""
		}
		if present != tc.present || !cmp.Equal(errs, tc.want) {
			t.Errorf("DecodeMember(%s) = %v, %v; want %v, %v", tc.params, present, errs, tc.present, tc.want)
		}
	}
}

// FuzzDynamic: no parameter object or event makes ParseDynamic or Resolve panic, and what Resolve gives
// is JSON.
func FuzzDynamic(f *testing.F) {
	f.Add(`{"A":"$.value.a","B":["$.value.b[0]",1,null,{"C":"$"}]}`, `{"eventSource":"SelfManagedKafka","value":"eyJhIjoxfQ=="}`)
	f.Add(`{"A":"$.x[*]"}`, `{"x":[1,"2",{"y":3}]}`)
	f.Add(`"$.a"`, `{"a":"\u0000"}`)
	f.Fuzz(func(t *testing.T, params, event string) {
		d, errs := ParseDynamic(plugin.Check{Params: json.RawMessage(`{"M":` + params + `}`)}, "M")
		if d == nil || len(errs) > 0 {
			return
		}
		out, err := d.Resolve([]byte(event))
		if err == nil && out != nil && !json.Valid(out) {
			t.Fatalf("Resolve(%s, %s) = %s, not JSON", params, event, out)
		}
	})
}

func TestResourceID(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:ecs:eu-west-1:123456789012:cluster/c": "arn:aws:ecs:eu-west-1:123456789012:cluster/c",
		"arn:aws:ecs::123456789012:cluster/c":          "c",
		"arn:aws:ecs::123456789012:service/c":          "arn:aws:ecs::123456789012:service/c",
	} {
		if got := ResourceID(arn, "ecs", "cluster/"); got != want {
			t.Errorf("ResourceID(%s) = %q, want %q", arn, got, want)
		}
	}
}
