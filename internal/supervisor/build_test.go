package supervisor_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/runtime"
	"github.com/sluicehq/sluice/internal/secret"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// idleRunner is the runner of cluster placement mode: the members run elsewhere.
type idleRunner struct{}

func (idleRunner) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (idleRunner) Close(context.Context) error   { return nil }

// TestBuildKeepsPreflight: with RuntimeOptions.Build (cluster placement mode's waiting runner) the
// Manager still checks the source's secrets and brokers first (issue 13): a pipe whose secret is missing
// ends CREATE_FAILED naming it, and Build is never called for it; a pipe that can work reaches RUNNING
// through Build.
func TestBuildKeepsPreflight(t *testing.T) {
	kafkatest.Each(t, func(t *testing.T, c *kafkatest.Cluster) {
		var builds atomic.Int32
		h := newHarness(t, func(s *setup) {
			s.Factory = supervisor.RuntimeFactory(supervisor.RuntimeOptions{
				Deps:             runtime.Deps{Secrets: &secret.Resolver{}},
				PreflightTimeout: 5 * time.Second,
				Build: func(context.Context, *pipe.Definition, supervisor.Hooks) (supervisor.Runner, error) {
					builds.Add(1)
					return idleRunner{}, nil
				},
			})
		})
		missing := "file://" + filepath.Join(t.TempDir(), "no-such-secret.json")
		body := func(creds string) string {
			return fmt.Sprintf(`{"Source":"smk://%s","Target":"file:///tmp/sluice-supervisor-test/build.jsonl","DesiredState":"RUNNING",
				"SourceParameters":{"SelfManagedKafkaParameters":{"TopicName":"orders"%s}}}`, c.Bootstrap[0], creds)
		}
		h.createDef(h.load("bad-secret", body(`,"Credentials":{"SaslScram512Auth":"`+missing+`"}`)))
		d := h.waitState("bad-secret", pipe.StateCreateFailed)
		if !strings.Contains(d.StateReason, "no-such-secret.json") {
			t.Errorf("StateReason = %q, want it to name the secret reference", d.StateReason)
		}
		if n := builds.Load(); n != 0 {
			t.Errorf("Build called %d times for a pipe that failed its preflight", n)
		}
		h.createDef(h.load("good", body("")))
		h.waitState("good", pipe.StateRunning)
		if n := builds.Load(); n != 1 {
			t.Errorf("Build called %d times, want 1", n)
		}
	})
}
