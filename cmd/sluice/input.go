package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Size limits of what the commands read from files and standard input.
const (
	// maxDefinitionBytes bounds a pipe definition file (sluice run --file) and the text arguments of the test
	// commands (a template, an event pattern): far above any real one (an InputTemplate is at most 8192
	// characters), and small enough that /dev/zero or a wrong path fails at once instead of filling memory.
	maxDefinitionBytes = 1 << 20
	// readChunk is how much is read between two looks at the context.
	readChunk = 64 << 10
)

// errInputTooLarge is returned (wrapped, naming the input and the limit) by readInput and readBounded when
// the input holds more than the limit.
var errInputTooLarge = errors.New("input too large")

// readInput reads the file at path, at most limit bytes of it: a larger file is an error naming the file and
// the limit. The read ends when ctx does (SIGTERM), also when the file never ends (/dev/zero, checked between
// chunks) or blocks (a FIFO without a writer: see readAsync).
func readInput(ctx context.Context, path string, limit int) ([]byte, error) {
	return readAsync(ctx, path, func() ([]byte, error) {
		f, err := os.Open(path) // opening a FIFO blocks until a writer comes: it happens on the goroutine too
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readBounded(ctx, f, path, limit)
	})
}

// readStdin is readInput for standard input.
func readStdin(ctx context.Context, stdin io.Reader, limit int) ([]byte, error) {
	return readAsync(ctx, "standard input", func() ([]byte, error) {
		return readBounded(ctx, stdin, "standard input", limit)
	})
}

// readAsync runs read on a goroutine and returns its result, or an error as soon as ctx ends. A read blocked
// in the kernel cannot be interrupted portably; it is abandoned, holding at most its limit, and the process,
// which is exiting on that signal, reclaims it.
func readAsync(ctx context.Context, name string, read func() ([]byte, error)) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1) // buffered: an abandoned read finishes without anyone receiving
	go func() {
		data, err := read()
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("reading %s: interrupted: %w", name, context.Cause(ctx))
	}
}

// readBounded reads r to its end, at most limit bytes, looking at ctx between chunks; name is what the errors
// call the input.
func readBounded(ctx context.Context, r io.Reader, name string, limit int) ([]byte, error) {
	lr := io.LimitReader(r, int64(limit)+1) // one byte more tells "exactly limit" from "larger"
	chunk := make([]byte, min(readChunk, limit+1))
	var data []byte
	for {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reading %s: interrupted: %w", name, context.Cause(ctx))
		}
		n, err := lr.Read(chunk)
		data = append(data, chunk[:n]...)
		if len(data) > limit {
			return nil, fmt.Errorf("reading %s: larger than the limit of %d bytes: %w", name, limit, errInputTooLarge)
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
	}
}
