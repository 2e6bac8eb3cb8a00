package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/sandbox"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
	"github.com/sluicehq/sluice/internal/target/file"
)

const devUsage = `Usage: sluice dev [flags]

The one-command local experience: starts an embedded Kafka broker (kfake, in this process), creates the
topic "orders" with 3 partitions, produces a steady stream of sample orders, and runs a demo pipe that
keeps the PAID orders above 50, reshapes them with an input template and prints each one as a JSON line
on standard output. Logs go to standard error. Ctrl-C stops it.

Pipes created through its API may write files (file:// targets, dead-letter files; file:// secrets are
read from there too) only under a temporary directory that is removed on exit, or under the --file-root
directories, and to its own standard output and error (file:///dev/stdout, file:///dev/stderr). HTTP
targets and enrichments may not reach link-local or cloud metadata addresses nor the management API
itself unless --allow-egress opens them, as under sluice serve.

Flags:
`

// devTopic is the topic sluice dev creates and feeds.
const devTopic = "orders"

// devPipeTemplate is the demo pipe, a CreatePipe definition; %s is the broker address. It is printed
// (without the Source) in the banner so that a newcomer sees what a definition looks like.
const devPipeTemplate = `{
  "Name": "dev-orders",
  "Source": "smk://%s",
  "SourceParameters": {
    "FilterCriteria": {
      "Filters": [{"Pattern": "{\"value\": {\"status\": [\"PAID\"], \"amount\": [{\"numeric\": [\">\", 50]}]}}"}]
    },
    "SelfManagedKafkaParameters": {
      "TopicName": "orders",
      "StartingPosition": "TRIM_HORIZON",
      "BatchSize": 100,
      "MaximumBatchingWindowInSeconds": 1
    }
  },
  "Target": "file:///dev/stdout",
  "TargetParameters": {
    "InputTemplate": "{\"orderId\": <$.value.orderId>, \"city\": <$.value.city>, \"amount\": <$.value.amount>, \"status\": <$.value.status>, \"partition\": <$.partition>, \"offset\": <$.offset>, \"pipe\": <aws.pipes.pipe-name>, \"ingestedAt\": <aws.pipes.event.ingestion-time>}"
  }
}`

// devFlags are the flags of sluice dev.
type devFlags struct {
	listen    string
	listenSet bool // --listen was given: use that address or fail
	kafkaPort int
	rate      float64
	logLevel  string
	sandboxFlags
	awsFlags
}

