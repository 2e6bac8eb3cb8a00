package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

// TestSendEntries drives SendEntries with a Send that plays a batch API: which calls it makes, and what
// it returns when the service refuses entries or calls.
func TestSendEntries(t *testing.T) {
	apiErr := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	type call struct{ lo, hi int }
	tests := []struct {
		name     string
		n        int
		maxBytes int
		sizes    map[int]int // default 1
		prepare  map[int]error
		cut      func(lo, i int) bool
		// answer returns the refused entries of a call, or its error.
		answer     func(lo, hi int) ([]EntryFailure, error)
		wantCalls  []call
		wantFailed []int // nil: no PartialError
		wantErr    string
		wantKind   string // "permanent", "throttled", "retryable", "" (nil error)
	}{{
		name:      "count limit",
		n:         25,
		wantCalls: []call{{0, 10}, {10, 20}, {20, 25}},
	}, {
		name:      "byte limit",
		n:         5,
		maxBytes:  10,
		sizes:     map[int]int{0: 4, 1: 4, 2: 4, 3: 20, 4: 1},
		wantCalls: []call{{0, 2}, {2, 3}, {3, 4}, {4, 5}},
	}, {
		name:      "cut: a call must not go back in time",
		n:         6,
		cut:       func(lo, i int) bool { return i == 2 || i-lo >= 3 },
		wantCalls: []call{{0, 2}, {2, 5}, {5, 6}},
	}, {
		name: "entries refused in the second call",
		n:    25,
		answer: func(lo, hi int) ([]EntryFailure, error) {
			if lo == 10 {
				return []EntryFailure{{Index: 15, Code: "InternalError", Message: "m"}, {Index: 13, Code: "InternalError", Message: "m"}}, nil
			}
			return nil, nil
		},
		wantCalls:  []call{{0, 10}, {10, 20}},
		wantFailed: append([]int{13, 15}, span(20, 25)...),
		wantErr:    "SendMessageBatch refused entry 13: InternalError: m",
		wantKind:   "retryable",
	}, {
		name: "throttled entry",
		n:    3,
		answer: func(lo, hi int) ([]EntryFailure, error) {
			return []EntryFailure{{Index: 1, Code: "ThrottlingException", Sender: true}}, nil
		},
		wantCalls:  []call{{0, 3}},
		wantFailed: []int{1}, // 2 was delivered; the runtime sends it again anyway
		wantKind:   "throttled",
	}, {
		name: "sender fault with an unknown code is permanent",
		n:    2,
		answer: func(lo, hi int) ([]EntryFailure, error) {
			return []EntryFailure{{Index: 1, Code: "InvalidArgument", Sender: true}}, nil
		},
		wantCalls:  []call{{0, 2}},
		wantFailed: []int{1},
		wantKind:   "permanent",
	}, {
		name: "every entry refused is a plain failure",
		n:    2,
		answer: func(lo, hi int) ([]EntryFailure, error) {
			return []EntryFailure{{Index: 0, Code: "InternalError", Message: "m"}, {Index: 1, Code: "InternalError", Message: "m"}}, nil
		},
		wantCalls: []call{{0, 2}},
		wantKind:  "retryable",
	}, {
		name:      "first call fails as a whole",
		n:         12,
		answer:    func(lo, hi int) ([]EntryFailure, error) { return nil, apiErr("ThrottlingException") },
		wantCalls: []call{{0, 10}},
		wantKind:  "throttled",
	}, {
		name: "second call fails as a whole",
		n:    12,
		answer: func(lo, hi int) ([]EntryFailure, error) {
			if lo == 10 {
				return nil, apiErr("ServiceUnavailable")
			}
			return nil, nil
		},
		wantCalls:  []call{{0, 10}, {10, 12}},
		wantFailed: []int{10, 11},
		wantErr:    "SendMessageBatch of entries 10 to 11: api error ServiceUnavailable: m",
		wantKind:   "retryable",
	}, {
		name: "a permanent refusal of a call is narrowed to its entry",
		n:    6,
		answer: func(lo, hi int) ([]EntryFailure, error) {
			if lo <= 3 && 3 < hi {
				return nil, apiErr("InvalidParameterValue")
			}
			return nil, nil
		},
		wantCalls:  []call{{0, 6}, {0, 1}, {1, 2}, {2, 3}, {3, 4}},
		wantFailed: []int{3, 4, 5},
		wantErr:    "SendMessageBatch of entries 3 to 3: api error InvalidParameterValue: m",
		wantKind:   "permanent",
	}, {
		name:       "an entry that cannot be built",
		n:          6,
		prepare:    map[int]error{4: errors.New("no group")},
		wantCalls:  []call{{0, 4}},
		wantFailed: []int{4, 5},
		wantErr:    "SendMessageBatch entry 4: no group",
		wantKind:   "permanent",
	}, {
		name:      "the first entry cannot be built",
		n:         3,
		prepare:   map[int]error{0: errors.New("no group")},
		wantCalls: nil,
		wantKind:  "permanent",
	}, {
		name:    "a call fails before an entry that cannot be built",
		n:       14,
		prepare: map[int]error{12: errors.New("no group")},
		answer: func(lo, hi int) ([]EntryFailure, error) {
			return []EntryFailure{{Index: lo + 1, Code: "InternalError", Message: "m"}}, nil
		},
		wantCalls:  []call{{0, 10}},
		wantFailed: append([]int{1}, span(10, 14)...),
		wantKind:   "retryable",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []call
			err := SendEntries(context.Background(), Entries{
				Op: "SendMessageBatch", N: tc.n, MaxCount: 10, MaxBytes: tc.maxBytes, Cut: tc.cut,
				Prepare: func(i int) (int, error) {
					size, ok := tc.sizes[i]
					if !ok {
						size = 1
					}
					return size, tc.prepare[i]
				},
				Send: func(_ context.Context, lo, hi int) ([]EntryFailure, error) {
					calls = append(calls, call{lo, hi})
					if tc.answer == nil {
						return nil, nil
					}
					return tc.answer(lo, hi)
				},
			})
			if diff := cmp.Diff(tc.wantCalls, calls, cmp.AllowUnexported(call{})); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			var pe *plugin.PartialError
			if errors.As(err, &pe) != (tc.wantFailed != nil) {
				t.Fatalf("SendEntries = %v (%T), want a PartialError: %v", err, err, tc.wantFailed != nil)
			}
			if pe != nil {
				if diff := cmp.Diff(tc.wantFailed, pe.Failed); diff != "" {
					t.Errorf("Failed (-want +got):\n%s", diff)
				}
				if tc.wantErr != "" && pe.Err.Error() != tc.wantErr {
					t.Errorf("Err = %q, want %q", pe.Err, tc.wantErr)
				}
			}
			if got := kind(err); got != tc.wantKind {
				t.Errorf("SendEntries = %v, of kind %q, want %q", err, got, tc.wantKind)
			}
		})
	}
}

