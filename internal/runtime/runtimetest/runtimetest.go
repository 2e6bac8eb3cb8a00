// Package runtimetest runs a pipe in the test's process, for the runtime's own tests and for the
// plugins' end-to-end tests (awstest): the Deps a test pipe gets, and Start, which builds it, runs it
// and stops it (drained and closed) when the test ends.
package runtimetest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/secret"
)

// Deps returns the Deps of a test pipe: plugins from reg (nil: plugin.Default), an empty secret
// resolver (file: and env: references), logs to the test's output at INFO, a 10 s drain, and a short
// retry backoff (20 to 200 ms) so that retries and dead letters happen quickly.
func Deps(t testing.TB, reg *plugin.Registry) runtime.Deps {
	return runtime.Deps{
		Registry:     reg,
		Secrets:      &secret.Resolver{},
		Logger:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
		DrainTimeout: 10 * time.Second,
		Retry:        runtime.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	}
}

// Running is a pipe started by Start.
type Running struct {
	Pipe *runtime.Pipe
	// Stop cancels Run, waits for it and closes the pipe; later calls return the first call's result.
	// The test's cleanup calls it (and fails the test on its error).
	Stop func() error
}

// Start builds def with d (runtime.New, whose error it returns) and runs it in a goroutine until Stop
// or the end of the test.
func Start(t testing.TB, def *pipe.Definition, d runtime.Deps) (*Running, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := runtime.New(ctx, def, d)
	if err != nil {
		cancel()
		return nil, err
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	r := &Running{Pipe: p}
	r.Stop = sync.OnceValue(func() error {
		cancel()
		runErr := <-errc
		closeCtx, cc := context.WithTimeout(context.Background(), 30*time.Second)
		defer cc()
		return errors.Join(runErr, p.Close(closeCtx))
	})
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stopping pipe %s: %v", def.Name, err)
		}
	})
	return r, nil
}
