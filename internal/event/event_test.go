package event

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestAppendGolden(t *testing.T) {
	ts := time.UnixMilli(1545084650987)
	cases := []struct {
		name    string
		servers []string
		rec     kgo.Record
		tsType  string
	}{
		{"seed", []string{"b-2.demo:9092", "b-1.demo:9092"}, kgo.Record{
			Topic: "mytopic", Partition: 0, Offset: 15, Timestamp: ts,
			Key: []byte("abc"), Value: []byte("Hello, this is a test."),
			Headers: []kgo.RecordHeader{{Key: "headerKey", Value: []byte("headerValue")}},
		}, ""},
		{"null key", []string{"localhost:9092"}, kgo.Record{
			Topic: "t", Partition: 7, Offset: 0, Timestamp: ts, Value: []byte(`{"a":1}`),
		}, ""},
		{"null value (tombstone)", []string{"localhost:9092"}, kgo.Record{
			Topic: "t", Partition: 1, Offset: 9, Timestamp: ts, Key: []byte("k"),
		}, ""},
		{"empty key and value", []string{"localhost:9092"}, kgo.Record{
			Topic: "t", Partition: 2, Offset: 10, Timestamp: ts, Key: []byte{}, Value: []byte{},
		}, ""},
		{"high bytes and odd header keys", []string{"a:1", "b:2", "c:3"}, kgo.Record{
			Topic: "x.y_z-1", Partition: 123, Offset: 1 << 40, Timestamp: ts, Key: []byte{0xff, 0x00, 0x80}, Value: []byte{0xfe},
			Headers: []kgo.RecordHeader{
				{Key: "quote\"back\\slash\n", Value: []byte{0, 127, 128, 255}},
				{Key: "nil", Value: nil},
				{Key: "dup", Value: []byte("1")},
				{Key: "dup", Value: []byte("2")},
				{Key: "bad\xffutf8 \u2028", Value: []byte{}},
			},
		}, ""},
		{"log append time", []string{"localhost:9092"}, kgo.Record{
			Topic: "t", Partition: 0, Offset: 1, Timestamp: ts, Value: []byte("v"),
		}, "LOG_APPEND_TIME"},
	}
	var out bytes.Buffer
	for _, c := range cases {
		enc := NewEncoder(c.servers)
		ev := enc.Append(nil, &c.rec)
		if c.tsType != "" {
			ev = enc.appendRecord(nil, &c.rec, c.tsType)
		}
		if !json.Valid(ev) {
			t.Fatalf("Append(%s) = %s, not valid JSON", c.name, ev)
		}
		if c.tsType == "" {
			pe := enc.Partition(c.rec.Topic, c.rec.Partition)
			if got := pe.Append([]byte("prev,"), &c.rec); string(got) != "prev,"+string(ev) {
				t.Errorf("Partition(%q, %d).Append(%s) = %s, want %s", c.rec.Topic, c.rec.Partition, c.name, got[5:], ev)
			}
		}
		out.WriteString("# " + c.name + "\n")
		out.Write(ev)
		out.WriteString("\n")
	}
	golden := filepath.Join("testdata", "events.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("events differ from %s (run with -update after checking):\ngot:\n%s\nwant:\n%s", golden, out.Bytes(), want)
	}
}

