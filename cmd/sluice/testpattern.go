package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/pattern"
)

const testPatternUsage = `Usage: sluice test-event-pattern --event-pattern PATTERN --event EVENT

Tests whether an event matches an EventBridge event pattern, like 'aws events test-event-pattern'.
Both arguments are JSON text, or file://PATH to read it from a file; --event - reads the event from
standard input. Prints {"Result": true} or {"Result": false} and exits 0; an invalid pattern or event
is reported on standard error with exit status 1, and a usage error exits 2.

A Pipes Kafka record (an object whose "eventSource" is "SelfManagedKafka" or "aws:kafka", as in
'sluice test-input-template') is matched the way a pipe's filter matches it: the base64 "key" and
"value" are decoded first, so {"value": {"status": ["PAID"]}} addresses the JSON payload. --plain
matches the event exactly as written instead.

Flags:
`

// maxTestInput bounds what test-event-pattern reads from a file or standard input: one event is at most the
// Pipes payload limit (a 900 KB Kafka value is already a 1.2 MB event once base64-encoded).
const maxTestInput = plugin.MaxPayloadBytes

// cmdTestEventPattern implements `sluice test-event-pattern`.
func cmdTestEventPattern(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("test-event-pattern", flag.ContinueOnError)
	fs.SetOutput(std.err)
	patternArg := fs.String("event-pattern", "", "the event pattern (JSON, or file://PATH)")
	eventArg := fs.String("event", "", "the event (JSON, file://PATH, or - for standard input)")
	plain := fs.Bool("plain", false, "match the event as written, even when it is a Pipes Kafka record")
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
	fail := func(format string, a ...any) int {
		fmt.Fprintf(std.err, "sluice test-event-pattern: "+format+"\n", a...)
		return 1
	}
	if err := ctx.Err(); err != nil {
		return 1
	}
	p, err := argument(ctx, "--event-pattern", *patternArg, nil)
	if err != nil {
		return fail("%v", err)
	}
	e, err := argument(ctx, "--event", *eventArg, std.in)
	if err != nil {
		return fail("%v", err)
	}
	compiled, err := pattern.Compile(p)
	if err != nil {
		return fail("invalid event pattern: %v", err)
	}
	// Matching reads only what the pattern addresses, so check the whole event here, as the aws CLI does.
	if !json.Valid(e) {
		return fail("invalid event: not valid JSON")
	}
	var matched bool
	key, value, isRecord, err := kafkaRecord(e)
	switch {
	case err != nil:
		return fail("invalid event: %v", err)
	case isRecord && !*plain:
		// The pipe's filter: a FilterCriteria set and the Pipes rules for Kafka keys and values.
		var set *pattern.Set
		if set, err = pattern.CompileSet([][]byte{p}); err == nil {
			matched, err = set.MatchKafka(e, key, value)
		}
	default:
		matched, err = compiled.Match(e)
	}
	if err != nil {
		return fail("invalid event: %v", err)
	}
	fmt.Fprintf(std.out, "{\"Result\": %t}\n", matched)
	return 0
}

// kafkaRecord recognises a Pipes Kafka record by its eventSource, the rule transform uses for implicit body
// parsing, and returns its key and value bytes decoded from base64 (nil for an absent or null member: a Kafka
// null, as the pipe's filter sees it).
func kafkaRecord(event []byte) (key, value []byte, ok bool, err error) {
	var rec struct {
		EventSource string          `json:"eventSource"`
		Key         json.RawMessage `json:"key"`
		Value       json.RawMessage `json:"value"`
	}
	if bytes.TrimLeft(event, " \t\r\n")[0] != '{' || json.Unmarshal(event, &rec) != nil {
		return nil, nil, false, nil // not an object, or members of other types: not a record
	}
	if rec.EventSource != "SelfManagedKafka" && rec.EventSource != "aws:kafka" {
		return nil, nil, false, nil
	}
	if key, err = recordBytes("key", rec.Key); err != nil {
		return nil, nil, false, err
	}
	if value, err = recordBytes("value", rec.Value); err != nil {
		return nil, nil, false, err
	}
	return key, value, true, nil
}

// recordBytes decodes a record's base64 key or value member.
func recordBytes(name string, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s of a Kafka record (eventSource SelfManagedKafka) must be base64 text or null; use --plain to match the event as written", name)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s of a Kafka record is not base64: %v; use --plain to match the event as written", name, err)
	}
	return b, nil
}

// argument returns a flag's JSON text, reading it from a file when it is given as file://PATH and from stdin
// (when not nil) for "-". Reads are bounded by maxTestInput and end when ctx does.
func argument(ctx context.Context, name, v string, stdin io.Reader) ([]byte, error) {
	if path, ok := strings.CutPrefix(v, "file://"); ok {
		b, err := readInput(ctx, path, maxTestInput)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return b, nil
	}
	if v == "-" && stdin != nil {
		b, err := readStdin(ctx, stdin, maxTestInput)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return b, nil
	}
	return []byte(v), nil
}
