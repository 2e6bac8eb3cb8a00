package jsontext

import "testing"

func TestAppendUnescaped(t *testing.T) {
	cases := []struct {
		name, raw, want string
	}{
		{"empty", ``, ""},
		{"plain", `hello`, "hello"},
		{"short escapes", `\"\\\/\b\f\n\r\t`, "\"\\/\b\f\n\r\t"},
		{"unicode", `\u00e9\u00E9x`, "ééx"},
		{"control", `\u0000\u001f`, "\x00\x1f"},
		{"surrogate pair", `\ud834\udd1e`, "𝄞"},
		{"surrogate pair upper case", `\uD834\uDD1E!`, "𝄞!"},
		{"lone high surrogate", `\ud834x`, "\uFFFDx"},
		{"lone low surrogate", `\udd1e`, "\uFFFD"},
		{"high then non-surrogate", `\ud834\u0041`, "\uFFFDA"},
		{"high then high", `\ud834\ud834\udd1e`, "\uFFFD𝄞"},
		{"high then short escape", `\ud834\n`, "\uFFFD\n"},
		{"high at end", `ab\ud834`, "ab\uFFFD"},
		{"raw utf-8 and invalid bytes kept", "é\xff", "é\xff"},
		{"escape after long run", `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\tb`, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\tb"},
		// Malformed content (callers validate first) must not panic; what it decodes to is fixed too.
		{"trailing backslash", `ab\`, "ab"},
		{"short unicode", `ab\u00`, "ab"},
		{"bad hex", `ab\u00zzcd`, "ab"},
		{"high then bad hex", `\ud834\uzzzz`, "\uFFFD"},
		{"unknown escape", `\x`, "x"},
	}
	for _, c := range cases {
		if got := string(AppendUnescaped([]byte("p"), []byte(c.raw))); got != "p"+c.want {
			t.Errorf("AppendUnescaped(%s) = %q, want %q", c.name, got, "p"+c.want)
		}
	}
}
