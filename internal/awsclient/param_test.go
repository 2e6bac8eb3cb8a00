package awsclient

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/plugin"
)

const field = "TargetParameters.SqsQueueParameters.MessageGroupId"

func TestParseParam(t *testing.T) {
	cases := []struct {
		value          string
		zero, path, ok bool
	}{
		{value: "", zero: true, ok: true},
		{value: "orders", ok: true},
		{value: "$", ok: true},          // not "$.": a static value
		{value: "price in $", ok: true}, // likewise
		{value: "$.value.orderId", path: true, ok: true},
		{value: "$.items[0].sku", path: true, ok: true},
		{value: "$.items[*].sku", path: true, ok: true},
		{value: "$.", ok: false},
		{value: "$.a b", ok: false},
		{value: "$.a[x]", ok: false},
	}
	for _, c := range cases {
		p, errs := ParseParam(field, c.value)
		if c.ok != (len(errs) == 0) {
			t.Errorf("ParseParam(%q) errors = %v, want ok %v", c.value, errs, c.ok)
			continue
		}
		if !c.ok {
			if len(errs) != 1 || errs[0].Field != field || !strings.Contains(errs[0].Message, "JSON path") {
				t.Errorf("ParseParam(%q) errors = %v, want one naming %s", c.value, errs, field)
			}
			continue
		}
		if p.IsZero() != c.zero || p.IsPath() != c.path || p.String() != c.value {
			t.Errorf("ParseParam(%q) = zero %v, path %v, %q; want zero %v, path %v", c.value, p.IsZero(), p.IsPath(), p.String(), c.zero, c.path)
		}
	}
}

func TestParamValue(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	// A Pipes Kafka event: the value is base64 of JSON, which paths read decoded (implicit body parsing).
	kafka := `{"eventSource":"SelfManagedKafka","topic":"t","partition":0,"offset":1,"key":"` + b64("k-1") +
		`","value":"` + b64(`{"orderId":"o-7","qty":3,"ok":true,"none":null,"items":[{"sku":"a"}],"esc":"a\"b"}`) + `"}`
	cases := []struct {
		value, event string
		want         string
		wantErr      error
	}{
		{value: "static", event: `not json`, want: "static"},
		{value: "$.value.orderId", event: kafka, want: "o-7"},
		{value: "$.value.qty", event: kafka, want: "3"},
		{value: "$.value.ok", event: kafka, wantErr: ErrParamNotScalar}, // a boolean routes nothing (README, Targets)
		{value: "$.value.esc", event: kafka, want: `a"b`},
		{value: "$.value.items[0].sku", event: kafka, want: "a"},
		{value: "$.key", event: kafka, want: b64("k-1")}, // not JSON: stays base64, as Pipes does
		{value: "$.partition", event: kafka, want: "0"},
		{value: "$.value.missing", event: kafka, wantErr: ErrParamMissing},
		{value: "$.value.none", event: kafka, wantErr: ErrParamNotScalar},
		{value: "$.value.items", event: kafka, wantErr: ErrParamNotScalar},
		{value: "$.value.items[*].sku", event: kafka, wantErr: ErrParamNotScalar},
		{value: "$.value", event: kafka, wantErr: ErrParamNotScalar},
		{value: "$.a", event: `not json`, wantErr: ErrParamMissing},
		{value: "$.a", event: `{"a":"x`, wantErr: errors.New("any")}, // malformed
	}
	for _, c := range cases {
		p, errs := ParseParam(field, c.value)
		if errs != nil {
			t.Fatalf("ParseParam(%q): %v", c.value, errs)
		}
		got, err := p.Value([]byte(c.event))
		if c.wantErr == nil {
			if err != nil || got != c.want {
				t.Errorf("Value(%s) = %q, %v; want %q", c.value, got, err, c.want)
			}
			continue
		}
		if err == nil || !plugin.IsPermanent(err) || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), c.value) {
			t.Errorf("Value(%s) error = %v; want a permanent error naming the field and the path", c.value, err)
			continue
		}
		if c.wantErr.Error() != "any" && !errors.Is(err, c.wantErr) {
			t.Errorf("Value(%s) error = %v; want %v", c.value, err, c.wantErr)
		}
	}
}

func FuzzParam(f *testing.F) {
	f.Add("$.value.orderId", `{"value":{"orderId":"x"}}`)
	f.Add("static", ``)
	f.Add("$.a[0]", `{"a":[1]}`)
	f.Fuzz(func(t *testing.T, value, event string) {
		p, errs := ParseParam(field, value)
		if errs != nil {
			return
		}
		got, err := p.Value([]byte(event))
		if err == nil && !p.IsPath() && got != value {
			t.Fatalf("static Value = %q, want %q", got, value)
		}
	})
}
