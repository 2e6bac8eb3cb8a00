package transform

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLint(t *testing.T) {
	cases := []struct {
		name, tmpl string
		want       string // "" = no warning; else "line:column reason-substring"
	}{
		{"free text", `Order <$.value.id> is <$.value.status>`, ""},
		{"empty", ``, ""},
		{"only a placeholder", `<$.value>`, ""},
		{"object", `{"id": <$.value.id>, "name": "<$.value.name>"}`, ""},
		{"array", ` [<$.value.a>, <aws.pipes.pipe-name>, "x <aws.pipes.event>"]`, ""},
		{"event json", `{"e": <aws.pipes.event.json>}`, ""},
		{"placeholder as key", `{<$.value.k>: 1}`, ""},
		{"negated number", `{"n": -<$.value.n>}`, ""},
		{"fraction", `{"n": 1.<$.value.f>}`, ""},
		{"no placeholders", "{\n  \"a\": 1\n}\n", ""},
		{"missing closing brace", `{"id": <$.value.id>`, "1:20 not closed"},
		{"missing closing brace, multi-line", "{\n  \"id\": <$.value.id>,\n  \"n\": 1\n", "3:9 not closed"},
		{"missing comma", "{\"a\": <$.value.a>\n \"b\": 2}", "2:2 invalid character '\"' after object key:value pair"},
		{"missing comma after placeholder", `[<$.value.a> <$.value.b>]`, "1:14 "},
		{"trailing comma", `{"a": <$.value.a>,}`, "1:19 invalid character '}'"},
		{"unquoted text", `{"a": hello <$.value.a>}`, "1:7 invalid character 'h'"},
		{"text after the value", `{"a": <$.value.a>} and more`, "1:20 unexpected text"},
		{"unclosed string", `{"a": "<$.value.a>}`, "1:20 not closed"},
		{"multibyte columns", `{"é": <$.value.a> "b"}`, "1:19 invalid character '\"'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := Parse(tc.tmpl)
			if err != nil {
				t.Fatalf("Parse(%s) = %v", tc.tmpl, err)
			}
			err = tp.Lint()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Lint(%s) = %v, want nil", tc.tmpl, err)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("Lint(%s) = %v, want an *Error", tc.tmpl, err)
			}
			pos, reason, _ := strings.Cut(tc.want, " ")
			if got := fmt.Sprintf("%d:%d", te.Line, te.Column); got != pos || !strings.Contains(te.Reason, reason) {
				t.Errorf("Lint(%s) = %v (at %s), want %s containing %q", tc.tmpl, err, got, pos, reason)
			}
		})
	}
}

// FuzzLint checks that Lint never panics and agrees with rendering: when it reports nothing for a JSON-looking
// template, rendering it on an event renders JSON.
func FuzzLint(f *testing.F) {
	for _, s := range []string{`{"id": <$.value.id>`, `[<$.a>, "<$.b>"]`, `{<$.k>: -<$.n>}`, "{\n\"a\": 1,\n}", `x <$.a>`} {
		f.Add(s)
	}
	event := []byte(`{"value": {"id": 7, "k": "key", "n": 2, "a": [1], "b": "s"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := Parse(s)
		if err != nil {
			return
		}
		lintErr := tp.Lint()
		var te *Error
		if lintErr != nil && !errors.As(lintErr, &te) {
			t.Fatalf("Lint(%q) = %T, want *Error", s, lintErr)
		}
		if te != nil && (te.Offset < 0 || te.Offset > len(s)) {
			t.Fatalf("Lint(%q) offset %d outside the template", s, te.Offset)
		}
		out, err := tp.Render(nil, event, nil)
		if err == nil && lintErr != nil && json.Valid(out) {
			t.Fatalf("Lint(%q) = %v, but it renders to JSON: %s", s, lintErr, out)
		}
	})
}
