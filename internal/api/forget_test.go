package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pipes"
	"github.com/aws/aws-sdk-go-v2/service/pipes/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/kafkatest"
	"github.com/sluicehq/sluice/internal/metrics"
)

// TestDeleteForgetsMetrics: once a pipe is deleted its per-pipe series leave /metrics, so a long-running
// server does not keep series of pipes that no longer exist; other pipes' series stay.
func TestDeleteForgetsMetrics(t *testing.T) {
	h := newHarness(t)
	h.create("doomed", types.RequestedPipeStateRunning)
	h.create("kept", types.RequestedPipeStateRunning)
	h.waitState("doomed", types.PipeStateRunning)
	// The series a pipe's runtime registers in the shared registry.
	m := metrics.NewMetrics(h.cfg.Registerer)
	m.Pipe("doomed").Invocations.Inc()
	m.Pipe("kept").Invocations.Inc()
	if !hasPipeSeries(t, h.cfg.Gatherer, "doomed") {
		t.Fatal("the doomed pipe's series are not there before DeletePipe")
	}
	if _, err := h.client.DeletePipe(context.Background(), &pipes.DeletePipeInput{Name: aws.String("doomed")}); err != nil {
		t.Fatalf("DeletePipe: %v", err)
	}
	h.waitGone("doomed")
	// The series go right after the record: wait for them rather than race the worker.
	kafkatest.Eventually(t, 10*time.Second, func() error {
		if hasPipeSeries(t, h.cfg.Gatherer, "doomed") {
			return errors.New("series of the deleted pipe are still exported")
		}
		return nil
	})
	if !hasPipeSeries(t, h.cfg.Gatherer, "kept") {
		t.Error("series of another pipe went away with the deleted one")
	}
}

func hasPipeSeries(t *testing.T, g prometheus.Gatherer, pipe string) bool {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pipe" && l.GetValue() == pipe {
					return true
				}
			}
		}
	}
	return false
}
