package plugin

import (
	"context"
	"testing"
)

func TestResourceKind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"arn:aws:events:us-east-1:123456789012:api-destination/d/0f1e", "events:api-destination"},
		{"arn:aws:events:us-east-1:123456789012:event-bus/default", "events:event-bus"},
		{"arn:aws:lambda:us-east-1:123456789012:function:f/x", "lambda:function"},
		{"arn:aws:sqs:us-east-1:123456789012:queue", "sqs:queue"},
		{"arn:aws:events:us-east-1:123456789012:api-destination", "events:api-destination"},
		{"https://example.com/a:b/c", ""},
		{"arn:aws:events", ""},
	}
	for _, tc := range tests {
		if got := ResourceKind(tc.in); got != tc.want {
			t.Errorf("ResourceKind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLookupResourceKind: a spec registered under "service:resource-type" serves those ARNs; the
// service's spec serves the service's other ARNs.
func TestLookupResourceKind(t *testing.T) {
	newT := func(context.Context, Env, Check) (Target, error) { return nil, nil }
	r := NewRegistry()
	r.AddTarget(TargetSpec{Kinds: []string{"events"}, Members: []string{"EventBridgeEventBusParameters"}, New: newT})
	r.AddTarget(TargetSpec{Kinds: []string{"events:api-destination"}, Members: []string{"HttpParameters"}, New: newT})
	r.AddEnricher(EnricherSpec{Kinds: []string{"events:api-destination"}, New: func(context.Context, Env, Check) (Enricher, error) { return nil, nil }})
	tests := []struct{ arn, member string }{
		{"arn:aws:events:us-east-1:123456789012:api-destination/d/0f1e", "HttpParameters"},
		{"arn:aws:events:us-east-1:123456789012:event-bus/default", "EventBridgeEventBusParameters"},
	}
	for _, tc := range tests {
		s, ok := r.TargetSpec(tc.arn)
		if !ok || len(s.Members) != 1 || s.Members[0] != tc.member {
			t.Errorf("TargetSpec(%s) = %v, %v; want the spec owning %s", tc.arn, s.Members, ok, tc.member)
		}
	}
	if _, ok := r.EnricherSpec("arn:aws:events:us-east-1:123456789012:api-destination/d/0f1e"); !ok {
		t.Error("EnricherSpec(api-destination ARN) not found")
	}
	if _, ok := r.EnricherSpec("arn:aws:events:us-east-1:123456789012:event-bus/default"); ok {
		t.Error("EnricherSpec(event-bus ARN) found the api-destination enrichment")
	}
}
