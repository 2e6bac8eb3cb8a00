package console

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/pattern"
	"github.com/sluicehq/sluice/transform"
)

// TryRequest is what the playground sends as the user types: filter patterns (each one a Filters[i]
// Pattern), an input template, and the sample events to try them on.
type TryRequest struct {
	Patterns []string          `json:"patterns"`
	Template string            `json:"template"`
	Events   []json.RawMessage `json:"events"`
	Pipe     string            `json:"pipe"` // for <aws.pipes.pipe-name> and the ARN
}

// TryResult is the verdict on each event: whether the filters keep it, and the template's output.
type TryResult struct {
	// PatternErrors are the patterns that do not compile, by index (as Filters[i]).
	PatternErrors []FieldError `json:"patternErrors,omitempty"`
	TemplateError string       `json:"templateError,omitempty"`
	Results       []TryOne     `json:"results"`
}

// TryOne is one event's verdict.
type TryOne struct {
	Kept   bool   `json:"kept"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// maxTryEvents bounds the events of one TryRequest.
const maxTryEvents = MaxPeekRecords

// Try runs the patterns and the template on the events with the pipes' own engines: a
// pattern.Set matched with MatchKafka as the runtime filters (Kafka key and value rules included), and a
// transform template rendered within the Pipes payload limit.
func Try(req TryRequest, region, account string) (*TryResult, error) {
	if len(req.Events) > maxTryEvents {
		return nil, fmt.Errorf("at most %d events at a time", maxTryEvents)
	}
	res := &TryResult{Results: make([]TryOne, len(req.Events))}
	var set *pattern.Set
	var ps [][]byte
	for i, p := range req.Patterns {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if _, err := pattern.Compile([]byte(p)); err != nil {
			res.PatternErrors = append(res.PatternErrors, FieldError{Name: fmt.Sprintf("SourceParameters.FilterCriteria.Filters[%d].Pattern", i), Message: err.Error()})
		}
		ps = append(ps, []byte(p))
	}
	if len(res.PatternErrors) == 0 && len(ps) > 0 {
		s, err := pattern.CompileSet(ps)
		if err != nil {
			res.PatternErrors = append(res.PatternErrors, FieldError{Name: "SourceParameters.FilterCriteria", Message: err.Error()})
		}
		set = s
	}
	var tmpl *transform.Template
	if req.Template != "" {
		t, err := transform.Parse(req.Template)
		if err != nil {
			res.TemplateError = err.Error()
		}
		tmpl = t
	}
	vars := &transform.Vars{PipeName: req.Pipe, PipeArn: awsid.PipeArn(region, account, req.Pipe), IngestionTime: time.Now().UTC()}
	for i, ev := range req.Events {
		one := &res.Results[i]
		if len(res.PatternErrors) > 0 {
			one.Error = "the filter patterns have errors"
			continue
		}
		one.Kept = true
		if set != nil {
			key, value, err := kafkaBytes(ev)
			if err == nil {
				one.Kept, err = set.MatchKafka(ev, key, value)
			}
			if err != nil {
				one.Kept, one.Error = false, err.Error()
				continue
			}
		}
		if !one.Kept || tmpl == nil || res.TemplateError != "" {
			continue
		}
		out, err := tmpl.RenderLimit(nil, ev, vars, plugin.MaxPayloadBytes)
		if err != nil {
			one.Error = err.Error()
			continue
		}
		one.Output = string(out)
	}
	return res, nil
}

// kafkaBytes returns the key and value bytes of a Pipes Kafka event (base64 members; nil when absent,
// a Kafka null), as the runtime hands them to MatchKafka.
func kafkaBytes(ev json.RawMessage) (key, value []byte, err error) {
	var r struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(ev, &r); err != nil {
		return nil, nil, fmt.Errorf("the sample is not a Kafka event: %w", err)
	}
	dec := func(s *string, what string) ([]byte, error) {
		if s == nil {
			return nil, nil
		}
		b, err := base64.StdEncoding.DecodeString(*s)
		if err != nil {
			return nil, fmt.Errorf("the sample's %s is not base64: %w", what, err)
		}
		return b, nil
	}
	if key, err = dec(r.Key, "key"); err != nil {
		return nil, nil, err
	}
	if value, err = dec(r.Value, "value"); err != nil {
		return nil, nil, err
	}
	return key, value, nil
}
