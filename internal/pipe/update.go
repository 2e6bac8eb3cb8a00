package pipe

import (
	"encoding/json"
	"slices"

	"github.com/sluicehq/sluice/internal/plugin"
)

// UpdateRequest is the UpdatePipe request body. Every member is optional; omitted top-level members
// keep their current value (the UpdatePipe page of the Pipes API reference).
//
// Source, Name and the immutable Kafka members (TopicName, StartingPosition,
// AdditionalBootstrapServers, ConsumerGroupID) are not in the AWS update shape; Sluice accepts them so
// that a whole definition can be re-sent, and Merge rejects them only when they differ from the
// current value.
type UpdateRequest struct {
	Name                 *string                 `json:"Name,omitempty"`
	Description          *string                 `json:"Description,omitempty"`
	DesiredState         *string                 `json:"DesiredState,omitempty"`
	Source               *string                 `json:"Source,omitempty"`
	SourceParameters     *UpdateSourceParameters `json:"SourceParameters,omitempty"`
	Enrichment           *string                 `json:"Enrichment,omitempty"`
	EnrichmentParameters *EnrichmentParameters   `json:"EnrichmentParameters,omitempty"`
	Target               *string                 `json:"Target,omitempty"`
	TargetParameters     *TargetParameters       `json:"TargetParameters,omitempty"`
	RoleArn              *string                 `json:"RoleArn,omitempty"`
	LogConfiguration     *LogConfiguration       `json:"LogConfiguration,omitempty"`
	KmsKeyIdentifier     *string                 `json:"KmsKeyIdentifier,omitempty"`
}

// UpdateSourceParameters is UpdatePipeSourceParameters. It has the create shape, SelfManagedKafkaParameters
// included, so that immutable members can be recognised and checked.
type UpdateSourceParameters = SourceParameters

