package awsclient

import (
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/internal/plugin"
)

// ResolveInto decodes a parameter object for event i of b into v: the static object when d holds no
// path, else d resolved against b.Inputs[i], the untransformed event.
func ResolveInto(d *Dynamic, static json.RawMessage, b plugin.Batch, i int, v any) error {
	raw := static
	if !d.Static() {
		if i >= len(b.Inputs) {
			return plugin.Permanent(fmt.Errorf("event %d: no untransformed event to read dynamic parameters from", i))
		}
		var err error
		if raw, err = d.Resolve(b.Inputs[i]); err != nil {
			return plugin.Permanent(fmt.Errorf("event %d: %w", i, err))
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return plugin.Permanent(fmt.Errorf("event %d: decoding parameters: %w", i, err))
	}
	return nil
}
