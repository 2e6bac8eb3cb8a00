package jsontext

import "testing"

func TestAppendEscaped(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // AppendEscaped
		wantUTF8 string // AppendEscapedUTF8
	}{
		{"empty", "", "", ""},
		{"plain", "hello, world", "hello, world", "hello, world"},
		{"quote and backslash", `a"b\c`, `a\"b\\c`, `a\"b\\c`},
		{"short escapes", "\n\r\t", `\n\r\t`, `\n\r\t`},
		{"backspace and form feed", "\b\f", `\b\f`, `\u0008\u000c`},
		{"other controls", "\x00\x01\x1f", `\u0000\u0001\u001f`, `\u0000\u0001\u001f`},
		{"delete is not a control", "\x7f", "\x7f", "\x7f"},
		{"html stays", "<a>&amp;", "<a>&amp;", "<a>&amp;"},
		{"solidus stays", "a/b", "a/b", "a/b"},
		{"utf-8", "é✓𝄞", "é✓𝄞", "é✓𝄞"},
		{"line separators", "a\u2028b\u2029c", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"invalid utf-8", "a\xffb\xc3", "a\xffb\xc3", `a\ufffdb\ufffd`},
		{"surrogate half as utf-8", "\xed\xa0\x80", "\xed\xa0\x80", `\ufffd\ufffd\ufffd`},
	}
	for _, c := range cases {
		if got := string(AppendEscaped([]byte("x"), c.in)); got != "x"+c.want {
			t.Errorf("AppendEscaped(%s) = %q, want %q", c.name, got, "x"+c.want)
		}
		if got := string(AppendEscaped(nil, []byte(c.in))); got != c.want {
			t.Errorf("AppendEscaped([]byte %s) = %q, want %q", c.name, got, c.want)
		}
		if got := string(AppendQuoted(nil, c.in)); got != `"`+c.want+`"` {
			t.Errorf("AppendQuoted(%s) = %q, want %q", c.name, got, `"`+c.want+`"`)
		}
		if got := string(AppendEscapedUTF8([]byte("x"), c.in)); got != "x"+c.wantUTF8 {
			t.Errorf("AppendEscapedUTF8(%s) = %q, want %q", c.name, got, "x"+c.wantUTF8)
		}
		if got := string(AppendQuotedUTF8(nil, c.in)); got != `"`+c.wantUTF8+`"` {
			t.Errorf("AppendQuotedUTF8(%s) = %q, want %q", c.name, got, `"`+c.wantUTF8+`"`)
		}
	}
}

// TestAppendNoAllocs checks that appending to a buffer with room allocates nothing.
func TestAppendNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	s := "a \"quoted\" \\ line\n\x01 é \u2028 \xff"
	raw := []byte(`a \"quoted\" \\ line\n\u0001 \u00e9 \ud834\udd1e`)
	for name, f := range map[string]func(){
		"AppendEscaped":     func() { buf = AppendEscaped(buf[:0], s) },
		"AppendQuoted":      func() { buf = AppendQuoted(buf[:0], []byte(s)) },
		"AppendEscapedUTF8": func() { buf = AppendEscapedUTF8(buf[:0], s) },
		"AppendQuotedUTF8":  func() { buf = AppendQuotedUTF8(buf[:0], s) },
		"AppendUnescaped":   func() { buf = AppendUnescaped(buf[:0], raw) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", name, n)
		}
	}
}
