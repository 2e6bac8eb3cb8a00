package pipe

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
)

// FieldError is one problem with one field of a definition. Field is the dotted path of AWS member
// names ("SourceParameters.SelfManagedKafkaParameters.BatchSize", "Tags[env]", "…Filters[0].Pattern");
// the API returns it as a ValidationException fieldList item {name, message}. It is the plugins' type,
// so that a plugin's Validate reports into the same list.
type FieldError = plugin.FieldError

// FieldErrors lists every problem found; it is an error when non-empty.
type FieldErrors []FieldError

// Error joins the problems as "field: message; field: message".
func (e FieldErrors) Error() string {
	var b strings.Builder
	for i, f := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		if f.Field != "" {
			b.WriteString(f.Field)
			b.WriteString(": ")
		}
		b.WriteString(f.Message)
	}
	return b.String()
}

// Err returns e as an error, or nil when there are no problems (a nil FieldErrors stored in an error
// interface would not be nil).
func (e FieldErrors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// add appends a problem.
func (e *FieldErrors) add(field, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	*e = append(*e, FieldError{Field: field, Message: msg})
}

// sorted returns the errors ordered by field then message, without repeats (two plugins may find the same
// problem, such as a BatchSize both an HTTP target and an HTTP enrichment refuse), so that output is
// stable whatever the order of map iteration during validation.
func (e FieldErrors) sorted() FieldErrors {
	sort.SliceStable(e, func(i, j int) bool {
		if e[i].Field != e[j].Field {
			return e[i].Field < e[j].Field
		}
		return e[i].Message < e[j].Message
	})
	return slices.Compact(e)
}
