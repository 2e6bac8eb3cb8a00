package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/sandbox"
)

// ExecutionLog returns the records of the pipe's execution log (its LogConfiguration) written so far
// whose messageType is typ ("EXECUTION_PARTIALLY_FAILED"), each as decoded JSON.
func (p *Pipe) ExecutionLog(t testing.TB, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(p.log.String(), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("execution log line %q: %v", line, err)
		}
		if rec["messageType"] == typ {
			out = append(out, rec)
		}
	}
	return out
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NewTarget builds the target of a pipe named pipeName with Target target and TargetParameters params
// (JSON, "" for none) from plugin.Default, its AWS calls sent to endpoint; the spec's Validate must find
// nothing wrong. Delivering a plugin.Batch to it is what the runtime does, without the source.
func NewTarget(t testing.TB, endpoint, pipeName, target, params string) plugin.Target {
	t.Helper()
	spec, ok := plugin.Default.TargetSpec(target)
	if !ok {
		t.Fatalf("no target plugin serves %s", target)
	}
	c := plugin.Check{Endpoint: target, PipeName: pipeName, RoleArn: RoleArn(pipeName)}
	if params != "" {
		c.Params = json.RawMessage(params)
	}
	if spec.Validate != nil {
		if errs := spec.Validate(c); len(errs) > 0 {
			t.Fatalf("target %s %s: %v", target, params, errs)
		}
	}
	env := plugin.Env{PipeName: pipeName, RoleArn: c.RoleArn, AWS: ProviderAt(t, endpoint).For(pipeName, c.RoleArn, sandbox.Unrestricted())}
	tg, err := spec.New(context.Background(), env, c)
	if err != nil {
		t.Fatalf("building target %s: %v", target, err)
	}
	return tg
}

// Batch is the plugin.Batch of payloads whose inputs are the payloads themselves.
func Batch(payloads ...string) plugin.Batch {
	var b plugin.Batch
	for _, p := range payloads {
		b.Payloads = append(b.Payloads, json.RawMessage(p))
		b.Inputs = append(b.Inputs, json.RawMessage(p))
	}
	return b
}
