package transform

import (
	"bytes"
	"encoding/base64"
	"testing"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/jsontext"
)

// TestSkipStringAgrees checks skipString against encoding/json's notion of a string token on edge cases that
// straddle the eight-byte words.
func TestSkipStringAgrees(t *testing.T) {
	cases := []struct {
		name, in   string
		end        int
		esc, valid bool
	}{
		{"empty", `""`, 2, false, true},
		{"plain long", `"abcdefghijklmnopqrstuvwxyz"`, 28, false, true},
		{"quote at word end", `"abcdef"x`, 8, false, true},
		{"escape across words", `"abcdef\"ghijkl"`, 16, true, true},
		{"unicode escape", `"abcdefg\u00e9hijk"`, 19, true, true},
		{"bad escape", `"abcdefgh\x"`, 10, true, false},
		{"short unicode", `"abcdefgh\u00"`, 10, true, false},
		{"control char", "\"abcdefghij\x01k\"", 11, false, false},
		{"raw newline", "\"abc\ndef\"", 4, false, false},
		{"unterminated", `"abcdefghijklmnop`, 17, false, false},
		{"trailing backslash", `"abcdefgh\`, 10, true, false},
		{"high bytes", "\"\x80\x9f\xff\xc3\xa9abcdefgh\"", 15, false, true},
	}
	for _, c := range cases {
		end, esc, ok := skipString([]byte(c.in), 0)
		if end != c.end || esc != c.esc || ok != c.valid {
			t.Errorf("skipString(%s) = %d, %v, %v, want %d, %v, %v", c.name, end, esc, ok, c.end, c.esc, c.valid)
		}
	}
}

// slowBody is body without decodeFast: the validating walk every value took before the fast path, kept as
// the reference the fast path must agree with.
func slowBody(event []byte, name string) body {
	var b body
	vs, ve, found, ok := member(event, skipWS(event, 0), name)
	if !ok {
		b.err = true
		return b
	}
	if !found {
		return b
	}
	b.found, b.span, b.rawStart, b.rawEnd = true, event[vs:ve], vs, ve
	if event[vs] != '"' {
		return b
	}
	src := event[vs+1 : ve-1]
	if _, esc, _ := skipString(event, vs); esc {
		src = jsontext.AppendUnescaped(nil, src)
	}
	dec, err := base64.StdEncoding.DecodeString(string(src))
	if err != nil || !utf8.Valid(dec) {
		return b
	}
	if v, ok := validJSON(dec); ok {
		b.json, b.span = true, v
	}
	return b
}

// checkBody compares st.body with slowBody on event.
func checkBody(t *testing.T, event []byte) {
	t.Helper()
	var st state
	st.reset()
	got, want := st.body(event, "value"), slowBody(event, "value")
	if got.found != want.found || got.json != want.json || got.err != want.err || !bytes.Equal(got.span, want.span) ||
		got.rawStart != want.rawStart || got.rawEnd != want.rawEnd {
		t.Fatalf("body(%q) = found %v json %v err %v span %q raw %d..%d, want found %v json %v err %v span %q raw %d..%d",
			event, got.found, got.json, got.err, got.span, got.rawStart, got.rawEnd,
			want.found, want.json, want.err, want.span, want.rawStart, want.rawEnd)
	}
}

func TestBodyFastPathAgrees(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for name, value := range map[string]string{
		"json":                `"` + b64(`{"a":1}`) + `"`,
		"json one pad":        `"` + b64(`{"ab":1}`) + `"`,
		"json two pads":       `"` + b64(`[1]`) + `"`,
		"not json":            `"` + b64(`hello`) + `"`,
		"binary":              `"` + b64("\xff\xfe\x00") + `"`,
		"empty":               `""`,
		"null":                `null`,
		"number":              `12`,
		"raw newline":         "\"eyJh\nIjoxfQ==\"",
		"escaped newline":     `"eyJh\nIjoxfQ=="`,
		"escaped slash":       `"e30\/"`,
		"escaped quote":       `"ab\"cd"`,
		"unpadded":            `"e30"`,
		"pad in middle":       `"e3==e30="`,
		"not base64":          `"****"`,
		"unterminated":        `"e30=`,
		"bad follower":        `"e30=" x`,
		"spaces after":        `"e30="  `,
		"three pads":          `"e3==="`,
		"json with ws around": `"` + b64(" {\"a\" : [1, 2]} ") + `"`,
	} {
		t.Run(name, func(t *testing.T) {
			checkBody(t, []byte(`{"eventSource":"SelfManagedKafka","value":`+value+`,"headers":[]}`))
			checkBody(t, []byte(`{"eventSource":"SelfManagedKafka","value":`+value+`}`))
		})
	}
}
