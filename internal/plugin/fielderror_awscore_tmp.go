package plugin

import "fmt"

// Temporary: FieldError and PartialError are declared here, as seam-api.md defines them, so that
// internal/awsclient builds before the plugin seam (branch i12/seam, which declares both in spec.go)
// is merged. Delete this file when merging it.

// FieldError is one problem with one field (the API's ValidationException fieldList item).
type FieldError struct {
	Field   string `json:"name"`
	Message string `json:"message"`
}

// PartialError is returned when a batch API accepted some entries and refused others.
type PartialError struct {
	Failed []int
	Err    error
}

func (e *PartialError) Error() string {
	if len(e.Failed) == 0 {
		return fmt.Sprintf("some entries failed: %v", e.Err)
	}
	return fmt.Sprintf("%d entries failed, the first at index %d: %v", len(e.Failed), e.Failed[0], e.Err)
}

// Unwrap returns the first failure's error.
func (e *PartialError) Unwrap() error { return e.Err }
