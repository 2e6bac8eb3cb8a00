package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/console"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/source/kafka"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
)

const serveUsage = `Usage: sluice serve --data-dir DIR [flags]
       sluice serve --cluster HOST:PORT[,HOST:PORT] [--cluster-name NAME] [--node-id ID] [flags]

Serves the Amazon EventBridge Pipes API, so that the AWS CLI, the SDKs and infrastructure-as-code tools
manage Sluice's pipes unchanged (point their endpoint at this server), and runs the pipes it manages.
Pipes are kept in DIR/sluice.db; on start every pipe whose desired state is RUNNING is started again.
With --cluster the node is one of a cluster: the pipes live in compacted topics of that Kafka cluster
(__sluice-NAME-pipes, __sluice-NAME-status), every node serves the whole API, and no data directory is
needed (without one, pipes may write files only under a --file-root).

Requests must be signed (AWS Signature Version 4, service "pipes") with an access key given by
--access-key-id/--secret-access-key, SLUICE_ACCESS_KEY_ID/SLUICE_SECRET_ACCESS_KEY or --credentials-file
(AWS shared-credentials format; every section adds a key). Without keys the API is unauthenticated,
may only listen on loopback, and serves only clients on this machine: requests must name a loopback Host
(localhost, 127.0.0.1, [::1]), browsers' cross-site requests are refused, and bodies must be
application/json (so that a web page cannot drive it). /healthz and /metrics (Prometheus) are served on the same listener without
authentication. The web console (pipes, live rates, create and edit, a filter and template playground) is
served at / on the same listener: without keys it follows the same loopback rules, with keys visitors sign
in with one of them. SIGTERM or Ctrl-C stops accepting requests and drains every pipe; a second signal exits.

Pipes created through the API stay inside what the operator allows: file:// targets, dead-letter files
and file:// secrets must lie under a --file-root directory (default DIR/files; ".." and symbolic links
leaving it are refused, /dev/stdout too unless a root holds it), and HTTP targets and enrichments may not
connect to link-local or cloud metadata addresses nor to this server's own listener unless --allow-egress
opens them (checked on the resolved address at every connection; HTTP_PROXY is not used for pipe traffic).
sluice run, whose definition the operator wrote, has no such limits.

Flags:
`

// serveFlags are the flags of sluice serve.
type serveFlags struct {
	listen, dataDir             string
	keyID, secretKey, credsFile string
	region, account             string
	tlsCert, tlsKey             string
	logLevel                    string
	maxPipes                    int
	drainTimeout                time.Duration
	sessionTimeout              time.Duration
	clusterFlags
	placementFlags
	sandboxFlags
	awsFlags
}

// clusterSessionDefault gives a cluster's pipes the cluster's session timeout (10 s) unless
// --session-timeout was given: a dead node's partitions then move within 10 s, and the node's fence
// (2/3 of the control session) stops its members before the broker expires their sessions. A single
// node keeps the source's default.
func (f *serveFlags) clusterSessionDefault(fs *flag.FlagSet) {
	if f.cluster == "" {
		return
	}
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "session-timeout" })
	if !set {
		f.sessionTimeout = cluster.DefaultSessionTimeout
	}
}

