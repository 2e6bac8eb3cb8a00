package runtime

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/source/kafka"
)

// exactlyOnceConfig returns the source's exactly-once settings when the pipe's kafka:// target asks for
// ExactlyOnce (TargetParameters.KafkaParameters): the source then runs transactions and the target
// produces into them (source/kafka transact.go, target/kafka transact.go). Nil otherwise.
func exactlyOnceConfig(def *pipe.Definition) (*kafka.ExactlyOnce, error) {
	tp := def.TargetParameters
	if tp == nil || tp.KafkaParameters == nil || !tp.KafkaParameters.ExactlyOnce {
		return nil, nil
	}
	e, err := pipe.ParseEndpoint(def.Target)
	if err != nil || e.Kind != "kafka" {
		return nil, fmt.Errorf("pipe %s: TargetParameters.KafkaParameters.ExactlyOnce needs a kafka:// target, not %q", def.Name, def.Target)
	}
	brokers := append(append([]string{}, e.Brokers...), tp.KafkaParameters.AdditionalBootstrapServers...)
	return &kafka.ExactlyOnce{TargetBrokers: brokers}, nil
}
