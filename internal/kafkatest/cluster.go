package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is a Kafka cluster a test talks to.
type Cluster struct {
	// Name is "kfake" or "kafka"; Each uses it as the subtest name.
	Name string
	// Bootstrap lists the seed brokers: kfake's listeners, or the real
	// broker's PLAINTEXT listener.
	Bootstrap []string
	// Real reports whether this is the real Apache Kafka broker.
	Real bool
	// Fake is the in-process cluster when Real is false, for tests that
	// inject faults through kfake's control functions; nil for the real broker.
	Fake *kfake.Cluster
}

// Each runs fn once against kfake and once against the real broker, as the
// subtests "kfake" and "kafka". The real one is skipped when the broker is
// not configured, or fails when SLUICE_KAFKA_REQUIRED=1.
func Each(t *testing.T, fn func(t *testing.T, c *Cluster)) {
	t.Helper()
	t.Run("kfake", func(t *testing.T) { fn(t, Kfake(t)) })
	t.Run("kafka", func(t *testing.T) { fn(t, Real(t)) })
}

// Kfake starts an in-process kfake cluster of one broker, closed when the test
// ends. opts are applied after the defaults, so they may override them (for
// example kfake.NumBrokers(3) or kfake.SeedTopics).
func Kfake(t testing.TB, opts ...kfake.Opt) *Cluster {
	t.Helper()
	all := append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)
	fc, err := kfake.NewCluster(all...)
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(fc.Close)
	return &Cluster{Name: "kfake", Bootstrap: fc.ListenAddrs(), Fake: fc}
}

// Real returns the real broker from SLUICE_KAFKA_PLAINTEXT. It skips the test
// when the variable is unset or the broker does not answer, or fails it when
// SLUICE_KAFKA_REQUIRED=1. While the test runs it holds the shared broker
// lock, so that another package's RestartBroker waits for it.
func Real(t testing.TB) *Cluster {
	t.Helper()
	addr := requireEnv(t, envPlaintext, envKafkaRequired, "the real Kafka broker")
	// The lock first: it waits while another package's fault test has the
	// broker stopped.
	holdShared(t)
	if err := dialCheck(addr); err != nil {
		unavailable(t, envKafkaRequired, "the real Kafka broker at %s (%s=%s) does not answer: %v", addr, envPlaintext, addr, err)
	}
	return &Cluster{Name: "kafka", Bootstrap: []string{addr}, Real: true}
}

func dialCheck(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// Client returns a franz-go client seeded with the cluster's brokers, closed
// when the test ends. opts come after the seed option.
func (c *Cluster) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	all := append([]kgo.Opt{kgo.SeedBrokers(c.Bootstrap...)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("creating a client for %s (%v): %v", c.Name, c.Bootstrap, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns a kadm client for the cluster, closed when the test ends.
func (c *Cluster) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.Client(t))
}

// CreateTopic creates a topic with a unique name derived from the test name
// and the given number of partitions (replication factor 1), and waits until
// every partition has a leader. The topic is deleted when the test ends, so
// the long-lived real broker does not accumulate test data.
func (c *Cluster) CreateTopic(t testing.TB, partitions int32) string {
	t.Helper()
	name := TopicName(t)
	adm := c.Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("creating topic %s with %d partitions on %s: %v", name, partitions, c.Name, err)
	}
	Eventually(t, 30*time.Second, func() error {
		md, err := adm.Metadata(ctx, name)
		if err != nil {
			return err
		}
		td, ok := md.Topics[name]
		if !ok {
			return errMissing("topic " + name + " not yet in metadata")
		}
		if td.Err != nil {
			return td.Err
		}
		if int32(len(td.Partitions)) != partitions {
			return errMissing("topic " + name + " has not all partitions yet")
		}
		for _, p := range td.Partitions {
			if p.Err != nil {
				return p.Err
			}
			if p.Leader < 0 {
				return errMissing("a partition of " + name + " has no leader yet")
			}
		}
		return nil
	})
	if c.Real {
		// Cleanups run last-in first-out, so adm is still open here. Best
		// effort: a fault test may have left the broker stopped.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = adm.DeleteTopics(ctx, name)
		})
	}
	return name
}

// Produce writes recs synchronously and fails the test on any error. Each
// record names its topic, and goes to the partition its Partition field names
// (0 when unset), so tests control placement exactly.
func (c *Cluster) Produce(t testing.TB, recs ...*kgo.Record) {
	t.Helper()
	// UnknownTopicRetries(-1): a broker that has just restarted (the broker-control and fault tests) may
	// answer "unknown topic" while it is still loading its logs; retry until the deadline instead of
	// franz-go's default of 4 metadata refreshes.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0),
		kgo.UnknownTopicRetries(-1))
	if err != nil {
		t.Fatalf("creating a producer for %s: %v", c.Name, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing %d records to %s: %v", len(recs), c.Name, err)
	}
}

// TopicName returns a unique, valid topic name derived from the test name.
func TopicName(t testing.TB) string {
	var b strings.Builder
	b.WriteString("sluice-")
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() > 150 {
			break
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	b.WriteByte('-')
	b.WriteString(hex.EncodeToString(rnd[:]))
	return b.String()
}

type errMissing string

func (e errMissing) Error() string { return string(e) }
