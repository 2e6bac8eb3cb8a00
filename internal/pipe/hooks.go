package pipe

import (
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
