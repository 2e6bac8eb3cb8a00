package transform

import (
	"errors"
	"strings"
	"testing"
)

func TestIsPath(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"$", true},
		{"$.value.orderId", true},
		{"$.a-b.c_d.e/f.G9", true},
		{"$.a[0]", true},
		{"$.a[0][12][*]", true},
		{"$.a[*].b", true},
		{"", false},
		{"value.orderId", false},
		{"orders-group", false},
		{"$.", false},
		{"$..a", false},
		{"$[0]", false},
		{"$.a[]", false},
		{"$.a['b']", false},
		{"$.a.*", false},
		{"$.a ", false},
		{" $.a", false},
		{"$.a[1", false},
	}
	for _, c := range cases {
		if got := IsPath(c.in); got != c.want {
			t.Errorf("IsPath(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestParsePathError(t *testing.T) {
	_, err := ParsePath("$.a[x]")
	var e *Error
	if !errors.As(err, &e) || e.Column != 5 || e.Input != "json path" {
		t.Fatalf("ParsePath($.a[x]) = %v, want a json path error at column 5", err)
	}
	if !strings.HasPrefix(err.Error(), "json path: line 1, column 5: ") {
		t.Errorf("ParsePath($.a[x]) error = %q", err)
	}
}

func TestLookup(t *testing.T) {
	order := kafka([]byte("k-1"), []byte(`{"orderId":"o-1","n":2,"c":{"k":"v"},"items":[{"sku":"a"},{"sku":"b"}],"t":"x\"y"}`))
	plain := []byte(`{"a":{"b":[1,{"c":"d"}]},"s":"x"}`)
	cases := []struct {
		path      string
		event     []byte
		want      string
		wantText  string
		wantFound bool
	}{
		{"$.value.orderId", order, `"o-1"`, "o-1", true},
		{"$.value.n", order, `2`, "2", true},
		{"$.value.c", order, `{"k":"v"}`, "{k:v}", true},
		{"$.value.t", order, `"x\"y"`, `x"y`, true},
		{"$.value.items[1].sku", order, `"b"`, "b", true},
		{"$.value.items[*].sku", order, `["a","b"]`, "[a,b]", true},
		{"$.key", order, `"ay0x"`, "ay0x", true},
		{"$.topic", order, `"orders"`, "orders", true},
		{"$.value.missing", order, ``, ``, false},
		{"$.a.b[1].c", plain, `"d"`, "d", true},
		{"$.a.b[2]", plain, ``, ``, false},
		{"$", plain, string(plain), `{a:{b:[1,{c:d}]},s:x}`, true},
		{"$.value", plain, ``, ``, false},
		{"$.a", []byte(`not json`), ``, ``, false},
	}
	for _, c := range cases {
		p, err := ParsePath(c.path)
		if err != nil {
			t.Fatalf("ParsePath(%s) = %v", c.path, err)
		}
		if p.String() != c.path {
			t.Errorf("ParsePath(%s).String() = %s", c.path, p.String())
		}
		got, found, err := p.Lookup(c.event)
		if err != nil || found != c.wantFound || string(got) != c.want {
			t.Errorf("Lookup(%s) = %s, %v, %v, want %s, %v, nil", c.path, got, found, err, c.want, c.wantFound)
		}
		text, found, err := p.LookupText(c.event)
		if err != nil || found != c.wantFound || text != c.wantText {
			t.Errorf("LookupText(%s) = %q, %v, %v, want %q, %v, nil", c.path, text, found, err, c.wantText, c.wantFound)
		}
	}
}

// TestLookupCopies checks that a Lookup result does not alias pooled buffers that a later lookup overwrites.
func TestLookupCopies(t *testing.T) {
	p, err := ParsePath("$.value")
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := p.Lookup(kafka(nil, []byte(`{"a":"first"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Lookup(kafka(nil, []byte(`{"a":"later"}`))); err != nil {
		t.Fatal(err)
	}
	if string(first) != `{"a":"first"}` {
		t.Errorf("Lookup result changed to %s after a later lookup", first)
	}
}

func TestLookupMalformed(t *testing.T) {
	p, err := ParsePath("$.b")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Lookup([]byte(`{"a": [1,, "b": 2}`)); !errors.Is(err, ErrMalformedEvent) || !strings.Contains(err.Error(), "$.b") {
		t.Errorf("Lookup($.b) on malformed event = %v, want ErrMalformedEvent naming the path", err)
	}
}

// TestScope checks that evaluating a template and paths through one Scope, event after event, gives what
// Render and AppendLookup give on their own, and that AppendLookup appends to what dst holds.
func TestScope(t *testing.T) {
	tmpl, err := Parse(`{"v": <$.value>, "id": <$.value.orderId>, "k": "<$.key>", "ids": <$.value.items[*].sku>, "o": <$.offset>}`)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"$.value.orderId", "$.value", "$.key", "$.value.items[*].sku", "$.topic", "$.value.missing", "$"}
	events := [][]byte{
		kafka([]byte("k-1"), []byte(`{"orderId":"o-1","items":[{"sku":"a"},{"sku":"b"}]}`)),
		kafka(nil, []byte(`{"orderId":"o-2"}`)),
		kafka([]byte(`{"k":1}`), []byte(`not json`)),
		kafka([]byte("k"), nil),
		[]byte(`{"value":{"orderId":"plain"},"topic":"t"}`),
		[]byte(`{"a": [1,, "value": 2}`),
	}
	var s Scope
	for _, ev := range events {
		s.Reset(ev)
		want, wantErr := tmpl.Render(nil, ev, testVars)
		got, gotErr := tmpl.RenderScope([]byte("prefix:"), &s, testVars)
		if (wantErr == nil) != (gotErr == nil) || (wantErr == nil && string(got) != "prefix:"+string(want)) {
			t.Errorf("RenderScope(%s) = %s, %v, want prefix:%s, %v", ev, got, gotErr, want, wantErr)
		}
		for _, src := range paths {
			p, err := ParsePath(src)
			if err != nil {
				t.Fatal(err)
			}
			want, wantFound, wantErr := p.AppendLookup([]byte("x"), ev)
			got, gotFound, gotErr := p.AppendLookupScope([]byte("x"), &s)
			if string(got) != string(want) || gotFound != wantFound || (gotErr == nil) != (wantErr == nil) {
				t.Errorf("AppendLookupScope(%s) on %s = %s, %v, %v, want %s, %v, %v", src, ev, got, gotFound, gotErr, want, wantFound, wantErr)
			}
			if lk, found, _ := p.Lookup(ev); found != wantFound || (found && "x"+string(lk) != string(want)) {
				t.Errorf("AppendLookup(%s) on %s = %s, %v; Lookup = %s, %v", src, ev, want, wantFound, lk, found)
			}
		}
	}
}
