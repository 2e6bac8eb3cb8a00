package file

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/plugin"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		want    Config
		wantErr string
	}{
		{name: "plain", target: "file:///tmp/out.jsonl", want: Config{Path: "/tmp/out.jsonl", Fsync: FsyncBatch}},
		{name: "localhost host", target: "file://localhost/tmp/x", want: Config{Path: "/tmp/x", Fsync: FsyncBatch}},
		{name: "stdout", target: "file:///dev/stdout", want: Config{Path: "/dev/stdout", Fsync: FsyncBatch}},
		{name: "fsync never", target: "file:///tmp/x?fsync=never", want: Config{Path: "/tmp/x", Fsync: FsyncNever}},
		{name: "fsync batch", target: "file:///tmp/x?fsync=batch", want: Config{Path: "/tmp/x", Fsync: FsyncBatch}},
		{name: "bad fsync", target: "file:///tmp/x?fsync=always", wantErr: "fsync must be"},
		{name: "unknown option", target: "file:///tmp/x?mode=0600", wantErr: `unknown option "mode"`},
		{name: "relative", target: "file:tmp/x", wantErr: "path must be absolute"},
		{name: "remote host", target: "file://server/tmp/x", wantErr: `host "server" not supported`},
		{name: "no path", target: "file://", wantErr: "path must be absolute"},
		{name: "other scheme", target: "https:///tmp/x", wantErr: "scheme must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.target)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseTarget(%s) error = %v, want one containing %q", tc.target, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseTarget(%s) = %+v, %v, want %+v", tc.target, got, err, tc.want)
			}
		})
	}
}