func cmdServe(ctx context.Context, args []string, std stdio) int {
	var f serveFlags
	fs := flag.NewFlagSet("sluice serve", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, serveUsage); fs.PrintDefaults() }
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9400", "API listen `host:port`")
	fs.StringVar(&f.dataDir, "data-dir", "", "`directory` of the pipe store (created when missing)")
	fs.StringVar(&f.keyID, "access-key-id", os.Getenv("SLUICE_ACCESS_KEY_ID"), "access key `ID` clients sign with (env SLUICE_ACCESS_KEY_ID)")
	fs.StringVar(&f.secretKey, "secret-access-key", "", "secret access `key` for --access-key-id (env SLUICE_SECRET_ACCESS_KEY; prefer the env or a file: flags show in ps)")
	fs.StringVar(&f.credsFile, "credentials-file", "", "`file` of access keys in the AWS shared-credentials format")
	fs.StringVar(&f.region, "region", envOr("AWS_REGION", awsid.DefaultRegion), "`region` in pipe ARNs, and the default region of AWS calls")
	fs.StringVar(&f.account, "account", awsid.DefaultAccount, "`account` ID in pipe ARNs")
	f.awsFlags.register(fs)
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate `file` (PEM) for the listener; needs --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key `file` (PEM) for --tls-cert")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.IntVar(&f.maxPipes, "max-pipes", 1000, "pipe quota (ServiceQuotaExceededException beyond it)")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", runtime.DefaultDrainTimeout, "how long a stopping pipe's in-flight batches may take")
	fs.DurationVar(&f.sessionTimeout, "session-timeout", kafka.DefaultSessionTimeout, "consumer group session `timeout` of every pipe: how long a crashed server's partitions wait for its restart before other members take them ("+kafka.MinSessionTimeout.String()+".."+kafka.MaxSessionTimeout.String()+"; "+cluster.DefaultSessionTimeout.String()+" by default with --cluster)")
	f.clusterFlags.register(fs)
	f.placementFlags.register(fs)
	f.sandboxFlags.register(fs, "DATA-DIR/files, created when missing")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if f.secretKey == "" {
		f.secretKey = os.Getenv("SLUICE_SECRET_ACCESS_KEY")
	}
	f.clusterSessionDefault(fs)
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(std.err, "sluice serve: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := f.awsFlags.check(); err != nil {
		return usageErr("%v", err)
	}
	if err := checkSessionTimeout(f.sessionTimeout); err != nil {
		return usageErr("%v", err)
	}
	if err := f.clusterFlags.check(f.listen); err != nil {
		return usageErr("%v", err)
	}
	if err := f.placementFlags.check(); err != nil {
		return usageErr("%v", err)
	}
	if f.dataDir == "" && f.cluster == "" {
		return usageErr("--data-dir is required (or --cluster)")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usageErr("--tls-cert and --tls-key go together")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usageErr("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	keys, err := serveKeys(f)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := api.CheckListen(f.listen, len(keys) > 0); err != nil {
		return usageErr("%v", err)
	}
	log := newJSONLogger(std.err, level)
	return serve(ctx, f, keys, log, std.err)
}

// serveKeys gathers the access keys from the flags, the environment and the credentials file.
func serveKeys(f serveFlags) (map[string]string, error) {
	keys := map[string]string{}
	if f.credsFile != "" {
		k, err := api.LoadCredentialsFile(f.credsFile)
		if err != nil {
			return nil, err
		}
		keys = k
	}
	switch {
	case f.keyID != "" && f.secretKey != "":
		keys[f.keyID] = f.secretKey
	case f.keyID != "" || f.secretKey != "":
		return nil, errors.New("--access-key-id and --secret-access-key (or SLUICE_ACCESS_KEY_ID and SLUICE_SECRET_ACCESS_KEY) go together")
	}
	return keys, nil
}

