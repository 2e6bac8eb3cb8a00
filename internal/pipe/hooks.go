package pipe

import (
	"strings"

	"github.com/sluicehq/sluice/pattern"
	"github.com/sluicehq/sluice/transform"
)

// validatePattern compiles one filter pattern; the error names the place in the pattern.
func validatePattern(p string) error {
	_, err := pattern.Compile([]byte(p))
	return err
}

// validateTemplate parses an input template; the error names the line and column.
func validateTemplate(t string) error {
	_, err := transform.Parse(t)
	return err
}

// isPath reports whether a parameter value is meant as a JSON path. It is deliberately wider than
// transform.IsPath (any value starting with "$." or equal to "$"), so that a malformed path is reported
// by validatePath instead of being sent literally.
func isPath(s string) bool { return strings.HasPrefix(s, "$.") || s == "$" }

// validatePath parses a dynamic parameter's JSON path.
func validatePath(p string) error {
	_, err := transform.ParsePath(p)
	return err
}
