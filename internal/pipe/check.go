package pipe

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/plugin"
)

// TargetCheck returns what the target plugin's Validate and New see of the pipe: the Target string, the
// whole TargetParameters as JSON, and the pipe's context. The definition should be defaulted.
func (d *Definition) TargetCheck() (plugin.Check, error) {
	c := d.check(d.Target)
	c.Enrichment = d.Enrichment
	if d.TargetParameters != nil {
		raw, err := json.Marshal(d.TargetParameters)
		if err != nil {
			return plugin.Check{}, fmt.Errorf("encoding TargetParameters: %w", err)
		}
		c.Params = raw
	}
	return c, nil
}

// EnrichmentCheck is TargetCheck for the enrichment: the Enrichment string and EnrichmentParameters.
func (d *Definition) EnrichmentCheck() (plugin.Check, error) {
	c := d.check(d.Enrichment)
	if d.EnrichmentParameters != nil {
		raw, err := json.Marshal(d.EnrichmentParameters)
		if err != nil {
			return plugin.Check{}, fmt.Errorf("encoding EnrichmentParameters: %w", err)
		}
		c.Params = raw
	}
	return c, nil
}

// DeadLetterCheck is what the dead-letter destination's plugin sees: its Arn and no parameters.
func (d *Definition) DeadLetterCheck(arn string) plugin.Check {
	c := d.check(arn)
	c.DeadLetter = true
	return c
}

func (d *Definition) check(endpoint string) plugin.Check {
	c := plugin.Check{Endpoint: endpoint, PipeName: d.Name, RoleArn: d.RoleArn}
	if sp := d.SourceParameters; sp != nil && sp.SelfManagedKafkaParameters != nil {
		k := sp.SelfManagedKafkaParameters
		c.SourceTopic = k.TopicName
		if b, ok := strings.CutPrefix(d.Source, "smk://"); ok {
			c.SourceBrokers = append(c.SourceBrokers, b)
		}
		c.SourceBrokers = append(c.SourceBrokers, k.AdditionalBootstrapServers...)
		if k.BatchSize != nil {
			c.BatchSize = *k.BatchSize
		}
	}
	return c
}