func serve(ctx context.Context, f serveFlags, keys map[string]string, log *slog.Logger, errw io.Writer) int {
	var st store.Store
	var err error
	if f.cluster != "" {
		st, err = f.clusterFlags.open(ctx, f.awsEndpoint, f.region, log)
	} else {
		st, err = store.Open(f.dataDir, 2*time.Second)
	}
	if err != nil {
		fmt.Fprintf(errw, "sluice serve: %v\n", err)
		return 1
	}
	defer st.Close()

	var files *sandbox.Files
	if f.dataDir == "" && len(f.fileRoots) == 0 {
		files, err = sandbox.NewFiles(nil, false) // cluster mode without a data directory: no file access
	} else {
		files, err = serverFiles(f.fileRoots, defaultFileRoot(f.dataDir), false)
	}
	if err != nil {
		fmt.Fprintf(errw, "sluice serve: %v\n", err)
		return 1
	}
	// The listener comes first: the egress policy refuses connections to it (the API and /metrics).
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		fmt.Fprintf(errw, "sluice serve: %v\n", err)
		return 1
	}
	// Pipes created through the API run definitions the operator did not write (sandbox package).
	policy := sandbox.Policy{Files: files, Egress: serverEgress(f.allowEgress, ln.Addr())}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	secrets := &secret.Resolver{AWSEndpoint: f.awsEndpoint, Region: f.region, Logger: log, Files: policy.Files}
	xlog := console.NewLogTap(errw) // the execution log goes to stderr, and its last records to the console
	ro := supervisor.RuntimeOptions{Deps: runtime.Deps{
		Registry:       plugin.Default,
		Secrets:        secrets,
		ExecutionLog:   xlog,
		Sandbox:        policy,
		Logger:         log,
		Metrics:        reg,
		Region:         f.region,
		Account:        f.account,
		DrainTimeout:   f.drainTimeout,
		SessionTimeout: f.sessionTimeout,
	}, AWS: f.awsFlags.provider(f.region, log).For}
	factory := supervisor.RuntimeFactory(ro)
	// members fills the console's "Members by node" (cluster placement only).
	var members func(context.Context, string) ([]console.Member, error)
	if f.cluster != "" && f.scaleInterval > 0 { // placement.go: the leader places members; the Manager keeps the lifecycle
		placeCtx, stopPlacement := context.WithCancel(ctx)
		ro.InstanceID = cluster.InstanceIDFor(f.nodeID) // each node's member is the static member <group>-<node>
		wait, mf, err := startPlacement(placeCtx, f, st, supervisor.RuntimeFactory(ro), reg, f.awsEndpoint, f.region, log)
		if err != nil {
			stopPlacement()
			fmt.Fprintf(errw, "sluice serve: %v\n", err)
			return 1
		}
		defer wait()
		defer stopPlacement()
		mo := ro // the Manager's factory: the source preflight, then a waiting runner
		mo.Build = placementFactory
		factory = supervisor.RuntimeFactory(mo)
		members = mf
	}
	mgr := supervisor.NewManager(st, factory, supervisor.ManagerOptions{MaxPipes: f.maxPipes,
		StopTimeout: f.drainTimeout + 10*time.Second, Registerer: reg, Logger: log, Registry: plugin.Default})
	srv, err := api.NewServer(api.Config{
		Store: st, Supervisor: mgr, Registry: plugin.Default, Region: f.region, Account: f.account, Keys: keys,
		Registerer: reg, Gatherer: reg, Logger: log, Sandbox: policy,
		Console: &console.Options{Secrets: secrets, Egress: policy.Egress, ExecutionLog: xlog}, Members: members,
	})
	if err != nil {
		ln.Close()
		fmt.Fprintf(errw, "sluice serve: %v\n", err)
		return 1
	}
	scheme := "http"
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			ln.Close()
			fmt.Fprintf(errw, "sluice serve: loading TLS certificate: %v\n", err)
			return 1
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	if len(keys) == 0 {
		fmt.Fprintf(errw, "sluice serve: no access keys configured: the API is UNAUTHENTICATED and listens on loopback only (%s)\n", ln.Addr())
	}
	if n, err := st.Count(ctx); err == nil {
		log.Info("serving the Pipes API", "endpoint", url, "dataDir", f.dataDir, "pipes", n, "accessKeys", len(keys), "tls", f.tlsCert != "",
			"fileRoots", files.Roots(), "allowEgress", f.allowEgress.String())
	}
	fmt.Fprintf(errw, "sluice serve: Pipes API on %s (aws pipes ... --endpoint-url %s)\n", url, url)
	fmt.Fprintf(errw, "sluice serve: web console on %s/\n", url)

	if err := srv.Resume(ctx); err != nil {
		ln.Close()
		fmt.Fprintf(errw, "sluice serve: resuming pipes: %v\n", err)
		return 1
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	hs.RegisterOnShutdown(srv.StopStreams) // the console's event streams would hold Shutdown up
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	code := 0
	select {
	case <-ctx.Done():
		log.Info("stopping: no new requests, draining pipes")
	case err := <-serveErr:
		fmt.Fprintf(errw, "sluice serve: %v\n", err)
		code = 1
	}
	// Stop taking requests first, then drain the pipes (their desired states stay, for the next start).
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	hs.Shutdown(shutCtx)
	cancel()
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.drainTimeout+15*time.Second)
	defer cancel()
	if err := srv.Close(closeCtx); err != nil {
		log.Error("stopping pipes", "error", err)
		code = 1
	}
	log.Info("stopped")
	return code
}
