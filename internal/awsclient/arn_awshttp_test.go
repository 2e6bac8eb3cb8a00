package awsclient

import (
	"errors"
	"testing"
)

func TestParseServiceARN(t *testing.T) {
	tests := []struct {
		in, field string // field "" means valid
	}{
		{"arn:aws:events:us-east-1:123456789012:api-destination/d/1", ""},
		{"arn:aws:sqs:us-east-1:123456789012:q", "service"},
		{"arn:aws:events::123456789012:api-destination/d/1", "region"},
		{"arn:aws:events:us-east-1::api-destination/d/1", "account"},
		{"arn:aws:events:us-east-1:12:api-destination/d/1", "account"},
	}
	for _, tc := range tests {
		_, err := ParseServiceARN(tc.in, "events")
		var ae *ARNError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("ParseServiceARN(%s) = %v, want no error", tc.in, err)
		case tc.field != "" && (!errors.As(err, &ae) || ae.Field != tc.field):
			t.Errorf("ParseServiceARN(%s) = %v, want an error on %s", tc.in, err, tc.field)
		}
	}
}
