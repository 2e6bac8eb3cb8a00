// Command sluice runs EventBridge Pipes for Apache Kafka: one binary with subcommands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// stdio carries the process streams so that commands are testable without touching os.Std*.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command runs one subcommand and returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, std stdio) int
}

func commands() map[string]command {
	return map[string]command{
		"serve":               {"serve the EventBridge Pipes API and run the pipes it manages", cmdServe},
		"run":                 {"run one pipe from a CreatePipe definition file", cmdRun},
		"dev":                 {"run an embedded Kafka with a demo pipe: the one-command local experience", cmdDev},
		"test-event-pattern":  {"test an event pattern against an event, like aws events test-event-pattern", cmdTestEventPattern},
		"test-input-template": {"render a Pipes input template against an event", cmdTestInputTemplate},
		"version":             {"print the version, commit and Go version sluice was built with", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go secondSignalKills(ctx, stop)
	os.Exit(dispatch(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}

// secondSignalKills makes the first SIGINT/SIGTERM drain and a second one end the process at once. The first
// cancels ctx, and the commands drain (stop fetching, finish or abandon in-flight batches, commit what was
// delivered). signal.NotifyContext keeps catching the signals after that, so a second one would do nothing:
// calling stop restores their default disposition, and the kernel then ends the process on the next one (the
// shell reports 130 for SIGINT, 143 for SIGTERM).
//
// Exiting in the middle of a drain is safe for the records: offsets are committed only for batches that were
// delivered (or dead-lettered), after delivery returned, so whatever was in flight stays uncommitted and is
// read again by the next consumer (at-least-once). Nothing that was not delivered is ever committed.
func secondSignalKills(ctx context.Context, stop context.CancelFunc) {
	<-ctx.Done()
	stop()
}

func dispatch(ctx context.Context, args []string, std stdio) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(std.err, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(std.err, "sluice: unknown command %q\n\n", args[0])
		usage(std.err, cmds)
		return 2
	}
	return c.run(ctx, args[1:], std)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "Usage: sluice <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-20s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'sluice <command> -h' for a command's flags.")
}
