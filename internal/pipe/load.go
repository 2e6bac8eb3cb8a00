package pipe

import (
	"errors"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Load is the one path from a definition document (the CreatePipe body, a `sluice run` file, a stored
// record) to a valid definition: Decode, then name (when not nil: the API takes the name from the request
// URI, `sluice run` from its flag or the file's name), then SetDefaults and Validate with reg's plugins.
//
// Every problem is reported at once: the error is a FieldErrors holding the decode and validation
// problems, returned with the partly decoded definition. An error from name is returned as is, and any
// other error (empty, not JSON or YAML, not an object) comes with a nil definition.
func Load(data []byte, reg *plugin.Registry, name func(*Definition) error) (*Definition, error) {
	d, err := Decode(data)
	var decodeErrs FieldErrors
	if err != nil && (d == nil || !errors.As(err, &decodeErrs)) {
		return nil, err
	}
	if name != nil {
		if err := name(d); err != nil {
			return nil, err
		}
	}
	d.SetDefaults(reg)
	// Validation goes on after decode problems, so that one answer lists every problem.
	if fe := decodeErrs.Join(d.Validate(reg)); len(fe) > 0 {
		return d, fe
	}
	return d, nil
}

// LoadStored is Load for a definition read back from the store (a CreatePipe/UpdatePipe result, stored
// defaulted): it is named name and checked again with reg, whose plugins may have changed since it was
// stored (a plugin removed, a stricter Validate). When it no longer validates, the error is a
// FieldErrors and the definition is still returned, so that a caller can describe it or merge an update
// into it; starting it is what must fail.
func LoadStored(data []byte, reg *plugin.Registry, name string) (*Definition, error) {
	return Load(data, reg, func(d *Definition) error { d.Name = name; return nil })
}
