package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/transform"
)

// cmdTestInputTemplate renders an InputTemplate against one event, the way the pipe would before calling its
// enrichment or target, so that a template can be tried without running a pipe.
func cmdTestInputTemplate(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("test-input-template", flag.ContinueOnError)
	fs.SetOutput(std.err)
	tmplArg := fs.String("input-template", "", "the `template` (InputTemplate), or file://path to read it from")
	eventArg := fs.String("event", "", "the `event` (one record, as the enrichment or target would receive it), file://path, or - for standard input")
	name := fs.String("pipe-name", "test-pipe", "pipe `name` for <aws.pipes.pipe-name> and the pipe ARN")
	region := fs.String("region", awsid.DefaultRegion, "`region` of the pipe ARN")
	account := fs.String("account", awsid.DefaultAccount, "`account` id of the pipe ARN")
	sourceArn := fs.String("source-arn", "", "value of <aws.pipes.source-arn>")
	enrichmentArn := fs.String("enrichment-arn", "", "value of <aws.pipes.enrichment-arn>")
	targetArn := fs.String("target-arn", "", "value of <aws.pipes.target-arn>")
	ingestion := fs.String("ingestion-time", "", "RFC 3339 `time` for <aws.pipes.event.ingestion-time> (default: now)")
	fs.Usage = func() {
		fmt.Fprint(std.err, "Usage: sluice test-input-template --input-template TEMPLATE --event EVENT [flags]\n\n"+
			"Renders a Pipes InputTemplate against one event and prints the result. For a Kafka record\n"+
			"(eventSource SelfManagedKafka), <$.value...> and <$.key...> read the base64-decoded payload when it is JSON.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if fs.NArg() > 0 || !set["input-template"] || !set["event"] {
		fmt.Fprintln(std.err, "sluice test-input-template: --input-template and --event are required (and nothing else may follow the flags)")
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(std.err, "sluice test-input-template: %v\n", err)
		return 1
	}
	tmplText, err := readArg(ctx, *tmplArg, std.in, maxDefinitionBytes)
	if err != nil {
		return fail(fmt.Errorf("reading --input-template: %w", err))
	}
	// An event is at most one payload: what a pipe hands its enrichment or target is capped the same way.
	event, err := readArg(ctx, *eventArg, std.in, plugin.MaxPayloadBytes)
	if err != nil {
		return fail(fmt.Errorf("reading --event: %w", err))
	}
	vars := &transform.Vars{
		PipeArn:       awsid.PipeArn(*region, *account, *name),
		PipeName:      *name,
		SourceArn:     *sourceArn,
		EnrichmentArn: *enrichmentArn,
		TargetArn:     *targetArn,
	}
	if *ingestion != "" {
		if vars.IngestionTime, err = time.Parse(time.RFC3339Nano, *ingestion); err != nil {
			return fail(fmt.Errorf("parsing --ingestion-time: %w", err))
		}
	}
	tmpl, err := transform.Parse(string(tmplText))
	if err != nil {
		return fail(err)
	}
	if err := tmpl.Lint(); err != nil {
		// Pipes accepts any text as a template, so this is a warning: the output is still rendered.
		fmt.Fprintf(std.err, "sluice test-input-template: warning: %v\n", err)
	}
	// The same bound as a running pipe (internal/runtime): rendering stops past the Pipes payload limit, so
	// a template that repeats a large value fails at once instead of filling memory.
	out, err := tmpl.RenderLimit(nil, event, vars, plugin.MaxPayloadBytes)
	if errors.Is(err, transform.ErrTooLarge) {
		return fail(fmt.Errorf("%w (the Pipes payload limit, 6 MB: a pipe would fail this record)", err))
	}
	if err != nil {
		return fail(err)
	}
	if len(out) == 0 || out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	if _, err := std.out.Write(out); err != nil {
		return fail(fmt.Errorf("writing the output: %w", err))
	}
	return 0
}

// readArg returns a flag's value: the contents of the file for file://path, standard input for "-", otherwise the
// text itself. Files are read verbatim, as the AWS CLI reads file:// parameters, and at most limit bytes of them
// (readInput: a larger one is an error naming the limit, and a signal ends the read).
func readArg(ctx context.Context, v string, stdin io.Reader, limit int) ([]byte, error) {
	switch {
	case strings.HasPrefix(v, "file://"):
		return readInput(ctx, strings.TrimPrefix(v, "file://"), limit)
	case v == "-":
		if stdin == nil {
			return nil, errors.New("no standard input")
		}
		return readStdin(ctx, stdin, limit)
	}
	return []byte(v), nil
}
