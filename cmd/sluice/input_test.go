package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadBounded(t *testing.T) {
	cases := []struct {
		name  string
		size  int
		limit int
		ok    bool
	}{
		{"empty", 0, 10, true},
		{"under", 9, 10, true},
		{"exactly the limit", 10, 10, true},
		{"one byte over", 11, 10, false},
		{"several chunks", 3*readChunk + 5, 4 * readChunk, true},
		{"several chunks over", 4*readChunk + 1, 4 * readChunk, false},
	}
	for _, c := range cases {
		in := bytes.Repeat([]byte("a"), c.size)
		got, err := readBounded(context.Background(), bytes.NewReader(in), "input", c.limit)
		if c.ok {
			if err != nil || !bytes.Equal(got, in) {
				t.Errorf("%s: readBounded(%d bytes, limit %d) = %d bytes, %v; want the input", c.name, c.size, c.limit, len(got), err)
			}
			continue
		}
		if !errors.Is(err, errInputTooLarge) || !strings.Contains(err.Error(), "input: larger than the limit of") {
			t.Errorf("%s: readBounded(%d bytes, limit %d) error = %v, want errInputTooLarge naming the input", c.name, c.size, c.limit, err)
		}
	}
}

// TestReadInputCancelled: a cancelled context ends a read that never ends (/dev/zero: checked between
// chunks) and one that blocks (a FIFO nobody writes: abandoned).
func TestReadInputCancelled(t *testing.T) {
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := readBounded(cancelled, zero, "/dev/zero", 1<<30); !errors.Is(err, context.Canceled) ||
		!strings.Contains(err.Error(), "/dev/zero: interrupted") {
		t.Errorf("readBounded(/dev/zero) with a cancelled context = %v, want an interrupted error wrapping context.Canceled", err)
	}

	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = readInput(ctx, fifo, 1<<20)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), fifo+": interrupted") {
		t.Errorf("readInput(FIFO) after cancel = %v, want an interrupted error wrapping context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("readInput(FIFO) took %v after the cancel", d)
	}
	// The abandoned goroutine is still in open(2): let it finish so that the test leaves nothing behind.
	if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
		w.Close()
	}

	if _, err := readInput(context.Background(), filepath.Join(t.TempDir(), "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("readInput(missing) = %v, want os.ErrNotExist", err)
	}
}