func TestAppendLine(t *testing.T) {
	tests := []struct {
		name, event, want string
	}{
		{name: "compact object", event: `{"a":1}`, want: `{"a":1}`},
		{name: "pretty object", event: "{\n  \"a\": 1,\n  \"b\": \"x y\"\n}", want: `{"a":1,"b":"x y"}`},
		{name: "number", event: `42`, want: `42`},
		{name: "json string", event: `"hi"`, want: `"hi"`},
		{name: "plain text", event: `Hello Ana`, want: `"Hello Ana"`},
		{name: "text with newline", event: "a\nb", want: `"a\nb"`},
		{name: "text with quotes", event: `say "x"`, want: `"say \"x\""`},
		{name: "empty", event: ``, want: `""`},
		{name: "broken json", event: `{"a":`, want: `"{\"a\":"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendLine([]byte("prefix|"), []byte(tc.event)))
			want := "prefix|" + tc.want + "\n"
			if got != want {
				t.Fatalf("AppendLine(%q) = %q, want %q", tc.event, got, want)
			}
			if !json.Valid([]byte(strings.TrimSuffix(strings.TrimPrefix(got, "prefix|"), "\n"))) {
				t.Fatalf("AppendLine(%q) line is not JSON: %q", tc.event, got)
			}
		})
	}
}

func events(ss ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(ss))
	for i, s := range ss {
		out[i] = json.RawMessage(s)
	}
	return out
}

func TestDeliverAppendsAndSyncs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	if err := os.WriteFile(path, []byte("{\"existing\":true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := testFactory(nil, nil)
	tg, err := f(ctx, plugin.Env{PipeName: "p"}, "file://"+path, nil)
	if err != nil {
		t.Fatalf("factory: %v", err)
	}
	ft := tg.(*Target)
	if !ft.fsync {
		t.Fatalf("regular file with default policy: fsync = false, want true")
	}
	if err := tg.Deliver(ctx, plugin.Batch{Payloads: events(`{"n":1}`, "{ \"n\" : 2 }")}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if err := tg.Deliver(ctx, plugin.Batch{Payloads: events(`text`)}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if err := ft.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, _ := os.ReadFile(path)
	want := "{\"existing\":true}\n{\"n\":1}\n{\"n\":2}\n\"text\"\n"
	if string(got) != want {
		t.Fatalf("file = %q, want %q", got, want)
	}
	if err := tg.Deliver(ctx, plugin.Batch{Payloads: events(`1`)}); err == nil {
		t.Fatalf("Deliver after Close = nil, want error")
	}
}

func TestFsyncNeverAndDevices(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	c, err := ParseTarget("file://" + path + "?fsync=never")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(ctx)
	if tg.fsync {
		t.Fatalf("fsync=never: fsync = true")
	}
	// /dev/null is a character device: opening it with the default policy must not try to sync it.
	dn, err := Open(Config{Path: os.DevNull, Fsync: FsyncBatch})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Close(ctx)
	if dn.fsync {
		t.Fatalf("%s: fsync = true, want false for a device", os.DevNull)
	}
	if err := dn.Deliver(ctx, plugin.Batch{Payloads: events(`{}`)}); err != nil {
		t.Fatalf("Deliver to %s: %v", os.DevNull, err)
	}
}

func TestStdoutBoundToWriter(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	f := testFactory(&out, &errb)
	for _, tc := range []struct {
		target string
		buf    *bytes.Buffer
	}{{"file:///dev/stdout", &out}, {"file:///dev/stderr", &errb}} {
		tg, err := f(ctx, plugin.Env{}, tc.target, nil)
		if err != nil {
			t.Fatalf("factory(%s): %v", tc.target, err)
		}
		if err := tg.Deliver(ctx, plugin.Batch{Payloads: events(`{"to":"` + tc.target + `"}`)}); err != nil {
			t.Fatalf("Deliver(%s): %v", tc.target, err)
		}
		if err := tg.(plugin.Closer).Close(ctx); err != nil {
			t.Fatalf("Close(%s): %v", tc.target, err)
		}
		if got, want := tc.buf.String(), `{"to":"`+tc.target+`"}`+"\n"; got != want {
			t.Fatalf("%s wrote %q, want %q", tc.target, got, want)
		}
	}
}

func TestOpenErrorNamesPath(t *testing.T) {
	_, err := testFactory(nil, nil)(context.Background(), plugin.Env{}, "file:///nonexistent-dir-sluice/x.jsonl", nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent-dir-sluice/x.jsonl") {
		t.Fatalf("factory error = %v, want one naming the path", err)
	}
}

func TestConcurrentDeliverKeepsLinesWhole(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	tg, err := Open(Config{Path: path, Fsync: FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	const writers, batches, perBatch = 4, 50, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				evs := make([]json.RawMessage, perBatch)
				for i := range evs {
					evs[i] = json.RawMessage(fmt.Sprintf(`{"w":%d,"b":%d,"i":%d,"pad":"%s"}`, w, b, i, strings.Repeat("x", 200)))
				}
				if err := tg.Deliver(ctx, plugin.Batch{Payloads: evs}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	tg.Close(ctx)
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != writers*batches*perBatch {
		t.Fatalf("got %d lines, want %d", len(lines), writers*batches*perBatch)
	}
	next := map[int]int{} // per writer, the next expected b*perBatch+i: order within a writer is kept
	for _, l := range lines {
		var v struct{ W, B, I int }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if seq := v.B*perBatch + v.I; seq != next[v.W] {
			t.Fatalf("writer %d: got seq %d, want %d", v.W, seq, next[v.W])
		}
		next[v.W]++
	}
}

func BenchmarkDeliver(b *testing.B) {
	ctx := context.Background()
	tg, err := Open(Config{Path: filepath.Join(b.TempDir(), "out.jsonl"), Fsync: FsyncNever})
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close(ctx)
	ev := json.RawMessage(`{"orderId":"o-1","city":"Lisbon","amount":75.5,"status":"PAID"}`)
	batch := make([]json.RawMessage, 100)
	for i := range batch {
		batch[i] = ev
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(ev) * len(batch)))
	for b.Loop() {
		if err := tg.Deliver(ctx, plugin.Batch{Payloads: batch}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDeliverJSONLinesWritesAsIs: vouched-for events are written byte for byte, one per line, in order,
// and Deliver still compacts and quotes what it is handed.
func TestDeliverJSONLinesWritesAsIs(t *testing.T) {
	if !new(Target).CompactJSON() {
		t.Fatal("the file target is not a plugin.CompactJSONTarget")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	tg, err := Open(Config{Path: path, Fsync: FsyncBatch})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(ctx)
	if err := tg.Deliver(ctx, plugin.Batch{Payloads: events(`{"a":"x y"}`, `{"b":[1,2]}`), OwnJSON: true}); err != nil {
		t.Fatal(err)
	}
	if err := tg.Deliver(ctx, plugin.Batch{Payloads: events("{\n \"c\": 1}", `text`)}); err != nil {
		t.Fatal(err)
	}
	// A template rendered compact by the runtime (Batch.Compact) is not checked again either: the
	// space shows it was not compacted here.
	if err := tg.Deliver(ctx, plugin.Batch{Payloads: events(`{"d": 2}`), Compact: true}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"a\":\"x y\"}\n{\"b\":[1,2]}\n{\"c\":1}\n\"text\"\n{\"d\": 2}\n"
	if string(got) != want {
		t.Fatalf("file holds %q, want %q", got, want)
	}
}

// BenchmarkDeliverEvent: a batch of 100 Pipes events of 1 KB values (about 1.5 KB each), checked
// (Deliver) and vouched for (Batch.OwnJSON).
func BenchmarkDeliverEvent(b *testing.B) {
	ctx := context.Background()
	tg, err := Open(Config{Path: filepath.Join(b.TempDir(), "out.jsonl"), Fsync: FsyncNever})
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close(ctx)
	ev := json.RawMessage(`{"eventSource":"SelfManagedKafka","bootstrapServers":"127.0.0.1:9092","eventSourceKey":"t-0",` +
		`"topic":"t","partition":"0","offset":15,"timestamp":1545084650987,"timestampType":"CREATE_TIME","key":"a2V5",` +
		`"value":"` + strings.Repeat("eyJvcmRlcklkIjoibzEifQ", 62) + `","headers":[]}`)
	batch := make([]json.RawMessage, 100)
	for i := range batch {
		batch[i] = ev
	}
	for _, m := range []struct {
		name    string
		deliver func(context.Context, []json.RawMessage) error
	}{
		{"checked", func(ctx context.Context, evs []json.RawMessage) error {
			return tg.Deliver(ctx, plugin.Batch{Payloads: evs})
		}},
		{"vouched", func(ctx context.Context, evs []json.RawMessage) error {
			return tg.Deliver(ctx, plugin.Batch{Payloads: evs, OwnJSON: true})
		}},
	} {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(ev) * len(batch)))
			for b.Loop() {
				if err := m.deliver(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// testFactory builds targets through Spec, as the runtime does.
func testFactory(stdout, stderr io.Writer) func(context.Context, plugin.Env, string, json.RawMessage) (plugin.Target, error) {
	s := Spec(stdout, stderr)
	return func(ctx context.Context, env plugin.Env, target string, params json.RawMessage) (plugin.Target, error) {
		return s.New(ctx, env, plugin.Check{Endpoint: target, Params: params})
	}
}
