package runtime

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/source/kafka"
)

// exactlyOnceConfig returns the source's exactly-once settings when the pipe's kafka:// target asks for
// ExactlyOnce (TargetParameters.KafkaParameters): the source then runs transactions and the target
// produces into them (source/kafka transact.go, target/kafka transact.go). Nil otherwise. The member is
// read through its JSON form so that this does not depend on how internal/pipe holds a plugin's member.
func exactlyOnceConfig(def *pipe.Definition) (*kafka.ExactlyOnce, error) {
	if def.TargetParameters == nil {
		return nil, nil
	}
	raw, err := json.Marshal(def.TargetParameters.KafkaParameters)
	if err != nil {
		return nil, fmt.Errorf("pipe %s: TargetParameters.KafkaParameters: %w", def.Name, err)
	}
	var kp struct {
		ExactlyOnce                bool
		AdditionalBootstrapServers []string
	}
	if err := json.Unmarshal(raw, &kp); err != nil {
		return nil, fmt.Errorf("pipe %s: TargetParameters.KafkaParameters: %w", def.Name, err)
	}
	if !kp.ExactlyOnce {
		return nil, nil
	}
	// The Target was validated (kafka://host:port[,host:port...]/topic); only its brokers matter here.
	rest, ok := strings.CutPrefix(def.Target, "kafka://")
	hosts, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || hosts == "" {
		return nil, fmt.Errorf("pipe %s: TargetParameters.KafkaParameters.ExactlyOnce needs a kafka:// target, not %q", def.Name, def.Target)
	}
	return &kafka.ExactlyOnce{TargetBrokers: append(strings.Split(hosts, ","), kp.AdditionalBootstrapServers...)}, nil
}
