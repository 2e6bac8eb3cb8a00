package supervisor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// TestStoredDefinitionNoLongerValid: stored definitions are loaded through pipe.Load with the Manager's
// registry. A pipe whose plugin was removed since it was stored (the server restarted without it) fails
// its start with the plugins' reason, while the server and its other pipes go on; it can still be
// described (StoredDefinition returns it with the error) and an UpdatePipe can repair it.
func TestStoredDefinitionNoLongerValid(t *testing.T) {
	// "legacy" is a target kind of an older build: the first server has it, the restarted one does not.
	withLegacy := plugin.Default.WithTarget(plugin.TargetSpec{Kinds: []string{"legacy"},
		New: func(context.Context, plugin.Env, plugin.Check) (plugin.Target, error) {
			return nil, errors.New("never built: the scripted factory builds runners")
		}})
	h := newHarness(t, func(s *setup) { s.Registry = withLegacy })
	legacy := h.definition("legacy", pipe.StateRunning)
	legacy.Target = "legacy://queue/orders"
	if fe := legacy.Validate(withLegacy); len(fe) > 0 {
		t.Fatalf("the legacy pipe is invalid with the plugin: %v", fe)
	}
	h.createDef(legacy)
	h.create("neighbour", pipe.StateRunning)
	h.waitState("legacy", pipe.StateRunning)
	h.waitState("neighbour", pipe.StateRunning)
	h.stop()

	h.start(func(s *setup) { s.Registry = plugin.Default })
	rec := h.waitReason("legacy", pipe.StateStartFailed,
		`^the stored definition of pipe legacy is no longer valid: Target: target kind "legacy" is not supported`)
	h.waitState("neighbour", pipe.StateRunning)
	if b, _, _ := h.factory.Stats("legacy"); b != 1 {
		t.Errorf("factory called %d times for the legacy pipe, want 1 (before the restart only)", b)
	}

	// Describe: the definition comes back with the reason, not instead of it.
	def, err := supervisor.StoredDefinition(rec, plugin.Default)
	var invalid *supervisor.InvalidStoredError
	if !errors.As(err, &invalid) || def == nil || def.Target != "legacy://queue/orders" || def.Name != "legacy" {
		t.Fatalf("StoredDefinition = %+v, %v; want the definition and an InvalidStoredError", def, err)
	}
	var fe pipe.FieldErrors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "Target" {
		t.Errorf("the error's field errors = %v, want one on Target", fe)
	}
	// The same record is valid for a registry that has the plugin.
	if _, err := supervisor.StoredDefinition(rec, withLegacy); err != nil {
		t.Errorf("StoredDefinition with the plugin: %v", err)
	}

	// UpdatePipe merges into the invalid definition and may repair it.
	if _, err := h.mgr.Update(t.Context(), "legacy", func(old *pipe.Definition) (*pipe.Definition, error) {
		if old.Target != "legacy://queue/orders" || old.SourceParameters == nil {
			t.Errorf("Update's old definition = %+v", old)
		}
		d := *old
		d.Target = "file:///tmp/sluice-supervisor-test/legacy.jsonl"
		d.DesiredState = pipe.StateRunning
		if fe := d.Validate(plugin.Default); len(fe) > 0 {
			return nil, fe
		}
		return &d, nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	h.waitState("legacy", pipe.StateRunning)
}