// TestAppendDecodes checks the event against an independent decoder: every member, its type and the
// byte-exact round trip of key, value and headers.
func TestAppendDecodes(t *testing.T) {
	rec := &kgo.Record{
		Topic: "orders", Partition: 3, Offset: 42, Timestamp: time.UnixMilli(1700000000123),
		Key: []byte{1, 2, 3}, Value: bytes.Repeat([]byte{0xab}, 1000),
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte{0x80, 0xff}}},
	}
	ev := NewEncoder([]string{"h1:9092", "h2:9093"}).Append([]byte("prefix"), rec)
	if !bytes.HasPrefix(ev, []byte("prefix")) {
		t.Fatalf("Append did not keep dst's contents")
	}
	var got struct {
		EventSource      string               `json:"eventSource"`
		BootstrapServers string               `json:"bootstrapServers"`
		EventSourceKey   string               `json:"eventSourceKey"`
		Topic            string               `json:"topic"`
		Partition        string               `json:"partition"`
		Offset           int64                `json:"offset"`
		Timestamp        int64                `json:"timestamp"`
		TimestampType    string               `json:"timestampType"`
		Key              []byte               `json:"key"`
		Value            []byte               `json:"value"`
		Headers          []map[string][]uint8 `json:"headers"`
	}
	dec := json.NewDecoder(bytes.NewReader(ev[len("prefix"):]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decoding %s: %v", ev, err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"eventSource", got.EventSource, "SelfManagedKafka"},
		{"bootstrapServers", got.BootstrapServers, "h1:9092,h2:9093"},
		{"eventSourceKey", got.EventSourceKey, "orders-3"},
		{"topic", got.Topic, "orders"},
		{"partition", got.Partition, "3"},
		{"offset", got.Offset, int64(42)},
		{"timestamp", got.Timestamp, int64(1700000000123)},
		{"timestampType", got.TimestampType, "CREATE_TIME"},
		{"key", string(got.Key), string(rec.Key)},
		{"value", string(got.Value), string(rec.Value)},
		{"headers", len(got.Headers), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("event %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// []uint8 decodes from a JSON array of numbers only when each fits a byte, which is the point.
	var raw struct {
		Headers []map[string][]int `json:"headers"`
	}
	if err := json.Unmarshal(ev[len("prefix"):], &raw); err != nil {
		t.Fatal(err)
	}
	if h := raw.Headers[0]["h"]; len(h) != 2 || h[0] != 128 || h[1] != 255 {
		t.Errorf("header h = %v, want [128 255]", h)
	}
}

// FuzzAppendString checks the JSON string escaping of the event's text members (the topic, in "topic" and
// "eventSourceKey", and a header key) against encoding/json: the event is valid JSON and each member decodes
// to the text encoding/json would give, invalid UTF-8 replaced by U+FFFD.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x1f\n\t\r\b\f", "\xff\xfe", "\u2028\u2029", "é✓𝄞", "<>&"} {
		f.Add(s)
	}
	enc := NewEncoder([]string{"127.0.0.1:9092"})
	f.Fuzz(func(t *testing.T, s string) {
		rec := &kgo.Record{Topic: s, Partition: 3, Headers: []kgo.RecordHeader{{Key: s, Value: []byte{1}}}}
		out := enc.Append(nil, rec)
		var got struct {
			EventSourceKey string                 `json:"eventSourceKey"`
			Topic          string                 `json:"topic"`
			Headers        []map[string][]float64 `json:"headers"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Append(topic and header key %q) = %s, not JSON: %v", s, out, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		_ = json.Unmarshal(want, &wantS)
		if got.Topic != wantS || got.EventSourceKey != wantS+"-3" {
			t.Fatalf("Append(topic %q): topic %q, eventSourceKey %q, want %q and %q", s, got.Topic, got.EventSourceKey, wantS, wantS+"-3")
		}
		if len(got.Headers) != 1 || len(got.Headers[0]) != 1 || got.Headers[0][wantS] == nil {
			t.Fatalf("Append(header key %q): headers %v, want one header %q", s, got.Headers, wantS)
		}
	})
}

func BenchmarkAppend1KB(b *testing.B) {
	rec := &kgo.Record{
		Topic: "bench", Partition: 5, Offset: 123456, Timestamp: time.UnixMilli(1700000000123),
		Key: []byte("key-000123"), Value: bytes.Repeat([]byte("x"), 1024),
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("0123456789abcdef")}},
	}
	enc := NewEncoder([]string{"127.0.0.1:9092"})
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec.Value)))
	for b.Loop() {
		buf = enc.Append(buf[:0], rec)
	}
}

func BenchmarkPartitionAppend1KB(b *testing.B) {
	rec := &kgo.Record{
		Topic: "bench", Partition: 5, Offset: 123456, Timestamp: time.UnixMilli(1700000000123),
		Key: []byte("key-000123"), Value: bytes.Repeat([]byte("x"), 1024),
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("0123456789abcdef")}},
	}
	enc := NewEncoder([]string{"127.0.0.1:9092"}).Partition(rec.Topic, rec.Partition)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec.Value)))
	for b.Loop() {
		buf = enc.Append(buf[:0], rec)
	}
}

// TestBase64Lengths checks both encoders against encoding/base64 on pseudo-random bytes of every length
// up to a few fast-path blocks and around them, so that each split between the fast path and the
// portable tail is covered on every run, not only while fuzzing.
func TestBase64Lengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 4096)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	for n := 0; n <= len(src); n++ {
		if n > 300 && n%97 != 0 && n < len(src)-30 {
			continue
		}
		want := base64.StdEncoding.AppendEncode([]byte("x"), src[:n])
		if got := appendBase64([]byte("x"), src[:n]); !bytes.Equal(got, want) {
			t.Fatalf("appendBase64(%d random bytes) = %q, want %q", n, got, want)
		}
		if got := appendBase64Portable([]byte("x"), src[:n]); !bytes.Equal(got, want) {
			t.Fatalf("appendBase64Portable(%d random bytes) = %q, want %q", n, got, want)
		}
	}
	// Every sextet value in every position of a block.
	all := make([]byte, 0, 3*64*4)
	for v := range 64 {
		for range 4 {
			all = append(all, byte(v<<2|v>>4), byte(v<<4|v>>2), byte(v<<6|v))
		}
	}
	if got, want := appendBase64(nil, all), base64.StdEncoding.AppendEncode(nil, all); !bytes.Equal(got, want) {
		t.Fatalf("appendBase64(every sextet) = %q, want %q", got, want)
	}
}

func FuzzAppendBase64(f *testing.F) {
	for _, s := range []string{"", "a", "ab", "abc", "abcdefgh", "abcdefghi", string(bytes.Repeat([]byte{0xff}, 1025))} {
		f.Add([]byte("pre"), []byte(s))
	}
	f.Fuzz(func(t *testing.T, dst, src []byte) {
		want := base64.StdEncoding.AppendEncode(slices.Clone(dst), src)
		if got := appendBase64(slices.Clone(dst), src); !bytes.Equal(got, want) {
			t.Fatalf("appendBase64(%q, %x) = %q, want %q", dst, src, got, want)
		}
		if got := appendBase64Portable(slices.Clone(dst), src); !bytes.Equal(got, want) {
			t.Fatalf("appendBase64Portable(%q, %x) = %q, want %q", dst, src, got, want)
		}
	})
}

func BenchmarkBase64_1KB(b *testing.B) {
	src := bytes.Repeat([]byte("0123456789abcdef"), 64)
	buf := make([]byte, 0, 2048)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			buf = appendBase64(buf[:0], src)
		}
	})
	b.Run("portable", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			buf = appendBase64Portable(buf[:0], src)
		}
	})
	b.Run("encoding-base64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			buf = base64.StdEncoding.AppendEncode(buf[:0], src)
		}
	})
}