// Merge applies an UpdatePipe request to the current (defaulted) definition and returns the new
// definition with defaults set; cur is not modified. The caller then runs Validate on the result.
// The returned FieldErrors lists attempts to change immutable members; the definition is nil then.
//
// Rules (from the UpdatePipe API reference): omitted top-level members stay; SelfManagedKafkaParameters, HttpParameters,
// ApiDestinationParameters, KafkaParameters, every AWS target parameter object and LogConfiguration
// are replaced whole (omitted members inside reset to their defaults); FilterCriteria is replaced
// whole ({"Filters": []} removes filtering); InputTemplate "" removes the template; Enrichment ""
// removes the enrichment and its parameters. When Target changes kind, the target parameter objects
// of the old kind are dropped (the InputTemplate stays). The result has the defaults of reg's plugins
// (SetDefaults) and is not validated.
func Merge(cur *Definition, u *UpdateRequest, reg *plugin.Registry) (*Definition, FieldErrors) {
	out := clone(cur)
	var fe FieldErrors
	if u.Name != nil && *u.Name != cur.Name {
		fe.add("Name", "does not match the pipe being updated (%s)", cur.Name)
	}
	if u.Source != nil && *u.Source != cur.Source {
		fe.add("Source", "cannot be changed after the pipe is created")
	}
	setIf(&out.DesiredState, u.DesiredState)
	setIf(&out.RoleArn, u.RoleArn)
	if u.Description != nil {
		out.Description = ptr(*u.Description)
	}
	if u.KmsKeyIdentifier != nil {
		out.KmsKeyIdentifier = ptr(*u.KmsKeyIdentifier)
	}
	if u.LogConfiguration != nil {
		out.LogConfiguration = clone(u.LogConfiguration)
	}

	if sp := u.SourceParameters; sp != nil {
		if out.SourceParameters == nil {
			out.SourceParameters = &SourceParameters{}
		}
		osp := out.SourceParameters
		if sp.FilterCriteria != nil {
			osp.FilterCriteria = clone(sp.FilterCriteria)
		}
		osp.ActiveMQBrokerParameters = sp.ActiveMQBrokerParameters
		osp.DynamoDBStreamParameters = sp.DynamoDBStreamParameters
		osp.KinesisStreamParameters = sp.KinesisStreamParameters
		osp.ManagedStreamingKafkaParameters = sp.ManagedStreamingKafkaParameters
		osp.RabbitMQBrokerParameters = sp.RabbitMQBrokerParameters
		osp.SqsQueueParameters = sp.SqsQueueParameters
		if nk := sp.SelfManagedKafkaParameters; nk != nil {
			ck := osp.SelfManagedKafkaParameters
			if ck == nil {
				ck = &SelfManagedKafkaParameters{}
			}
			const p = "SourceParameters.SelfManagedKafkaParameters."
			immutable := func(name, got, have string) {
				if got != "" && got != have {
					fe.add(p+name, "cannot be changed after the pipe is created")
				}
			}
			immutable("TopicName", nk.TopicName, ck.TopicName)
			immutable("StartingPosition", nk.StartingPosition, ck.StartingPosition)
			immutable("ConsumerGroupID", nk.ConsumerGroupID, ck.ConsumerGroupID)
			if nk.AdditionalBootstrapServers != nil && !slices.Equal(nk.AdditionalBootstrapServers, ck.AdditionalBootstrapServers) {
				fe.add(p+"AdditionalBootstrapServers", "cannot be changed after the pipe is created")
			}
			k := clone(nk)
			k.TopicName, k.StartingPosition, k.ConsumerGroupID = ck.TopicName, ck.StartingPosition, ck.ConsumerGroupID
			k.AdditionalBootstrapServers = slices.Clone(ck.AdditionalBootstrapServers)
			osp.SelfManagedKafkaParameters = k
		}
	}

	if u.Enrichment != nil {
		out.Enrichment = *u.Enrichment
		if out.Enrichment == "" || out.Enrichment == "$" {
			out.Enrichment = ""
			if u.EnrichmentParameters == nil {
				out.EnrichmentParameters = nil
			}
		}
	}
	if ep := u.EnrichmentParameters; ep != nil {
		if out.EnrichmentParameters == nil {
			out.EnrichmentParameters = &EnrichmentParameters{}
		}
		o := out.EnrichmentParameters
		if ep.InputTemplate != nil {
			o.InputTemplate = ptr(*ep.InputTemplate)
		}
		replaceMembers(o.memberRefs(), ep.memberRefs())
	}

	if u.Target != nil {
		if oldKind, newKind := plugin.Kind(cur.Target), plugin.Kind(*u.Target); oldKind != newKind && out.TargetParameters != nil {
			out.TargetParameters = &TargetParameters{InputTemplate: out.TargetParameters.InputTemplate}
		}
		out.Target = *u.Target
	}
	if tp := u.TargetParameters; tp != nil {
		if out.TargetParameters == nil {
			out.TargetParameters = &TargetParameters{}
		}
		o := out.TargetParameters
		n := clone(tp)
		if n.InputTemplate != nil {
			o.InputTemplate = n.InputTemplate
		}
		replaceMembers(o.memberRefs(), n.memberRefs())
	}

	if len(fe) > 0 {
		return nil, fe.sorted()
	}
	out.SetDefaults(reg)
	return out, nil
}

// replaceMembers replaces each plugin-owned member of dst that src gives (same names, same order): a
// parameter object is replaced as a whole, as UpdatePipe does; one given as null is left alone, as an
// omitted one.
func replaceMembers(dst, src []memberRef) {
	for i := range dst {
		if present(*src[i].raw) {
			*dst[i].raw = append(json.RawMessage(nil), *src[i].raw...)
		}
	}
}

// clone deep-copies a definition part through its JSON form, which is exactly the data it holds.
func clone[T any](v *T) *T {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("pipe: cloning a definition: " + err.Error()) // the types marshal unconditionally
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic("pipe: cloning a definition: " + err.Error())
	}
	return out
}

// Clone returns a deep copy of d.
func (d *Definition) Clone() *Definition { return clone(d) }

func setIf(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

func ptr[T any](v T) *T { return &v }
