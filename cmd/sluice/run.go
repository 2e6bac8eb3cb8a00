package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/execlog"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/source/kafka"
	"github.com/sluicehq/sluice/internal/supervisor"
)

const runUsage = `Usage: sluice run --file pipe.json|pipe.yaml [flags]

Runs one pipe in the foreground from a definition in the CreatePipe request shape (JSON, or YAML with the
same member names). The definition is validated before anything connects: every problem is listed by
field and the exit status is 2. A definition with DesiredState STOPPED is validated and not run. SIGTERM or Ctrl-C drains the pipe (stops fetching, lets in-flight batches
finish, commits what was delivered) and exits 0; a second signal exits at once.

Flags:
`

// runFlags are the flags of sluice run.
type runFlags struct {
	file, name, metricsListen string
	region, account           string
	logLevel, executionLog    string
	drainTimeout              time.Duration
	failFast                  bool
	instanceID                string
	sessionTimeout            time.Duration
	awsFlags
}

func cmdRun(ctx context.Context, args []string, std stdio) int {
	var f runFlags
	fs := flag.NewFlagSet("sluice run", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, runUsage); fs.PrintDefaults() }
	fs.StringVar(&f.file, "file", "", "the pipe definition `path` (.json, .yaml or .yml)")
	fs.StringVar(&f.name, "name", "", "the pipe `name` (default: the definition's Name, else the file's base name)")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus /metrics on `host:port`")
	f.awsFlags.register(fs)
	fs.StringVar(&f.region, "region", envOr("AWS_REGION", awsid.DefaultRegion), "AWS `region` of the pipe ARN, and the default region of AWS calls")
	fs.StringVar(&f.account, "account", awsid.DefaultAccount, "AWS `account` ID used in the pipe ARN")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.executionLog, "execution-log", "stderr", "where the pipe's execution log (LogConfiguration) goes: `stderr` or a file path (appended)")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", runtime.DefaultDrainTimeout, "how long in-flight batches may take to finish after SIGTERM")
	fs.BoolVar(&f.failFast, "fail-fast", false, "exit 1 at once when the pipe cannot start; by default a broker, DNS or Secrets Manager that does not answer is retried (backoff up to 5m, each attempt logged; a signal during the wait exits 0)")
	fs.StringVar(&f.instanceID, "instance-id", "", "the consumer group's static member `ID` (group.instance.id); default: <consumer group>-<hostname>, plus -<n> for the n-th concurrent run of the pipe on this host. A restart with the same ID takes its partitions back at once")
	fs.DurationVar(&f.sessionTimeout, "session-timeout", kafka.DefaultSessionTimeout, "consumer group session `timeout`: how long a crashed run's partitions wait for its restart before other members take them ("+kafka.MinSessionTimeout.String()+".."+kafka.MaxSessionTimeout.String()+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(std.err, "sluice run: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if err := f.awsFlags.check(); err != nil {
		fmt.Fprintf(std.err, "sluice run: %v\n", err)
		return 2
	}
	if err := checkSessionTimeout(f.sessionTimeout); err != nil {
		fmt.Fprintf(std.err, "sluice run: %v\n", err)
		return 2
	}
	if f.instanceID != "" {
		if err := kafka.CheckInstanceID(f.instanceID); err != nil {
			fmt.Fprintf(std.err, "sluice run: --instance-id: %v\n", err)
			return 2
		}
	}
	if f.file == "" {
		fmt.Fprintln(std.err, "sluice run: --file is required")
		fs.Usage()
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(std.err, "sluice run: --log-level %q: want debug, info, warn or error\n", f.logLevel)
		return 2
	}
	def, code := loadDefinition(ctx, f.file, f.name, std.err)
	if def == nil {
		return code
	}
	if def.DesiredState == pipe.StateStopped {
		// As in Pipes, a STOPPED pipe does not consume; the definition was still checked in full.
		fmt.Fprintf(std.err, "sluice run: pipe %s has DesiredState STOPPED: nothing to run\n", def.Name)
		return 0
	}
	log := newJSONLogger(std.err, level)
	return runPipe(ctx, def, f, log, std.err)
}

// loadDefinition reads, decodes, defaults and validates a definition file. On failure it prints every
// problem and returns a nil definition with the exit status (2: the definition is wrong, 1: unreadable,
// larger than maxDefinitionBytes, or the read was interrupted by a signal).
func loadDefinition(ctx context.Context, path, name string, w io.Writer) (*pipe.Definition, int) {
	data, err := readInput(ctx, path, maxDefinitionBytes)
	if err != nil {
		fmt.Fprintf(w, "sluice run: definition: %v\n", err)
		return nil, 1
	}
	def, err := pipe.Load(data, plugin.Default, func(def *pipe.Definition) error {
		switch {
		case name != "":
			def.Name = name
		case def.Name == "":
			// A CreatePipe body carries no Name (the API takes it from the URI): use the file's base name.
			def.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		return nil
	})
	// Validation goes on after decode problems, so that one run lists every problem. Warnings do not stop
	// the pipe (Pipes accepts such definitions); they are shown with the problems, or before the pipe starts.
	var errs pipe.FieldErrors
	if err != nil && (def == nil || !errors.As(err, &errs)) {
		fmt.Fprintf(w, "sluice run: %s: %v\n", path, err)
		return nil, 2
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "sluice run: %s: invalid pipe definition (%d problems):\n", path, len(errs))
		for _, fe := range errs {
			fmt.Fprintf(w, "  %s: %s\n", fe.Field, fe.Message)
		}
	}
	for _, warn := range def.Warnings() {
		fmt.Fprintf(w, "sluice run: %s: warning: %s: %s\n", path, warn.Field, warn.Message)
	}
	if len(errs) > 0 {
		return nil, 2
	}
	return def, 0
}

