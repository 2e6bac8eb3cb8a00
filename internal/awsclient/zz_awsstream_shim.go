// Package awsclient TEMPORARY (awsstream branch only): a stand-in for the awscore helper's Classify so
// that the awsstream targets compile before internal/awsclient lands. Deleted when main is merged.
package awsclient

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
	"github.com/sluicehq/sluice/internal/plugin"
)

func Classify(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	c := ae.ErrorCode()
	switch {
	case strings.Contains(c, "Throttl"), c == "ProvisionedThroughputExceededException", c == "TooManyRequestsException", c == "ServiceUnavailableException", c == "LimitExceededException":
		return &plugin.ThrottledError{Err: err}
	case strings.HasPrefix(c, "AccessDenied"), strings.HasPrefix(c, "ResourceNotFound"), strings.HasPrefix(c, "InvalidParameter"), c == "ValidationException", c == "ClientException":
		return plugin.Permanent(err)
	}
	return err
}
