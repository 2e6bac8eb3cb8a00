package api

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/awsid"
	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// epoch marshals a time as epoch seconds with millisecond fraction, the timestamp format of the Pipes
// API (the SDKs parse it with ParseEpochSeconds).
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// stateOutput is the response of CreatePipe, UpdatePipe, DeletePipe, StartPipe and StopPipe.
type stateOutput struct {
	Arn              string `json:"Arn"`
	Name             string `json:"Name"`
	DesiredState     string `json:"DesiredState"`
	CurrentState     string `json:"CurrentState"`
	CreationTime     epoch  `json:"CreationTime"`
	LastModifiedTime epoch  `json:"LastModifiedTime"`
}

// describeOutput is the DescribePipe response. The definition holds secret references (ARNs, file://,
// env:) only: resolved secret values are never stored, so none can be returned.
type describeOutput struct {
	Arn                  string                     `json:"Arn"`
	Name                 string                     `json:"Name"`
	Description          *string                    `json:"Description,omitempty"`
	DesiredState         string                     `json:"DesiredState"`
	CurrentState         string                     `json:"CurrentState"`
	StateReason          string                     `json:"StateReason,omitempty"`
	Source               string                     `json:"Source,omitempty"`
	SourceParameters     *pipe.SourceParameters     `json:"SourceParameters,omitempty"`
	Enrichment           string                     `json:"Enrichment,omitempty"`
	EnrichmentParameters *pipe.EnrichmentParameters `json:"EnrichmentParameters,omitempty"`
	Target               string                     `json:"Target,omitempty"`
	TargetParameters     *pipe.TargetParameters     `json:"TargetParameters,omitempty"`
	RoleArn              string                     `json:"RoleArn,omitempty"`
	Tags                 map[string]string          `json:"Tags,omitempty"`
	CreationTime         epoch                      `json:"CreationTime"`
	LastModifiedTime     epoch                      `json:"LastModifiedTime"`
	LogConfiguration     *pipe.LogConfiguration     `json:"LogConfiguration,omitempty"`
	KmsKeyIdentifier     *string                    `json:"KmsKeyIdentifier,omitempty"`
}

// listItem is one entry of ListPipes.Pipes.
type listItem struct {
	Name             string `json:"Name"`
	Arn              string `json:"Arn"`
	DesiredState     string `json:"DesiredState"`
	CurrentState     string `json:"CurrentState"`
	StateReason      string `json:"StateReason,omitempty"`
	CreationTime     epoch  `json:"CreationTime"`
	LastModifiedTime epoch  `json:"LastModifiedTime"`
	Source           string `json:"Source,omitempty"`
	Target           string `json:"Target,omitempty"`
	Enrichment       string `json:"Enrichment,omitempty"`
}

type listOutput struct {
	Pipes     []listItem `json:"Pipes"`
	NextToken string     `json:"NextToken,omitempty"`
}

type tagsOutput struct {
	Tags map[string]string `json:"tags"`
}

// ARNs names pipes for one region and account.
type ARNs struct{ Region, Account string }

// Pipe returns the ARN of the named pipe.
func (a ARNs) Pipe(name string) string {
	return awsid.PipeArn(a.Region, a.Account, name)
}

var rePipeArn = regexp.MustCompile(`^arn:aws([a-z]|\-)*:([a-zA-Z0-9\-]+):([a-z]|\d|\-)*:([0-9]{12})?:(.+)$`)

// parsePipeArn returns the pipe name of one of our ARNs. A malformed ARN is a ValidationException;
// a well-formed ARN of another partition, service, region or account, or of another resource type,
// names nothing here: NotFoundException.
func (a ARNs) parsePipeArn(arn string) (string, *Error) {
	if len(arn) < 1 || len(arn) > 1600 || !rePipeArn.MatchString(arn) {
		return "", validationError("1 validation error detected: Value at 'resourceArn' failed to satisfy constraint: must be a pipe ARN.",
			FieldError{Name: "resourceArn", Message: "must be a pipe ARN (arn:aws:pipes:REGION:ACCOUNT:pipe/NAME)"})
	}
	name, ok := strings.CutPrefix(arn, awsid.PipeArn(a.Region, a.Account, ""))
	if !ok || !validName(name) {
		return "", &Error{Type: TypeNotFound, Status: 404, Message: "Resource " + arn + " does not exist."}
	}
	return name, nil
}

func (a ARNs) stateOutput(r *store.Record) stateOutput {
	return stateOutput{Arn: a.Pipe(r.Name), Name: r.Name, DesiredState: r.DesiredState, CurrentState: r.CurrentState,
		CreationTime: epoch(r.CreationTime), LastModifiedTime: epoch(r.LastModifiedTime)}
}

func (a ARNs) describeOutput(r *store.Record) (*describeOutput, error) {
	d, err := supervisor.StoredDefinition(r)
	if err != nil {
		return nil, err
	}
	return &describeOutput{
		Arn: a.Pipe(r.Name), Name: r.Name, Description: d.Description,
		DesiredState: r.DesiredState, CurrentState: r.CurrentState, StateReason: r.StateReason,
		Source: d.Source, SourceParameters: d.SourceParameters,
		Enrichment: d.Enrichment, EnrichmentParameters: d.EnrichmentParameters,
		Target: d.Target, TargetParameters: d.TargetParameters, RoleArn: d.RoleArn,
		Tags: r.Tags, CreationTime: epoch(r.CreationTime), LastModifiedTime: epoch(r.LastModifiedTime),
		LogConfiguration: d.LogConfiguration, KmsKeyIdentifier: d.KmsKeyIdentifier,
	}, nil
}

// listItem builds a ListPipes entry; the definition is decoded only for Source, Target, Enrichment.
func (a ARNs) listItem(r *store.Record) listItem {
	var d struct{ Source, Target, Enrichment string }
	_ = json.Unmarshal(r.Definition, &d) // a stored definition always decodes; worst case the fields stay empty
	return listItem{Name: r.Name, Arn: a.Pipe(r.Name), DesiredState: r.DesiredState, CurrentState: r.CurrentState,
		StateReason: r.StateReason, CreationTime: epoch(r.CreationTime), LastModifiedTime: epoch(r.LastModifiedTime),
		Source: d.Source, Target: d.Target, Enrichment: d.Enrichment}
}
