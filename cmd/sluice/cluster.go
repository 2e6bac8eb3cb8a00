package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/kafkaauth"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/store/kafkastore"
)

// clusterFlags are serve's cluster-mode flags: the cluster's own Kafka, which keeps the pipes
// (internal/store/kafkastore), and how to authenticate to it, in the secret formats of a pipe source.
type clusterFlags struct {
	cluster, clusterName, nodeID         string
	clusterAuth, clusterCreds, clusterCA string
	clusterReplication                   int
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.cluster, "cluster", "", "run as a cluster node: the pipes live in compacted topics of the Kafka cluster at `host:port[,host:port]` instead of --data-dir")
	fs.StringVar(&c.clusterName, "cluster-name", "sluice", "`name` of the cluster: its topics are __sluice-NAME-pipes and __sluice-NAME-status")
	fs.StringVar(&c.nodeID, "node-id", "", "this node's `ID` in the cluster (A-Z a-z 0-9 . _ -; default: host name and listen port)")
	fs.StringVar(&c.clusterAuth, "cluster-auth", "", "authentication to the cluster's Kafka: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or MTLS (default none: PLAINTEXT, or TLS with --cluster-root-ca)")
	fs.StringVar(&c.clusterCreds, "cluster-credentials", "", "secret `reference` (file://, env:, Secrets Manager ARN) of the --cluster-auth credentials, in the pipe source formats (username/password; certificate/privateKey)")
	fs.StringVar(&c.clusterCA, "cluster-root-ca", "", "secret `reference` of the cluster's server root CA certificate (ServerRootCaCertificate format); implies TLS")
	fs.IntVar(&c.clusterReplication, "cluster-replication", 0, "replication `factor` of the cluster topics when this node creates them (default: the broker's)")
}

// check validates the cluster flags and fills the default node ID.
func (c *clusterFlags) check(listen string) error {
	if c.cluster == "" {
		if c.clusterAuth != "" || c.clusterCreds != "" || c.clusterCA != "" || c.nodeID != "" {
			return errors.New("--node-id, --cluster-auth, --cluster-credentials and --cluster-root-ca need --cluster")
		}
		return nil
	}
	for _, b := range strings.Split(c.cluster, ",") {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("--cluster %q: want host:port[,host:port]: %v", c.cluster, err)
		}
	}
	if !nodeIDPattern.MatchString(c.clusterName) {
		return fmt.Errorf("--cluster-name %q: want 1 to 64 of A-Z a-z 0-9 . _ -", c.clusterName)
	}
	if c.nodeID == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(listen)
		c.nodeID = regexp.MustCompile(`[^A-Za-z0-9._-]`).ReplaceAllString(host+"-"+port, "-")
	}
	if !nodeIDPattern.MatchString(c.nodeID) {
		return fmt.Errorf("--node-id %q: want 1 to 64 of A-Z a-z 0-9 . _ -", c.nodeID)
	}
	switch c.clusterAuth {
	case kafkaauth.None:
		if c.clusterCreds != "" {
			return errors.New("--cluster-credentials needs --cluster-auth")
		}
	case kafkaauth.Plain, kafkaauth.ScramSHA256, kafkaauth.ScramSHA512, kafkaauth.MTLS:
		if c.clusterCreds == "" {
			return fmt.Errorf("--cluster-auth %s needs --cluster-credentials", c.clusterAuth)
		}
	default:
		return fmt.Errorf("--cluster-auth %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or MTLS", c.clusterAuth)
	}
	if c.clusterReplication < 0 || c.clusterReplication > 32767 {
		return fmt.Errorf("--cluster-replication %d: want 1 or more (0: the broker's default)", c.clusterReplication)
	}
	return nil
}

// open opens the cluster's pipe store, after reading it to its end (bounded to a minute).
func (c *clusterFlags) open(ctx context.Context, awsEndpoint, region string, log *slog.Logger) (*kafkastore.Store, error) {
	// The operator wrote these references: they are not confined to the pipes' file roots.
	secrets := &secret.Resolver{AWSEndpoint: awsEndpoint, Region: region, Logger: log}
	opts, err := kafkaauth.Options(ctx, kafkaauth.Auth{Mechanism: c.clusterAuth, SecretRef: c.clusterCreds, RootCARef: c.clusterCA}, secrets)
	if err != nil {
		return nil, fmt.Errorf("cluster credentials: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, err := kafkastore.Open(ctx, kafkastore.Options{
		Brokers: strings.Split(c.cluster, ","), Cluster: c.clusterName, Node: c.nodeID, ClientOpts: opts,
		Replication: int16(c.clusterReplication), Logger: log,
	})
	if err != nil {
		return nil, err
	}
	pipes, status := st.Topics()
	log.Info("joined the cluster", "cluster", c.clusterName, "node", c.nodeID, "brokers", c.cluster, "pipesTopic", pipes, "statusTopic", status)
	return st, nil
}
