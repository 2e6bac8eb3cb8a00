package transform

import (
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// kafka builds a Pipes Kafka record; a nil key or value is JSON null.
func kafka(key, value []byte) []byte {
	enc := func(b []byte) string {
		if b == nil {
			return "null"
		}
		return `"` + base64.StdEncoding.EncodeToString(b) + `"`
	}
	return []byte(`{"eventSource":"SelfManagedKafka","topic":"orders","partition":"0","offset":7,` +
		`"key":` + enc(key) + `,"value":` + enc(value) + `,"headers":[]}`)
}

var testVars = &Vars{
	PipeArn:       "arn:aws:pipes:eu-west-1:123456789012:pipe/p1",
	PipeName:      "p1",
	SourceArn:     "smk://b:9092/orders",
	EnrichmentArn: "https://enrich.example/x",
	TargetArn:     "kafka://b:9092/out",
	IngestionTime: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("x", 3600)),
}

func TestRender(t *testing.T) {
	order := kafka([]byte("k-1"), []byte(`{"id":"o-1","n":3,"ok":true,"none":null,"c":{"k":"v","q":"a\"b"},"a":[1,"two",{"x":"y"}],"s":"line\nnext"}`))
	plain := []byte(`{"a":{"b":[10,20,{"c":"d"}]},"s":"x\"y\\z\u00e9","n":-1.5e3,"t":true,"f":false,"z":null,"e":"","d-1":{"x_y":{"p/q":"slash"}}}`)
	cases := []struct {
		name, tmpl string
		event      []byte
		want       string
	}{
		// Forms.
		{"static text", "Hello, sender", plain, "Hello, sender"},
		{"static JSON", `{"k": "v", "n": [1, 2]}`, plain, `{"k": "v", "n": [1, 2]}`},
		{"bare path string", "<$.s>", plain, `x"y\zé`},
		{"bare path number", "<$.n>", plain, "-1.5e3"},
		{"bare path bool", "<$.t>", plain, "true"},
		{"bare path null", "<$.z>", plain, "null"},
		{"bare path object quote-stripped", "<$.a>", plain, `{b:[10,20,{c:d}]}`},
		{"bare path kafka object quote-stripped", "<$.value.c>", order, `{k:v,q:a"b}`},
		{"dynamic string text", "Hello, <$.value.id>!", order, "Hello, o-1!"},
		{"dynamic string quoted", `"Hello, <$.value.id>!"`, order, `"Hello, o-1!"`},
		{"dynamic JSON all types", `{"s": <$.value.id>, "n": <$.value.n>, "b": <$.value.ok>, "z": <$.value.none>, "o": <$.value.c>, "a": <$.value.a>}`,
			order, `{"s": "o-1", "n": 3, "b": true, "z": null, "o": {"k":"v","q":"a\"b"}, "a": [1,"two",{"x":"y"}]}`},
		{"JSON array template", `[<$.n>, <$.t>]`, plain, `[-1.5e3, true]`},
		{"placeholder as key", `{<$.value.id>: 1}`, order, `{"o-1": 1}`},
		{"object inside string", `{"m": "Body is <$.value.c>"}`, order, `{"m": "Body is {k:v,q:a\"b}"}`},
		{"object whitespace escaped in string", `{"m": "<$.a>"}`, []byte("{\"a\": {\n\t\"x\": 1}}"), `{"m": "{\n\tx: 1}"}`},
		{"object whitespace kept in text", `<$.a>`, []byte("{\"a\": {\n\t\"x\": 1}}"), "{\n\tx: 1}"},
		{"array inside string", `{"m": "<$.value.a>"}`, order, `{"m": "[1,two,{x:y}]"}`},
		{"escaped quote before placeholder", `{"m": "say \"<$.value.id>\""}`, order, `{"m": "say \"o-1\""}`},
		{"multi-line", "{\n  \"id\": <$.value.id>,\n  \"t\": \"<$.topic>\"\n}", order, "{\n  \"id\": \"o-1\",\n  \"t\": \"orders\"\n}"},
		// Paths.
		{"dash underscore slash", `<$.d-1.x_y.p/q>`, plain, "slash"},
		{"index", `{"v": <$.a.b[1]>}`, plain, `{"v": 20}`},
		{"index then name", `{"v": <$.a.b[2].c>}`, plain, `{"v": "d"}`},
		{"index out of range", `{"v": <$.a.b[3]>}`, plain, `{"v": null}`},
		{"index on object", `{"v": <$.a[0]>}`, plain, `{"v": null}`},
		{"name on array", `{"v": <$.a.b.c>}`, plain, `{"v": null}`},
		{"name on string", `{"v": <$.s.x>}`, plain, `{"v": null}`},
		{"wildcard", `{"v": <$.a.b[*]>}`, plain, `{"v": [10,20,{"c":"d"}]}`},
		{"wildcard then name skips misses", `{"v": <$.a.b[*].c>}`, plain, `{"v": ["d"]}`},
		{"wildcard on object", `{"v": <$.value.c[*]>}`, order, `{"v": ["v","a\"b"]}`},
		{"wildcard on scalar", `{"v": <$.s[*]>}`, plain, `{"v": null}`},
		{"wildcard on missing", `{"v": <$.q[*]>}`, plain, `{"v": null}`},
		{"wildcard in text", `<$.value.a[*]>`, order, `[1,two,{x:y}]`},
		{"root", `{"v": <$>}`, []byte(` {"a": 1} `), `{"v": {"a": 1}}`},
		// Missing.
		{"missing as JSON value", `{"v": <$.nope>}`, plain, `{"v": null}`},
		{"missing in string", `{"v": "[<$.nope>]"}`, plain, `{"v": "[]"}`},
		{"missing in text", `[x<$.nope>]`, plain, `[xnull]`},
		{"missing in free text", `x<$.nope>y`, plain, `xy`},
		{"empty string value", `{"v": <$.e>, "w": "<$.e>"}`, plain, `{"v": "", "w": ""}`},
		// Escaping and unicode.
		{"string value escaped in JSON", `{"v": <$.s>}`, plain, `{"v": "x\"y\\z\u00e9"}`},
		{"string value escaped in string", `{"v": "<$.s>"}`, plain, `{"v": "x\"y\\z\u00e9"}`},
		{"string value unescaped in text", `v=<$.s>`, plain, `v=x"y\zé`},
		{"newline in text", `<$.value.s>`, order, "line\nnext"},
		{"unicode key escaped in event", `<$.ab>`, []byte(`{"a\u0062": "found"}`), "found"},
		{"surrogate pair", `<$.e>`, []byte(`{"e": "\ud83d\ude00"}`), "😀"},
		{"lone surrogate", `<$.e>`, []byte(`{"e": "\ud83d!"}`), "\uFFFD!"},
		{"unicode template text", `ü <$.value.id> 😀`, order, "ü o-1 😀"},
		// Events of other shapes.
		{"whitespace in event", `{"v": <$.a.b[1]>}`, []byte("{ \"a\" :\n { \"b\" : [ 1 ,\t2 ] } }"), `{"v": 2}`},
		{"duplicate key first wins", `<$.a>`, []byte(`{"a": 1, "a": 2}`), "1"},
		{"array event", `{"v": <$.a>}`, []byte(`[{"a": 1}]`), `{"v": null}`},
		{"text event", `{"v": <$.a>, "r": <$>}`, []byte(`hello`), `{"v": null, "r": null}`},
		{"empty event", `{"v": <$.a>}`, nil, `{"v": null}`},
		{"empty template copies event", ``, plain, string(plain)},
		{"malformed after the path is fine", `<$.a>`, []byte(`{"a": 1, "b": tru}`), "1"},
		// Reserved variables.
		{"reserved as JSON values", `{"a": <aws.pipes.pipe-arn>, "n": <aws.pipes.pipe-name>, "s": <aws.pipes.source-arn>, "e": <aws.pipes.enrichment-arn>, "t": <aws.pipes.target-arn>, "i": <aws.pipes.event.ingestion-time>}`,
			plain, `{"a": "arn:aws:pipes:eu-west-1:123456789012:pipe/p1", "n": "p1", "s": "smk://b:9092/orders", "e": "https://enrich.example/x", "t": "kafka://b:9092/out", "i": "2026-01-02T02:04:05.006Z"}`},
		{"reserved in string", `"<aws.pipes.pipe-name>@<aws.pipes.event.ingestion-time>"`, plain, `"p1@2026-01-02T02:04:05.006Z"`},
		{"reserved in text", `<aws.pipes.pipe-name> <aws.pipes.target-arn>`, plain, `p1 kafka://b:9092/out`},
		{"event as JSON value is a string", `{"e": <aws.pipes.event>}`, []byte(`{"a":"b"}`), `{"e": "{\"a\":\"b\"}"}`},
		{"event in string", `{"e": "<aws.pipes.event>"}`, []byte(`{"a":"b"}`), `{"e": "{\"a\":\"b\"}"}`},
		{"event as text", `<aws.pipes.event>`, []byte(`{"a":"b"}`), `{"a":"b"}`},
		{"event.json decodes kafka value", `{"e": <aws.pipes.event.json>}`, kafka([]byte(`"k"`), []byte(`{"x":1}`)),
			`{"e": {"eventSource":"SelfManagedKafka","topic":"orders","partition":"0","offset":7,"key":"k","value":{"x":1},"headers":[]}}`},
		{"event.json keeps text value", `{"e": <aws.pipes.event.json>}`, kafka(nil, []byte(`hi`)),
			`{"e": {"eventSource":"SelfManagedKafka","topic":"orders","partition":"0","offset":7,"key":null,"value":"aGk=","headers":[]}}`},
		{"event.json value before key", `{"e": <aws.pipes.event.json>}`,
			[]byte(`{"eventSource":"SelfManagedKafka","value":"MQ==","key":"Mg=="}`), `{"e": {"eventSource":"SelfManagedKafka","value":1,"key":2}}`},
		{"event.json non-kafka", `{"e": <aws.pipes.event.json>}`, []byte(` {"value":"MQ=="} `), `{"e": {"value":"MQ=="}}`},
		{"event.json not JSON", `{"e": <aws.pipes.event.json>}`, []byte(`{"a":`), `{"e": null}`},
		// Kafka implicit body parsing.
		{"kafka value object", `{"v": <$.value.id>}`, order, `{"v": "o-1"}`},
		{"kafka value JSON string", `{"v": <$.value>, "t": "<$.value>"}`, kafka(nil, []byte(`"a \"b\""`)), `{"v": "a \"b\"", "t": "a \"b\""}`},
		{"kafka value JSON string as text", `<$.value>`, kafka(nil, []byte(`"a \"b\""`)), `a "b"`},
		{"kafka value JSON number", `{"v": <$.value>}`, kafka(nil, []byte(` 12.5 `)), `{"v": 12.5}`},
		{"kafka value plain text stays base64", `{"v": <$.value>, "d": <$.value.x>}`, kafka(nil, []byte(`hello`)), `{"v": "aGVsbG8=", "d": null}`},
		{"kafka value binary stays base64", `{"v": <$.value>}`, kafka(nil, []byte{0xff, 0x00, 0xc3}), `{"v": "/wDD"}`},
		{"kafka value truncated JSON stays base64", `{"v": <$.value>}`, kafka(nil, []byte(`{"a":`)), `{"v": "eyJhIjo="}`},
		{"kafka value null", `{"v": <$.value>, "d": <$.value.x>}`, kafka(nil, nil), `{"v": null, "d": null}`},
		{"kafka key JSON", `{"k": <$.key.t>, "v": <$.value.id>}`, kafka([]byte(`{"t":"x"}`), []byte(`{"id":"o"}`)), `{"k": "x", "v": "o"}`},
		{"kafka key text stays base64", `<$.key>`, kafka([]byte("k-1"), nil), `ay0x`},
		{"kafka value array index", `{"v": <$.value.a[2].x>}`, order, `{"v": "y"}`},
		{"kafka value wildcard", `{"v": <$.value[*]>}`, kafka(nil, []byte(`[1,2]`)), `{"v": [1,2]}`},
		{"kafka escaped base64", `{"v": <$.value>}`, []byte(`{"eventSource":"SelfManagedKafka","value":"e30\u003d"}`), `{"v": {}}`},
		{"msk records are not decoded", `{"v": <$.value>}`, []byte(`{"eventSource":"aws:kafka","value":"e30="}`), `{"v": "e30="}`},
		{"eventSource after value", `{"v": <$.value>}`, []byte(`{"value":"e30=","eventSource":"SelfManagedKafka"}`), `{"v": {}}`},
		{"decoded once for many placeholders", `[<$.value.id>, <$.value.n>, <$.value.c.k>, <$.value>]`, order,
			`["o-1", 3, "v", {"id":"o-1","n":3,"ok":true,"none":null,"c":{"k":"v","q":"a\"b"},"a":[1,"two",{"x":"y"}],"s":"line\nnext"}]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := Parse(c.tmpl)
			if err != nil {
				t.Fatalf("Parse(%s) = %v", c.tmpl, err)
			}
			got, err := tmpl.Render([]byte("prefix:"), c.event, testVars)
			if err != nil {
				t.Fatalf("Render(%s) = %v", c.tmpl, err)
			}
			if string(got) != "prefix:"+c.want {
				t.Errorf("Render(%s) on %s =\n%s\nwant\n%s", c.tmpl, c.event, got[len("prefix:"):], c.want)
			}
		})
	}
}

func TestRenderMalformedEvent(t *testing.T) {
	cases := []struct{ name, tmpl, event string }{
		{"bad literal on the way", `<$.b>`, `{"a": tru, "b": 1}`},
		{"truncated", `<$.a.b>`, `{"a": {"b": `},
		{"bad escape", `<$.a>`, `{"a": "\x"}`},
		{"bad number", `<$.a>`, `{"a": 01}`},
		{"root", `<$>`, `{"a": 1} x`},
		{"wildcard", `<$.a[*]>`, `{"a": [1, 2,]}`},
		{"kafka member", `<$.value.x>`, `{"eventSource":"SelfManagedKafka", "value": }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := Parse(c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tmpl.Render(nil, []byte(c.event), nil)
			if !errors.Is(err, ErrMalformedEvent) {
				t.Errorf("Render(%s) on %s = %v, want ErrMalformedEvent", c.tmpl, c.event, err)
			}
		})
	}
}

func TestRenderIngestionTimeDefaultsToNow(t *testing.T) {
	tmpl, err := Parse(`<aws.pipes.event.ingestion-time>`)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	out, err := tmpl.Render(nil, []byte(`{}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := time.Parse(IngestionTimeLayout, string(out))
	if err != nil {
		t.Fatalf("Render = %s, not in IngestionTimeLayout: %v", out, err)
	}
	if got.Before(before) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("Render = %s, want about now", out)
	}
}

// TestRenderConcurrent shares one Template between goroutines (run with -race); the pooled state must not leak
// one event's decoded value into another's output.
func TestRenderConcurrent(t *testing.T) {
	tmpl, err := Parse(`{"id": <$.value.id>, "k": <$.key>}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := "o" + strings.Repeat("x", g*7+i%5)
				ev := kafka(nil, []byte(`{"id":"`+id+`"}`))
				if i%3 == 0 {
					ev = kafka(nil, []byte(`plain`)) // not JSON: must not reuse a previous event's value
					id = ""
				}
				out, err := tmpl.Render(nil, ev, nil)
				want := `{"id": "` + id + `", "k": null}`
				if id == "" {
					want = `{"id": null, "k": null}`
				}
				if err != nil || string(out) != want {
					errs <- string(out) + " want " + want
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", MaxTemplateLen)
	longRunes := strings.Repeat("é", MaxTemplateLen)
	cases := []struct {
		name, tmpl   string
		line, column int
		reason       string
	}{
		{"lone >", `a > b`, 1, 3, "'>' without a matching '<'"},
		{"unclosed <", `{"a": <$.a}`, 1, 7, "never closed"},
		{"< before >", `<$.a <$.b>`, 1, 1, "before the next '<'"},
		{"> in string", `{"a": "x > y"}`, 1, 10, "without a matching"},
		{"empty placeholder", `<>`, 1, 2, "neither a json path"},
		{"not a path", `<detail>`, 1, 2, "neither a json path"},
		{"unknown variable", `{"a": <aws.pipes.pipe-id>}`, 1, 8, "unknown reserved variable <aws.pipes.pipe-id>"},
		{"event.json in string", `{"a": "<aws.pipes.event.json>"}`, 1, 9, "can only be a JSON value"},
		{"event.json in text", `x <aws.pipes.event.json>`, 1, 4, "can only be a JSON value"},
		{"event.json alone", `<aws.pipes.event.json>`, 1, 2, "can only be a JSON value"},
		{"path trailing dot", `<$.a.>`, 1, 6, "ends with '.'"},
		{"path double dot", `<$..a>`, 1, 4, "unexpected '.'"},
		{"path no dot", `<$a>`, 1, 3, "expected '.'"},
		{"path root index", `<$[0]>`, 1, 3, "outside the pipes path grammar"},
		{"path bad index", `<$.a[x]>`, 1, 6, "expected an array index or *"},
		{"path negative index", `<$.a[-1]>`, 1, 6, "expected an array index or *"},
		{"path unclosed bracket", `<$.a[1>`, 1, 7, "expected ']'"},
		{"path dot wildcard", `<$.a.*>`, 1, 6, "names may hold"},
		{"path quoted key", `<$.a['b']>`, 1, 6, "expected an array index or *"},
		{"path space", `<$.a b>`, 1, 5, "unexpected ' '"},
		{"path unicode", `<$.é>`, 1, 4, "names may hold"},
		{"path filter", `<$.a[?(@.b)]>`, 1, 6, "expected an array index or *"},
		{"path huge index", `<$.a[99999999999999999999]>`, 1, 6, "too large"},
		{"position on later line", "{\n  \"a\": 1,\n  \"b\": <$.x y>\n}", 3, 12, "unexpected ' '"},
		{"position counts characters", `{"ü": <$.a[]>}`, 1, 12, "expected an array index or *"},
		{"too long", long + "x", 1, MaxTemplateLen + 1, "longer than 8192 characters"},
		{"too long in characters", longRunes + "é", 1, MaxTemplateLen + 1, "longer than 8192 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.tmpl)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%.40s) = %v, want *Error", c.tmpl, err)
			}
			if e.Line != c.line || e.Column != c.column || !strings.Contains(e.Reason, c.reason) {
				t.Errorf("Parse(%.40s) = %v, want line %d, column %d, reason containing %q", c.tmpl, err, c.line, c.column, c.reason)
			}
			if !strings.HasPrefix(err.Error(), "input template: line ") {
				t.Errorf("Parse(%.40s) error %q does not name the input and position", c.tmpl, err)
			}
		})
	}
}

func TestParseAcceptsLimits(t *testing.T) {
	for name, tmpl := range map[string]string{
		"8192 characters":       strings.Repeat("x", MaxTemplateLen),
		"8192 multibyte":        strings.Repeat("é", MaxTemplateLen),
		"root path":             `<$>`,
		"event.json as value":   `{"e": <aws.pipes.event.json>}`,
		"event.json in array":   `[<aws.pipes.event.json>]`,
		"escaped quote":         `{"a": "\"<$.a>\""}`,
		"every reserved":        `<aws.pipes.pipe-arn><aws.pipes.pipe-name><aws.pipes.source-arn><aws.pipes.enrichment-arn><aws.pipes.target-arn><aws.pipes.event.ingestion-time><aws.pipes.event>`,
		"long index":            `<$.a[12345][*][0]>`,
		"all name characters":   `<$.aZ09_-/x>`,
		"empty":                 ``,
		"JSON with placeholder": `{"a": [<$.a>, "<$.b>"]}`,
	} {
		if _, err := Parse(tmpl); err != nil {
			t.Errorf("Parse(%s: %.40s) = %v, want nil", name, tmpl, err)
		}
	}
}

// TestRenderDoesNotAllocate pins the hot path's promise: with a reused dst, rendering a Kafka record (value
// decoded once for several placeholders) allocates nothing.
func TestRenderDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	ev := benchEvent(t)
	tmpl, err := Parse(benchTemplate + ` <aws.pipes.pipe-arn> <aws.pipes.event.ingestion-time>`)
	if err != nil {
		t.Fatal(err)
	}
	vars := &Vars{PipeArn: "arn", IngestionTime: time.Unix(0, 0)}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := tmpl.Render(buf[:0], ev, vars); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Render allocates %v times per event, want 0", allocs)
	}
}
