package api

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"

	"github.com/sluicehq/sluice/internal/plugin"
)

// TestStoredPipeOfRemovedPlugin: a server restarted without the plugin of a stored pipe (the stored
// definitions are loaded through pipe.Load with the server's registry) starts, fails that pipe's start
// with the plugins' reason, still describes and lists it, and takes an UpdatePipe that repairs it.
func TestStoredPipeOfRemovedPlugin(t *testing.T) {
	withLegacy := plugin.Default.WithTarget(plugin.TargetSpec{Kinds: []string{"legacy"},
		New: func(context.Context, plugin.Env, plugin.Check) (plugin.Target, error) {
			return nil, errors.New("never built: the scripted factory builds runners")
		}})
	registry := func(reg *plugin.Registry) harnessOpt {
		return func(s *setup) { s.Registry, s.Manager.Registry = reg, reg }
	}
	h := newHarness(t, registry(withLegacy))
	in := createInput("legacy", types.RequestedPipeStateRunning)
	in.Target = aws.String("legacy://queue/orders")
	if _, err := h.client.CreatePipe(t.Context(), in); err != nil {
		t.Fatalf("CreatePipe with the plugin: %v", err)
	}
	h.waitState("legacy", types.PipeStateRunning)
	h.stop()

	h.start(registry(plugin.Default))
	d := h.waitState("legacy", types.PipeStateStartFailed)
	if r := aws.ToString(d.StateReason); !strings.Contains(r, `no longer valid: Target: target kind "legacy" is not supported`) {
		t.Errorf("StateReason = %q, want the plugins' reason", r)
	}
	if aws.ToString(d.Target) != "legacy://queue/orders" || d.SourceParameters == nil {
		t.Errorf("DescribePipe = Target %q, SourceParameters %v; want the stored definition", aws.ToString(d.Target), d.SourceParameters)
	}
	list, err := h.client.ListPipes(t.Context(), &pipes.ListPipesInput{})
	if err != nil || len(list.Pipes) != 1 || aws.ToString(list.Pipes[0].Target) != "legacy://queue/orders" {
		t.Fatalf("ListPipes = %+v, %v; want the legacy pipe", list, err)
	}

	if _, err := h.client.UpdatePipe(t.Context(), &pipes.UpdatePipeInput{Name: aws.String("legacy"), RoleArn: in.RoleArn,
		Target: aws.String("file:///tmp/sluice-api-test/legacy.jsonl"), DesiredState: types.RequestedPipeStateRunning}); err != nil {
		t.Fatalf("UpdatePipe to a valid target: %v", err)
	}
	h.waitState("legacy", types.PipeStateRunning)
}