func cmdDev(ctx context.Context, args []string, std stdio) int {
	var f devFlags
	fs := flag.NewFlagSet("sluice dev", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, devUsage); fs.PrintDefaults() }
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9400", "`host:port` of the management API (port 0 picks one); when the default is taken, any free port")
	fs.IntVar(&f.kafkaPort, "kafka-port", 9092, "`port` of the embedded broker on 127.0.0.1; when taken, any free port (0: any)")
	fs.Float64Var(&f.rate, "rate", 5, "sample orders produced per `second`")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	f.sandboxFlags.register(fs, "a temporary directory removed on exit")
	f.awsFlags.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fs.Visit(func(fl *flag.Flag) { f.listenSet = f.listenSet || fl.Name == "listen" })
	if fs.NArg() > 0 {
		fmt.Fprintf(std.err, "sluice dev: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if err := f.awsFlags.check(); err != nil {
		fmt.Fprintf(std.err, "sluice dev: %v\n", err)
		return 2
	}
	if f.rate <= 0 || f.rate > 100000 {
		fmt.Fprintln(std.err, "sluice dev: --rate must be in (0, 100000]")
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(std.err, "sluice dev: --log-level %q: want debug, info, warn or error\n", f.logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(std.err, &slog.HandlerOptions{Level: level}))
	if err := runDev(ctx, f, std, log); err != nil {
		fmt.Fprintf(std.err, "sluice dev: %v\n", err)
		return 1
	}
	return 0
}

// devRegistry is the plugin registry of sluice dev: plugin.Default (every plugin cmd/sluice imports, see
// plugins.go), with file:///dev/stdout bound to the command's own standard output so that tests (and
// embedding) see what the demo pipe delivers.
func devRegistry(std stdio) *plugin.Registry {
	return plugin.Default.WithTarget(file.Spec(std.out, std.err))
}

// runDev starts the broker, the producer, the management API (serving the demo pipe, so that
// `aws pipes list-pipes --endpoint-url http://127.0.0.1:9400` shows it) and stops them in reverse order
// when ctx ends.
func runDev(ctx context.Context, f devFlags, std stdio, log *slog.Logger) error {
	// The API is unauthenticated here, so it may only listen on loopback (the same rule as sluice serve).
	if err := api.CheckListen(f.listen, false); err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	apiLn, apiMoved, err := listenDevAPI(f.listen, f.listenSet)
	if err != nil {
		return err
	}
	defer apiLn.Close()

	cluster, brokerMoved, err := startDevBroker(f.kafkaPort)
	if err != nil {
		return err
	}
	defer cluster.Close()
	broker := cluster.ListenAddrs()[0]
	// Say at once, and before the banner, when an address is not the one asked for: a client configured for
	// 9092 or 9400 would otherwise talk to whatever else holds it.
	if brokerMoved {
		fmt.Fprintf(std.err, "sluice dev: 127.0.0.1:%d is taken (another Kafka?): the embedded broker listens on %s instead\n", f.kafkaPort, broker)
	}
	if apiMoved {
		fmt.Fprintf(std.err, "sluice dev: %s is taken: the management API listens on %s instead\n", f.listen, apiLn.Addr())
	}

	// The dev store lives in a temporary directory: sluice dev starts from a clean slate every time.
	dataDir, err := os.MkdirTemp("", "sluice-dev-")
	if err != nil {
		return fmt.Errorf("creating the dev data directory: %w", err)
	}
	defer os.RemoveAll(dataDir)
	st, err := store.Open(dataDir, 2*time.Second)
	if err != nil {
		return err
	}
	defer st.Close()

	// The API is keyless, so its pipes get serve's limits: files under a root that dies with the dev
	// session unless --file-root names others, plus dev's own output streams, where the demo pipe
	// writes; no egress to metadata addresses or to the API itself (sandbox package).
	files, err := serverFiles(f.fileRoots, filepath.Join(dataDir, "files"), true)
	if err != nil {
		return err
	}
	policy := sandbox.Policy{Files: files, Egress: serverEgress(f.allowEgress, apiLn.Addr())}
	metricsReg := prometheus.NewRegistry()
	plugins := devRegistry(std)
	mgr := supervisor.NewManager(st, supervisor.RuntimeFactory(supervisor.RuntimeOptions{Deps: runtime.Deps{
		Registry: plugins, Logger: log, Metrics: metricsReg,
		DrainTimeout: 5 * time.Second, ExecutionLog: std.err,
		Secrets: &secret.Resolver{AWSEndpoint: f.awsEndpoint, Files: files}, Sandbox: policy,
	}, AWS: f.awsFlags.provider("", log).For}), supervisor.ManagerOptions{StopTimeout: 15 * time.Second, Registerer: metricsReg, Logger: log})
	srv, err := api.NewServer(api.Config{
		Store: st, Supervisor: mgr, Registry: plugins,
		Registerer: metricsReg, Gatherer: metricsReg, Logger: log, Sandbox: policy,
	})
	if err != nil {
		return fmt.Errorf("starting the management API: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		if err := srv.Close(cctx); err != nil {
			log.Error("stopping the demo pipe", "error", err)
		}
	}()

	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { _ = hs.Serve(apiLn) }) // returns on Shutdown
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()

	def, err := pipe.Load(fmt.Appendf(nil, devPipeTemplate, broker), plugins, nil)
	if err != nil {
		return fmt.Errorf("decoding the demo pipe: %w", err)
	}
	if err := srv.CreatePipe(ctx, def); err != nil {
		return fmt.Errorf("creating the demo pipe: %w", err)
	}

	producer, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.DefaultProduceTopic(devTopic), kgo.ClientID("sluice-dev-producer"))
	if err != nil {
		return fmt.Errorf("creating the sample producer: %w", err)
	}
	defer producer.Close()
	prodCtx, stopProducing := context.WithCancel(ctx)
	defer stopProducing()
	wg.Go(func() { produceOrders(prodCtx, producer, f.rate, log) })

	printDevBanner(std.err, broker, apiLn.Addr().String(), f.rate)
	fmt.Fprintf(std.err, "Pipes may write files under %s and to this command's standard output and error (--file-root changes it).\n\n",
		strings.Join(files.Roots(), ", "))
	<-ctx.Done()
	stopProducing()
	return nil
}

// listenDevAPI reserves the management API's address. When the default address is taken (another sluice dev,
// say) it listens on a free port of the same host instead and reports moved; an address given with --listen is
// used as given or is an error.
func listenDevAPI(addr string, explicit bool) (ln net.Listener, moved bool, err error) {
	ln, err = net.Listen("tcp", addr)
	if err == nil {
		return ln, false, nil
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if explicit || !errors.Is(err, syscall.EADDRINUSE) || splitErr != nil {
		return nil, false, fmt.Errorf("reserving the management API address (--listen): %w", err)
	}
	ln, err2 := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, false, fmt.Errorf("reserving the management API address: %s: %w; any port: %w", addr, err, err2)
	}
	return ln, true, nil
}

