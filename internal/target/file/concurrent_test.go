package file

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/plugin"
)

// TestConcurrentDeliversStayWhole: batches are framed outside the file's lock, so that the partitions of a
// pipe frame at once; each batch must still land as one contiguous run of lines, and each caller's batches
// in the order it delivered them.
func TestConcurrentDeliversStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	tg, err := Open(Config{Path: path, Fsync: FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	const callers, batches, size = 4, 200, 5
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				evs := make([]json.RawMessage, size)
				for i := range evs {
					// Spacing that the checked path compacts, so framing does real work.
					evs[i] = json.RawMessage(fmt.Sprintf(`{ "c": %d, "b": %d, "i": %d }`, c, b, i))
				}
				if err := tg.Deliver(context.Background(), plugin.Batch{Payloads: evs}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := tg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != callers*batches*size {
		t.Fatalf("%d lines, want %d", len(lines), callers*batches*size)
	}
	next := make([]int, callers) // each caller's next batch
	for k := 0; k < len(lines); k += size {
		var c, b int
		if _, err := fmt.Sscanf(lines[k], `{"c":%d,"b":%d,"i":0}`, &c, &b); err != nil {
			t.Fatalf("line %d %q does not start a batch: %v", k, lines[k], err)
		}
		for i := range size {
			if want := fmt.Sprintf(`{"c":%d,"b":%d,"i":%d}`, c, b, i); lines[k+i] != want {
				t.Fatalf("line %d = %q, want %q (batch split)", k+i, lines[k+i], want)
			}
		}
		if b != next[c] {
			t.Fatalf("caller %d: batch %d written where batch %d was due", c, b, next[c])
		}
		next[c]++
	}
}

// TestDeliverAllocs: framing and writing a batch allocates nothing once the target's buffers are warm,
// on both paths.
func TestDeliverAllocs(t *testing.T) {
	tg, err := Open(Config{Path: filepath.Join(t.TempDir(), "out.jsonl"), Fsync: FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(context.Background())
	evs := []json.RawMessage{json.RawMessage(`{"a": 1, "b": [1, 2]}`), json.RawMessage(`{"c":"d"}`)}
	for _, own := range []bool{false, true} {
		b := plugin.Batch{Payloads: evs, OwnJSON: own}
		if n := testing.AllocsPerRun(100, func() {
			if err := tg.Deliver(context.Background(), b); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Deliver (OwnJSON %v) allocates %.1f times per batch, want 0", own, n)
		}
	}
}
