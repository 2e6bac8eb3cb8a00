package plugin

import (
	"context"
	"slices"
	"testing"
)

func newNone(context.Context, Env, Check) (Target, error) { return nil, nil }

func TestKind(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sqs:us-east-1:123456789012:q": "sqs",
		"kafka://a:9092,b:9093/out":            "kafka", // no valid URL host, still a kafka:// string
		"HTTPS://example.com/x":                "https",
		"file:///dev/stdout":                   "file",
		"just-a-name":                          "",
		"1http://x":                            "",
		"arn:aws":                              "",
	} {
		if got := Kind(in); got != want {
			t.Errorf("Kind(%s) = %q, want %q", in, got, want)
		}
	}
}

// TestRegistry: a spec serves each of its kinds; members may be shared between specs; a kind registered
// twice panics; WithTarget replaces a kind in a copy only.
func TestRegistry(t *testing.T) {
	r := NewRegistry()
	r.AddTarget(TargetSpec{Kinds: []string{"http", "https"}, Members: []string{"HttpParameters"}, MaxBatch: 1, New: newNone})
	r.AddTarget(TargetSpec{Kinds: []string{"execute-api"}, Members: []string{"HttpParameters"}, New: newNone})
	r.AddEnricher(EnricherSpec{Kinds: []string{"http"}, Members: []string{"HttpParameters"}, New: func(context.Context, Env, Check) (Enricher, error) { return nil, nil }})
	if s, ok := r.TargetSpec("https://x/y"); !ok || s.MaxBatch != 1 {
		t.Errorf("TargetSpec(https) = %+v, %v", s, ok)
	}
	if _, ok := r.TargetSpec("arn:aws:sqs:us-east-1:123456789012:q"); ok {
		t.Error("TargetSpec(sqs) found an unregistered kind")
	}
	if got, want := r.TargetMemberKinds("HttpParameters"), []string{"execute-api", "http", "https"}; !slices.Equal(got, want) {
		t.Errorf("TargetMemberKinds = %v, want %v", got, want)
	}
	if got := r.EnricherMemberKinds("HttpParameters"); !slices.Equal(got, []string{"http"}) {
		t.Errorf("EnricherMemberKinds = %v", got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a kind registered twice did not panic")
			}
		}()
		r.AddTarget(TargetSpec{Kinds: []string{"https"}, New: newNone})
	}()
	dev := r.WithTarget(TargetSpec{Kinds: []string{"http"}, MaxBatch: 7, New: newNone})
	if s, _ := dev.TargetSpec("http://x"); s.MaxBatch != 7 {
		t.Errorf("WithTarget: http MaxBatch = %d, want the replacement's 7", s.MaxBatch)
	}
	if s, _ := r.TargetSpec("http://x"); s.MaxBatch != 1 {
		t.Errorf("WithTarget changed the original registry")
	}
	if _, ok := dev.EnricherSpec("http://x"); !ok {
		t.Error("WithTarget lost the enrichments")
	}
}