func kind(err error) string {
	var throttled *plugin.ThrottledError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &throttled):
		return "throttled"
	case plugin.IsPermanent(err):
		return "permanent"
	}
	return "retryable"
}

func TestEventTime(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // ms; -1: not a time
	}{
		{`1733300000123`, 1733300000123},
		{`"1733300000123"`, 1733300000123},
		{`1.733300000123e12`, 1733300000123},
		{`"2024-12-04T08:13:20.123Z"`, 1733300000123},
		{`"2024-12-04T09:13:20.123+01:00"`, 1733300000123},
		{`"yesterday"`, -1},
		{`{"a":1}`, -1},
		{`null`, -1},
	}
	for _, tc := range tests {
		got, ok := EventTime([]byte(tc.in))
		if (tc.want < 0) == ok || (ok && got.UnixMilli() != tc.want) {
			t.Errorf("EventTime(%s) = %v, %v; want %d", tc.in, got.UnixMilli(), ok, tc.want)
		}
	}
}

func ExampleEntryError() {
	err := EntryError(EntryFailure{Index: 3, Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "gone", Sender: true})
	fmt.Println(err, plugin.IsPermanent(err))
	// Output: AWS.SimpleQueueService.NonExistentQueue: gone true
}

// TestBatchTargetSpec: Validate is Parse's problems; New refuses an invalid pipe and a host without AWS,
// and builds with the configuration of Parse's region.
func TestBatchTargetSpec(t *testing.T) {
	var gotRegion string
	spec := BatchTarget[string]{
		What: "test target", Kind: "test", Member: "TestParameters", MaxBatch: 3, MaxPayloadBytes: 7,
		Parse: func(c plugin.Check) (string, string, []plugin.FieldError) {
			if c.Endpoint == "bad" {
				return "", "", []plugin.FieldError{{Field: "Target", Message: "is bad"}}
			}
			return c.Endpoint, "eu-west-3", nil
		},
		Build: func(cfg string, ac aws.Config) plugin.Target { gotRegion = ac.Region; return nil },
	}.Spec()
	if spec.MaxBatch != 3 || spec.MaxPayloadBytes != 7 || !cmp.Equal(spec.Kinds, []string{"test"}) || !cmp.Equal(spec.Members, []string{"TestParameters"}) {
		t.Errorf("Spec() = %+v", spec)
	}
	if errs := spec.Validate(plugin.Check{Endpoint: "bad"}); len(errs) != 1 {
		t.Errorf("Validate(bad) = %v, want one problem", errs)
	}
	env := plugin.Env{AWS: func(_ context.Context, region string) (aws.Config, error) { return aws.Config{Region: region}, nil }}
	if _, err := spec.New(context.Background(), env, plugin.Check{Endpoint: "bad"}); err == nil || err.Error() != "test target bad: Target: is bad" {
		t.Errorf("New(bad) = %v, want the problem", err)
	}
	if _, err := spec.New(context.Background(), plugin.Env{}, plugin.Check{Endpoint: "ok"}); err == nil || !strings.Contains(err.Error(), "no AWS configuration") {
		t.Errorf("New without AWS = %v, want an error", err)
	}
	if _, err := spec.New(context.Background(), env, plugin.Check{Endpoint: "ok"}); err != nil || gotRegion != "eu-west-3" {
		t.Errorf("New(ok) = %v, built for region %q; want eu-west-3", err, gotRegion)
	}
}
