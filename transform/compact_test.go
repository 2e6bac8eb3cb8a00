package transform

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var compactSeeds = []string{
	`{"a":1}`, "{\n  \"a\": 1,\n  \"b\": \"x y\"\n}", `42`, ` "hi" `, `Hello`, "a\nb", ``, `{"a":`, `[1, 2 ,3]`,
	`{"a":[{"b":null},true,false,-0.5e+3]}`, `"\u00e9\n"`, `"\x"`, "\"a\x01\"", `[1,]`, `{"a" 1}`, `01`, `1.`,
	`{"a":1}}`, `[]`, `{ }`, `"` + string([]byte{0xff}) + `"`, `{"k":"v"} x`, `tru`, `nulll`, "[\t1\r\n]",
}

// FuzzAppendCompact: AppendCompact agrees with encoding/json's Valid and Compact on every input, and leaves
// dst as it was on invalid input.
func FuzzAppendCompact(f *testing.F) {
	for _, s := range compactSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got, ok := AppendCompact([]byte("prefix"), src)
		if ok != json.Valid(src) {
			t.Fatalf("AppendCompact(%q) ok = %v, json.Valid = %v", src, ok, !ok)
		}
		if !ok {
			if string(got) != "prefix" {
				t.Fatalf("AppendCompact(%q) invalid but dst = %q", src, got)
			}
			return
		}
		var want bytes.Buffer
		want.WriteString("prefix")
		if err := json.Compact(&want, src); err != nil {
			t.Fatalf("json.Compact(%q): %v", src, err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("AppendCompact(%q) = %q, want %q", src, got, want.Bytes())
		}
	})
}

func TestAppendCompactAllocs(t *testing.T) {
	src := []byte("{\n  \"order\": {\"id\": \"o-1\", \"items\": [1, 2]},\n  \"pipe\": \"p\"\n}")
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { dst, _ = AppendCompact(dst[:0], src) }); n != 0 {
		t.Fatalf("AppendCompact allocates %v times per call, want 0", n)
	}
}

// BenchmarkAppendCompact frames a rendered target template of a 1 KB order (a JSON template's own spacing
// around a compact value), the file target's checked path.
func BenchmarkAppendCompact(b *testing.B) {
	line := []byte(`{"order": {"orderId":"o-00000001","customerId":"c-00001","city":"Lisbon","amount":75.5,"status":"PAID","createdAt":"2026-11-25T12:00:00Z","items":[{"sku":"A-1","qty":2,"price":10.5},{"sku":"B-2","qty":1,"price":54.5}],"note":"` +
		strings.Repeat("x", 780) + `"}, "pipe": "bench", "partition": "0", "offset": 12345}`)
	dst := make([]byte, 0, 2*len(line))
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		var ok bool
		if dst, ok = AppendCompact(dst[:0], line); !ok {
			b.Fatal("invalid")
		}
	}
}
