package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/pattern"
)

const testPatternUsage = `Usage: sluice test-event-pattern --event-pattern PATTERN --event EVENT

Tests whether an event matches an EventBridge event pattern, like 'aws events test-event-pattern'.
Both arguments are JSON text, or file://PATH to read it from a file. Prints {"Result": true} or
{"Result": false} and exits 0; an invalid pattern or event is reported on standard error with exit
status 1, and a usage error exits 2.

Flags:
`

// cmdTestEventPattern implements `sluice test-event-pattern`.
func cmdTestEventPattern(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("test-event-pattern", flag.ContinueOnError)
	fs.SetOutput(std.err)
	patternArg := fs.String("event-pattern", "", "the event pattern (JSON, or file://PATH)")
	eventArg := fs.String("event", "", "the event (JSON, or file://PATH)")
	fs.Usage = func() {
		fmt.Fprint(std.err, testPatternUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *patternArg == "" || *eventArg == "" {
		fmt.Fprintln(std.err, "sluice test-event-pattern: --event-pattern and --event are required")
		fs.Usage()
		return 2
	}
	if err := ctx.Err(); err != nil {
		return 1
	}
	p, err := argument("--event-pattern", *patternArg)
	if err != nil {
		fmt.Fprintf(std.err, "sluice test-event-pattern: %v\n", err)
		return 1
	}
	e, err := argument("--event", *eventArg)
	if err != nil {
		fmt.Fprintf(std.err, "sluice test-event-pattern: %v\n", err)
		return 1
	}
	compiled, err := pattern.Compile(p)
	if err != nil {
		fmt.Fprintf(std.err, "sluice test-event-pattern: invalid event pattern: %v\n", err)
		return 1
	}
	// Matching reads only what the pattern addresses, so check the whole event here, as the aws CLI does.
	if !json.Valid(e) {
		fmt.Fprintln(std.err, "sluice test-event-pattern: invalid event: not valid JSON")
		return 1
	}
	matched, err := compiled.Match(e)
	if err != nil {
		fmt.Fprintf(std.err, "sluice test-event-pattern: invalid event: %v\n", err)
		return 1
	}
	fmt.Fprintf(std.out, "{\"Result\": %t}\n", matched)
	return 0
}

// argument returns a flag's JSON text, reading it from a file when it is given as file://PATH.
func argument(name, v string) ([]byte, error) {
	if path, ok := strings.CutPrefix(v, "file://"); ok {
		// Bounded (readInput): an event is at most one payload; a pattern is far smaller.
		b, err := readInput(context.Background(), path, plugin.MaxPayloadBytes)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return b, nil
	}
	return []byte(v), nil
}
