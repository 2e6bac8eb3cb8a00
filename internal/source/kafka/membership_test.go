package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
)

// TestInstanceIDSlots guards the automatic instance ID: a second source of the same group on this host
// gets another ID (the two must not fence each other), and a source started after one stopped (a
// restart) gets the stopped one's ID back.
func TestInstanceIDSlots(t *testing.T) {
	group := fmt.Sprintf("slots-%d", time.Now().UnixNano())
	claim := func() (string, func()) {
		t.Helper()
		s := &Source{group: group}
		id, release, err := s.claimInstanceID()
		if err != nil {
			t.Fatalf("claimInstanceID() error = %v", err)
		}
		return id, release
	}
	first, release1 := claim()
	second, release2 := claim()
	defer release2()
	if first == second {
		t.Fatalf("two concurrent sources of group %s both got instance ID %q", group, first)
	}
	if !strings.HasPrefix(first, group+"-") || second != first+"-1" {
		t.Errorf("instance IDs %q, %q; want %q-<host> and the same with -1", first, second, group)
	}
	release1()
	again, release3 := claim()
	defer release3()
	if again != first {
		t.Errorf("after the first source stopped, the next got %q, want its ID %q back", again, first)
	}
	if s := (&Source{group: group, cfg: Config{InstanceID: "explicit"}}); true {
		id, release, err := s.claimInstanceID()
		if err != nil || id != "explicit" {
			t.Errorf("claimInstanceID() with Config.InstanceID = %q, %v; want \"explicit\"", id, err)
		}
		release()
	}
}

func TestInstanceIDBase(t *testing.T) {
	tests := []struct {
		name, group, host, want string
	}{
		{"plain", "sluice-orders", "node-1", "sluice-orders-node-1"},
		{"group characters Kafka refuses in an instance ID", "a/b:c+d=e@f*g", "h.example.com", "a_b_c_d_e_f_g-h.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := instanceIDBase(tt.group, tt.host); got != tt.want {
				t.Errorf("instanceIDBase(%q, %q) = %q, want %q", tt.group, tt.host, got, tt.want)
			}
		})
	}
	long1, long2 := instanceIDBase(strings.Repeat("g", 200)+"1", strings.Repeat("h", 63)), instanceIDBase(strings.Repeat("g", 200)+"2", strings.Repeat("h", 63))
	if len(long1) > maxInstanceIDLen-3 || long1 == long2 {
		t.Errorf("long names: %q (%d) and %q; want at most %d characters and distinct", long1, len(long1), long2, maxInstanceIDLen-3)
	}
	if strings.Trim(long1, instanceIDChars) != "" {
		t.Errorf("instanceIDBase = %q has characters outside %s", long1, instanceIDChars)
	}
}

// TestStaticRestartReclaims guards static membership: a member that crashed (it left no LeaveGroup
// behind) and restarts with the same instance ID takes its partitions back at once, not after the
// crashed member's 45 s session timeout.
func TestStaticRestartReclaims(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		cfg := testConfig(t, c, topic)
		cfg.InstanceID = "restart-" + topic[len(topic)-12:]
		cfg.SessionTimeout = 45 * time.Second
		// The crashed member: a static member of the group that got the partitions and stopped without
		// leaving (franz-go sends no LeaveGroup for a static member, as a kill -9 sends none).
		crashed := c.Client(t, kgo.ConsumerGroup(cfg.ConsumerGroupID), kgo.ConsumeTopics(topic),
			kgo.InstanceID(cfg.InstanceID), kgo.SessionTimeout(cfg.SessionTimeout))
		kafkatest.Eventually(t, 30*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			crashed.PollFetches(ctx)
			if n := len(crashed.GetConsumeTopics()); n == 0 {
				return fmt.Errorf("the first member consumes no topic yet")
			}
			if _, gen := crashed.GroupMetadata(); gen < 1 {
				return fmt.Errorf("the first member has not joined yet")
			}
			return nil
		})
		crashed.Close()

		c.Produce(t, append(records(topic, 0, 0, 10), records(topic, 1, 0, 10)...)...)
		k := newSink()
		began := time.Now()
		start(t, newSource(t, cfg), k.handler)
		k.waitFor(t, 20, 15*time.Second)
		t.Logf("the restarted member delivered its first records %v after it started", time.Since(began).Round(time.Millisecond))
	})
}

// TestCleanStopLeaves guards the leave on a clean stop: a static member that stops cleanly leaves the
// group, so its partitions move to the remaining member at once, not after its 45 s session timeout.
func TestCleanStopLeaves(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		cfg := testConfig(t, c, topic)
		cfg.SessionTimeout = 45 * time.Second
		cfgA, cfgB := cfg, cfg
		cfgA.InstanceID, cfgB.InstanceID = "leave-a-"+topic[len(topic)-12:], "leave-b-"+topic[len(topic)-12:]
		ka, kb := newSink(), newSink()
		stopA := start(t, newSource(t, cfgA), ka.handler)
		start(t, newSource(t, cfgB), kb.handler)
		// Wait until both members own a partition: each has delivered its partition's first record.
		c.Produce(t, append(records(topic, 0, 0, 1), records(topic, 1, 0, 1)...)...)
		kafkatest.Eventually(t, 60*time.Second, func() error {
			if ka.count() == 0 || kb.count() == 0 || ka.count()+kb.count() < 2 {
				c.Produce(t, append(records(topic, 0, 0, 1), records(topic, 1, 0, 1)...)...)
				return fmt.Errorf("members delivered %d and %d records; want both some", ka.count(), kb.count())
			}
			return nil
		})
		if err := stopA(); err != nil {
			t.Fatalf("stopping member a: %v", err)
		}
		stopped := time.Now()
		before := kb.count()
		c.Produce(t, append(records(topic, 0, 100, 10), records(topic, 1, 100, 10)...)...)
		kafkatest.Eventually(t, 15*time.Second, func() error {
			kb.mu.Lock()
			defer kb.mu.Unlock()
			for p := int32(0); p < 2; p++ {
				if vs := kb.values[p]; len(vs) == 0 || vs[len(vs)-1] != fmt.Sprintf("p%d-109", p) {
					return fmt.Errorf("member b has not delivered partition %d's new records (%d records in all, %d before a stopped)", p, kb.total, before)
				}
			}
			return nil
		})
		t.Logf("member b took over %v after member a stopped", time.Since(stopped).Round(time.Millisecond))
	})
}
