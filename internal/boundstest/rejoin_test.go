package boundstest

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/sluicetest"
)

// TestSignalDuringRejoin is a regression test for a slow stop: SIGTERM while the consumer group was
// re-joining took 42 s. A member of the group dies without leaving (kill -9): the next `sluice run` of the
// group, another member, waits in its join until the dead member's session times out (45 s). SIGTERM during that join must
// end the process within the drain timeout plus a small margin.
func TestSignalDuringRejoin(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.CreateTopic(t, 2)
		c.Produce(t, &kgo.Record{Topic: topic, Value: []byte(`{"n":1}`)})
		group := "sluice-rejoin-" + topic
		dir := t.TempDir()
		defPath := writeFile(t, dir, "pipe.json", definition(t, c, topic, group, "file://"+filepath.Join(dir, "out.jsonl"), nil, nil))
		const drain = 3 * time.Second

		// Two static members with their own instance IDs: a restart under the same ID would take the dead
		// member's place at once (static membership), so the second one is another member, whose join waits.
		dead := sluicetest.Start(t, "run", "--file", defPath, "--instance-id", group+"-dead")
		dead.WaitFor(t, 60*time.Second, `partitions assigned`)
		dead.Kill(t) // stays a member of the group until its session times out

		p := sluicetest.Start(t, "run", "--file", defPath, "--drain-timeout", drain.String(), "--instance-id", group+"-next")
		p.WaitFor(t, 30*time.Second, `kafka source started`)
		ctx := context.Background()
		admin := c.Admin(t)
		kafkatest.Eventually(t, 30*time.Second, func() error {
			gs, err := admin.DescribeGroups(ctx, group)
			if err != nil {
				return err
			}
			if st := gs[group].State; st != "PreparingRebalance" {
				return errorf("group %s is %s, want PreparingRebalance (waiting for the dead member)", group, st)
			}
			return nil
		})
		time.Sleep(500 * time.Millisecond) // the new member's JoinGroup is parked at the coordinator
		start := time.Now()
		p.Signal(t, syscall.SIGTERM)
		code := p.Wait(t, 90*time.Second)
		took := time.Since(start)
		t.Logf("SIGTERM while joining: exited %d after %v (drain timeout %v)", code, took.Round(time.Millisecond), drain)
		if limit := drain + 2*time.Second; took > limit {
			t.Errorf("sluice run took %v to stop while joining the group, want within the drain timeout %v + 2s", took, drain)
		}
		if code != 0 {
			t.Errorf("sluice run exited %d, want 0; stderr:\n%s", code, sluicetest.Tail(p.Stderr.String(), 2000))
		}
	})
}