// runPipe runs a validated definition until ctx ends, serving metrics when asked.
func runPipe(ctx context.Context, def *pipe.Definition, f runFlags, log *slog.Logger, errw io.Writer) int {
	xlog, err := execlog.Open(f.executionLog, errw)
	if err != nil {
		fmt.Fprintf(errw, "sluice run: --execution-log: %v\n", err)
		return 1
	}
	defer xlog.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	deps := runtime.Deps{
		Secrets:      &secret.Resolver{AWSEndpoint: f.awsEndpoint, Region: f.region, Logger: log},
		AWS:          f.awsFlags.provider(f.region, log).For(def.Name, def.RoleArn, sandbox.Unrestricted()),
		Logger:       log,
		Metrics:      reg,
		Region:       f.region,
		Sandbox:      sandbox.Unrestricted(), // the operator wrote this definition: any file, any address (serve and dev confine API pipes)
		Account:      f.account,
		DrainTimeout: f.drainTimeout,
		ExecutionLog: xlog, // the pipe's LogConfiguration records as JSON lines: stderr, or --execution-log
	}
	deps.InstanceID, deps.SessionTimeout = f.instanceID, f.sessionTimeout
	if f.metricsListen != "" {
		// Served from the start, so that /healthz and the retry logs can be watched while the broker is down;
		// they keep being served during the drain and stop after the pipe closed (deferred first, so run last).
		metricsCtx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
		metricsErr := make(chan error, 1)
		ready := make(chan struct{})
		go func() {
			metricsErr <- metrics.Serve(metricsCtx, f.metricsListen, reg, func(a net.Addr) {
				log.Info("serving metrics", "address", "http://"+a.String()+"/metrics")
				close(ready)
			})
		}()
		select {
		case <-ready:
		case err := <-metricsErr:
			stopMetrics()
			fmt.Fprintf(errw, "sluice run: %v\n", err)
			return 1
		}
		defer func() {
			stopMetrics()
			if err := <-metricsErr; err != nil {
				log.Error("serving metrics", "error", err)
			}
		}()
	}
	p, err := startPipe(ctx, def, deps, f.failFast, log)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped while waiting for the broker: nothing was consumed, so nothing is lost.
			log.Info("stopped before the pipe could start", "error", err)
			return 0
		}
		fmt.Fprintf(errw, "sluice run: %v\n", err)
		return 1
	}
	// Close commits what was delivered; it must run even though ctx is done by then.
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := p.Close(closeCtx); err != nil {
			log.Error("closing pipe", "error", err)
		}
	}()
	runErr := p.Run(ctx)
	if runErr != nil {
		fmt.Fprintf(errw, "sluice run: %v\n", runErr)
		return 1
	}
	return 0
}

// startPipe builds the pipe, retrying transient failures (a broker, DNS or Secrets Manager that does not
// answer) with capped exponential backoff until ctx ends, as the API server does; failFast makes the
// first failure final. Permanent failures (rejected credentials, a malformed secret, a target that
// cannot be built) end at once.
func startPipe(ctx context.Context, def *pipe.Definition, deps runtime.Deps, failFast bool, log *slog.Logger) (*runtime.Pipe, error) {
	var p *runtime.Pipe
	build := func(ctx context.Context) error {
		var err error
		p, err = runtime.New(ctx, def, deps)
		return err
	}
	var err error
	if failFast {
		err = build(ctx)
		return p, err
	}
	err = supervisor.Retry(ctx, supervisor.Backoff{}, build, func(r supervisor.Retrying) {
		log.Warn("pipe cannot start yet; retrying (--fail-fast exits instead)", "pipe", def.Name, "attempt", r.Attempt,
			"retryIn", supervisor.Round(r.Delay).String(), "error", r.Err)
	})
	return p, err
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// checkSessionTimeout checks --session-timeout against the broker's default bounds.
func checkSessionTimeout(d time.Duration) error {
	if d < kafka.MinSessionTimeout || d > kafka.MaxSessionTimeout {
		return fmt.Errorf("--session-timeout %s outside %s..%s", d, kafka.MinSessionTimeout, kafka.MaxSessionTimeout)
	}
	return nil
}