// startDevBroker starts kfake with the orders topic on 127.0.0.1:port, or on any port when that one is
// taken (a real Kafka may be running on 9092), reporting moved then. Like a Kafka broker with its default
// settings, it creates a topic (one partition) when a client first produces to it or asks for its metadata.
func startDevBroker(port int) (c *kfake.Cluster, moved bool, err error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, devTopic),
		kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1)}
	if port > 0 {
		c, err := kfake.NewCluster(append(opts, kfake.Ports(port))...)
		if err == nil {
			return c, false, nil
		}
	}
	c, err = kfake.NewCluster(opts...)
	if err != nil {
		return nil, false, fmt.Errorf("starting the embedded Kafka broker: %w", err)
	}
	return c, port > 0, nil
}

// printDevBanner tells the user what runs and how to talk to the broker.
func printDevBanner(w io.Writer, broker, api string, rate float64) {
	_, port, _ := net.SplitHostPort(broker)
	fmt.Fprintf(w, `
sluice dev: an embedded Kafka broker (kfake) is listening on %[1]s
  topic %[2]q (3 partitions) gets about %[3]s sample orders per second, JSON values keyed by orderId
  demo pipe "dev-orders": keeps value.status = PAID and value.amount > 50, reshapes each order with an
  input template and prints it as one JSON line on standard output (logs, like this text, go to stderr)

Send your own records (key:value), or read the topic:
  kafka-console-producer.sh --bootstrap-server %[1]s --topic %[2]s --property parse.key=true --property key.separator=:
      o-1:{"orderId":"o-1","city":"Lisbon","amount":99.9,"status":"PAID","createdAt":"2026-01-01T12:00:00Z"}
  kcat -b %[1]s -t %[2]s -P -K:        (producer; kcat -b %[1]s -t %[2]s -C to consume)
  Go, franz-go: kgo.NewClient(kgo.SeedBrokers("%[1]s"), kgo.DefaultProduceTopic("%[2]s"))
  Other topics are created on first produce (franz-go: add kgo.AllowAutoTopicCreation()).
  A pipe of your own: "Source": "smk://127.0.0.1:%[4]s" in a definition for sluice run --file

Management API (the Pipes API, demo pipe included): aws pipes list-pipes --endpoint-url http://%[5]s
Ctrl-C stops everything.

`, broker, devTopic, strconv.FormatFloat(rate, 'f', -1, 64), port, api)
}

// devOrder is one sample order.
type devOrder struct {
	OrderID   string  `json:"orderId"`
	Customer  string  `json:"customerId"`
	City      string  `json:"city"`
	Amount    float64 `json:"amount"`
	Currency  string  `json:"currency"`
	Status    string  `json:"status"`
	Items     int     `json:"items"`
	CreatedAt string  `json:"createdAt"`
}

var (
	devCities   = []string{"Lisbon", "Seattle", "Berlin", "São Paulo", "Tokyo", "Nairobi", "Toronto", "Sydney", "Mumbai", "Paris"}
	devStatuses = []struct {
		status string
		weight int
	}{{"PAID", 70}, {"PENDING", 15}, {"CANCELLED", 8}, {"REFUNDED", 7}}
)

// sampleOrder returns the n-th sample order: about half are PAID with an amount above 50.
func sampleOrder(r *rand.Rand, n int, now time.Time) devOrder {
	w := r.IntN(100)
	status := devStatuses[len(devStatuses)-1].status
	for _, s := range devStatuses {
		if w < s.weight {
			status = s.status
			break
		}
		w -= s.weight
	}
	items := 1 + r.IntN(5)
	amount := float64(int((20+r.Float64()*40*float64(items))*100)) / 100
	return devOrder{
		OrderID:   fmt.Sprintf("ord-%06d", n),
		Customer:  fmt.Sprintf("cus-%04d", r.IntN(5000)),
		City:      devCities[r.IntN(len(devCities))],
		Amount:    amount,
		Currency:  "EUR",
		Status:    status,
		Items:     items,
		CreatedAt: now.UTC().Format(time.RFC3339Nano),
	}
}

// produceOrders produces sample orders at rate per second until ctx ends.
func produceOrders(ctx context.Context, cl *kgo.Client, rate float64, log *slog.Logger) {
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			o := sampleOrder(r, n, now)
			v, _ := json.Marshal(o) // plain struct of strings and numbers: cannot fail
			cl.Produce(ctx, &kgo.Record{Key: []byte(o.OrderID), Value: v}, func(_ *kgo.Record, err error) {
				if err != nil && ctx.Err() == nil {
					log.Warn("producing a sample order", "error", err)
				}
			})
		}
	}
}
