package awsclient

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/plugin"
)

// Fields collects the FieldErrors of one parameter object, checked against the Pipes model's
// constraints (lengths, ranges, enums, patterns). Names are relative to Prefix
// ("TargetParameters.EcsTaskParameters").
type Fields struct {
	Prefix string
	Errs   []plugin.FieldError
}

// Add records a problem with the member name (relative to Prefix; "" for the object itself).
func (f *Fields) Add(name, format string, args ...any) {
	field := f.Prefix
	if name != "" {
		field += "." + name
	}
	f.Errs = append(f.Errs, plugin.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Required records an error when a required member is absent.
func (f *Fields) Required(name string, present bool) {
	if !present {
		f.Add(name, "is required")
	}
}

// String checks an optional string's length in characters (min..max; max 0: no limit) and, when re is
// given, its pattern (anchored). A dynamic value (a JSON path) is checked as a path instead, when
// dynamic allows one.
func (f *Fields) String(name string, v *string, minLen, maxLen int, re *regexp.Regexp, dynamic bool) {
	if v == nil {
		return
	}
	if dynamic && IsDynamic(*v) {
		return // ParseDynamic checks the path
	}
	n := utf8.RuneCountInString(*v)
	switch {
	case n < minLen:
		f.Add(name, "must be at least %d characters", minLen)
	case maxLen > 0 && n > maxLen:
		f.Add(name, "must be at most %d characters, not %d", maxLen, n)
	case re != nil && !re.MatchString(*v):
		f.Add(name, "must match %s", strings.TrimSuffix(strings.TrimPrefix(re.String(), "^("), ")$"))
	}
}

// Enum checks an optional enum value.
func (f *Fields) Enum(name, v string, allowed ...string) {
	if v != "" && !slices.Contains(allowed, v) {
		f.Add(name, "must be one of %s, not %q", strings.Join(allowed, ", "), v)
	}
}

// Int checks an optional integer's range.
func (f *Fields) Int(name string, v *int, minV, maxV int) {
	if v != nil && (*v < minV || *v > maxV) {
		f.Add(name, "must be %d..%d, not %d", minV, maxV, *v)
	}
}

// Count checks a list's length.
func (f *Fields) Count(name string, n, minN, maxN int) {
	if n < minN || n > maxN {
		f.Add(name, "must have %d..%d items, not %d", minN, maxN, n)
	}
}

// Anchored compiles a Pipes model pattern (which Smithy does not anchor) anchored at both ends, as the
// rest of Sluice reads them.
func Anchored(pattern string) *regexp.Regexp { return regexp.MustCompile(`^(` + pattern + `)$`) }

// PathPattern is the JSON path alternative the Pipes model appends to patterns of dynamic members.
const PathPattern = `\$(\.[\w/_-]+(\[(\d+|\*)\])*)*`

// OneEventPerCall refuses a source BatchSize above 1 for a target Pipes invokes once per event (ECS,
// Batch, Redshift Data, SageMaker pipelines: "batching cannot be activated"), as the HTTP target does.
func OneEventPerCall(c plugin.Check, what string) []plugin.FieldError {
	if c.BatchSize > 1 {
		return []plugin.FieldError{{Field: "SourceParameters.SelfManagedKafkaParameters.BatchSize",
			Message: fmt.Sprintf("must be 1 with %s, which takes one event per call (as Pipes requires), not %d", what, c.BatchSize)}}
	}
	return nil
}
