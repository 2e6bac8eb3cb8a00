package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/jsontext"
)

// FuzzParse feeds arbitrary templates to Parse. A template must either parse or fail with an *Error whose position
// lies inside it; a template that parses must render without panicking, and one without placeholders must render
// as itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "Hello", "<$.a>", `{"a": <$.a.b[0]>, "b": "<$.c[*]>"}`, `<aws.pipes.event.json>`, `{"e": <aws.pipes.event.json>}`,
		`<aws.pipes.pipe-arn><aws.pipes.event.ingestion-time>`, "a > b", "<$.a", "<<>>", `"\"<$.a>\""`, "<$[0]>",
		"{\n \"ü\": <$.value.x-y/z[*][3]>\n}", `<$.a[99999999999999999999]>`, `"\<$.a>"`,
	} {
		f.Add(s)
	}
	events := [][]byte{
		[]byte(`{"a":{"b":[1,"x",{"c":null}]},"c":[{"d":1}]}`),
		kafka([]byte(`{"k":1}`), []byte(`{"x":[1,2],"y":"z"}`)),
		[]byte(`text`),
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		tp, err := Parse(tmpl)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want *Error", tmpl, err)
			}
			if e.Offset < 0 || e.Offset > len(tmpl) || e.Line < 1 || e.Column < 1 {
				t.Fatalf("Parse(%q) error position %+v outside the template", tmpl, e)
			}
			return
		}
		if tp.String() != tmpl {
			t.Fatalf("String() = %q, want %q", tp.String(), tmpl)
		}
		for _, ev := range events {
			out, err := tp.Render(nil, ev, testVars)
			if err != nil {
				t.Fatalf("Render(%q) = %v", tmpl, err)
			}
			if tmpl != "" && !strings.Contains(tmpl, "<") && string(out) != tmpl {
				t.Fatalf("Render(%q) = %q, want the static text", tmpl, out)
			}
		}
	})
}

// jsonTemplate renders every kind of placeholder as a JSON value and inside a string, so that its output must be
// valid JSON for any event.
const jsonTemplate = `{"a": <$.a>, "b": <$.a.b[0]>, "w": <$.a[*].c>, "ww": <$.a[*][*]>, "v": <$.value>, "vx": <$.value.x[1]>,` +
	` "k": <$.key.k>, "r": <$>, "s": "<$.a> <$.value> <$.a[*]> <aws.pipes.event>", "e": <aws.pipes.event.json>,` +
	` "t": <aws.pipes.event>, "n": <aws.pipes.pipe-name>, "i": <aws.pipes.event.ingestion-time>}`

// FuzzRender renders fixed templates over arbitrary events and Kafka payloads. It checks that a JSON template
// yields valid JSON, that the scanner agrees with encoding/json on validity, and that the string helpers agree
// with encoding/json's decoding.
func FuzzRender(f *testing.F) {
	for _, s := range [][2]string{
		{`{"a":{"b":[1,"x"]},"value":"e30="}`, `{"x":[1,{"y":"\u00e9"}]}`},
		{`{"eventSource":"SelfManagedKafka","key":"eyJrIjoxfQ==","value":"WzEsMl0="}`, `"str"`},
		{`{"a":[{"c":1},{"c":"\ud83d\ude00"},{}]}`, "plain text"},
		{`{"a": tru}`, "\xff\x00"},
		{`"just a string \" \\ \/ \b"`, `{"a":`},
		{`[1, 2, {"a": 3}]`, ` 12.5e-3 `},
		{"{\"a\":{\n\t\"b\": [ 1 , 2 ] } }", "null"},
		{"", ""},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	jt, err := Parse(jsonTemplate)
	if err != nil {
		f.Fatal(err)
	}
	tt, err := Parse(`<$.a> <$.value> <$.a[*]> <aws.pipes.event>`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event, value []byte) {
		// The scanner and encoding/json agree on what is JSON.
		if _, ok := validJSON(event); ok != json.Valid(event) {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", event, ok, !ok)
		}
		// String decoding and encoding agree with encoding/json.
		if v, ok := validJSON(event); ok && v[0] == '"' && utf8.Valid(v) {
			var want string
			if err := json.Unmarshal(v, &want); err != nil {
				t.Fatal(err)
			}
			if got := jsontext.AppendUnescaped(nil, v[1:len(v)-1]); string(got) != want {
				t.Fatalf("AppendUnescaped(%q) = %q, want %q", event, got, want)
			}
		}
		if utf8.Valid(value) {
			var back string
			if err := json.Unmarshal(jsontext.AppendQuoted(nil, value), &back); err != nil || back != string(value) {
				t.Fatalf("AppendQuoted(%q) does not round-trip: %q, %v", value, back, err)
			}
		}
		// The fast path for Kafka bodies agrees with the validating walk, on raw string content too.
		for _, ev := range [][]byte{event, kafka(event, value),
			append(append([]byte(`{"eventSource":"SelfManagedKafka","value":"`), value...), `"}`...)} {
			checkBody(t, ev)
		}
		for _, ev := range [][]byte{event, kafka(event, value), kafka(value, event)} {
			out, err := jt.Render(nil, ev, testVars)
			if err != nil {
				if !errors.Is(err, ErrMalformedEvent) {
					t.Fatalf("Render(%q) = %v, want nil or ErrMalformedEvent", ev, err)
				}
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("Render(%q) = %s, not valid JSON", ev, out)
			}
			// A bound at or above the output changes nothing; below it, nothing is appended to dst.
			dst := []byte("dst:")
			if got, err := jt.RenderLimit(dst, ev, testVars, len(out)); err != nil || !bytes.Equal(got[len(dst):], out) {
				t.Fatalf("RenderLimit(%q, limit %d) = %q, %v; want the unbounded output", ev, len(out), got, err)
			}
			if limit := len(out) / 2; limit > 0 {
				got, err := jt.RenderLimit(dst, ev, testVars, limit)
				if !errors.Is(err, ErrTooLarge) || !bytes.Equal(got, dst) {
					t.Fatalf("RenderLimit(%q, limit %d of %d) = %q, %v; want dst unchanged and ErrTooLarge", ev, limit, len(out), got, err)
				}
			}
			text, err := tt.Render(nil, ev, testVars)
			if err == nil && !bytes.HasSuffix(text, ev) {
				t.Fatalf("Render(text template, %q) = %q, want it to end with the event", ev, text)
			}
		}
	})
}
