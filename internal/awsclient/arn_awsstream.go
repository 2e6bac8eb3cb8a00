package awsclient

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
)

// TargetARN checks a Target ARN of one service whose resource is prefix followed by a name
// ("stream/" for Kinesis, "cluster:" for Redshift) and returns the ARN and the name. Every problem is a
// FieldError on "Target". The account is required; the region may be empty (the default region).
func TargetARN(endpoint, service, prefix string) (ARN, string, []plugin.FieldError) {
	a, err := ParseARN(endpoint)
	if err != nil {
		return ARN{}, "", []plugin.FieldError{{Field: "Target", Message: err.Error()}}
	}
	var errs []plugin.FieldError
	bad := func(format string, args ...any) {
		errs = append(errs, plugin.FieldError{Field: "Target", Message: fmt.Sprintf(format, args...)})
	}
	if a.Service != service {
		bad("is an ARN of service %q, not %q", a.Service, service)
	}
	if a.Account == "" {
		bad("must name the account (12 digits)")
	}
	name, ok := strings.CutPrefix(a.Resource, prefix)
	if !ok || name == "" {
		name = ""
		bad("resource %q must be %sNAME", a.Resource, prefix)
	}
	return a, name, errs
}

// ResourceID is how a call names the resource of a Target ARN: the ARN itself, or the resource's name
// when the ARN has no region (a Sluice extension: the default region), since the services refuse an ARN
// without one.
func ResourceID(endpoint, service, prefix string) string {
	a, name, errs := TargetARN(endpoint, service, prefix)
	if len(errs) == 0 && a.Region == "" {
		return name
	}
	return endpoint
}
