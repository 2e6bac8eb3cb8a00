package jsontext

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// jsonText returns the text encoding/json decodes from the JSON string data, and whether data is one.
func jsonText(data []byte) (string, bool) {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return "", false
	}
	return s, true
}

// FuzzJSONText compares the package with encoding/json: both escapers produce JSON strings that decode to
// what encoding/json's own encoding decodes to (AppendQuotedUTF8 also being valid UTF-8 without U+2028 or
// U+2029), AppendUnescaped decodes the content of valid strings as encoding/json does and inverts
// AppendEscaped byte for byte, and the scanners agree with their byte-by-byte definitions.
func FuzzJSONText(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "\x00\x1f\n\t\r\b\f", "\xff\xfe", "\u2028\u2029", "é✓𝄞", "<>&",
		`\ud834\udd1e`, `\ud834`, `\u00e9\n\"`, `abc\`, `\u12`, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x01\"\\"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := string(in)
		marshalled, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := jsonText(marshalled) // s with each invalid UTF-8 byte replaced by U+FFFD

		q := AppendQuoted(nil, s)
		if got, ok := jsonText(q); !ok || got != want {
			t.Fatalf("AppendQuoted(%q) = %q decodes to %q (ok %v), want %q", s, q, got, ok, want)
		}
		if back := AppendUnescaped(nil, q[1:len(q)-1]); !bytes.Equal(back, in) {
			t.Fatalf("AppendUnescaped(AppendEscaped(%q)) = %q, want the input", s, back)
		}

		u := AppendQuotedUTF8(nil, s)
		if got, ok := jsonText(u); !ok || got != want {
			t.Fatalf("AppendQuotedUTF8(%q) = %q decodes to %q (ok %v), want %q", s, u, got, ok, want)
		}
		if !utf8.Valid(u) || bytes.Contains(u, []byte("\u2028")) || bytes.Contains(u, []byte("\u2029")) {
			t.Fatalf("AppendQuotedUTF8(%q) = %q, want valid UTF-8 without U+2028 or U+2029", s, u)
		}

		// in as the raw content of a JSON string: when encoding/json accepts it, AppendUnescaped agrees
		// (raw invalid UTF-8 is kept by AppendUnescaped and replaced by encoding/json, so compare valid only).
		quoted := append(append([]byte{'"'}, in...), '"')
		if got, ok := jsonText(quoted); ok && utf8.Valid(in) {
			if dec := AppendUnescaped(nil, in); string(dec) != got {
				t.Fatalf("AppendUnescaped(%q) = %q, want %q", in, dec, got)
			}
		} else {
			AppendUnescaped(nil, in) // malformed content must not panic
		}

		for start := 0; start <= min(len(in), 9); start++ {
			if got, w := IndexSpecial(in, start), naiveIndex(in, start, isSpecial); got != w {
				t.Fatalf("IndexSpecial(%q, %d) = %d, want %d", in, start, got, w)
			}
			if got, w := IndexQuoteOrBackslash(in, start), naiveIndex(in, start, isQuoteOrBackslash); got != w {
				t.Fatalf("IndexQuoteOrBackslash(%q, %d) = %d, want %d", in, start, got, w)
			}
			if got, w := IndexStructural(in, start), naiveIndex(in, start, IsStructural); got != w {
				t.Fatalf("IndexStructural(%q, %d) = %d, want %d", in, start, got, w)
			}
		}
		if got, w := HasControl(in), naiveIndex(in, 0, isControl) < len(in); got != w {
			t.Fatalf("HasControl(%q) = %v, want %v", in, got, w)
		}
	})
}
