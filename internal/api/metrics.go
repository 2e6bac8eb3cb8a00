package api

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// apiMetrics counts API requests by operation and outcome (the exception type, or "ok").
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// panics counts requests whose handler panicked (and got an InternalException): always a defect.
	panics prometheus.Counter
}

func newAPIMetrics(reg prometheus.Registerer) (*apiMetrics, error) {
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_requests_total",
			Help: "Pipes API requests by operation and outcome (ok or the exception type).",
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_api_request_duration_seconds",
			Help:    "Time to serve a Pipes API request.",
			Buckets: prometheus.DefBuckets,
		}, []string{"operation"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_api_panics_total",
			Help: "API requests whose handler panicked; each is a defect, logged with its stack.",
		}),
	}
	if reg != nil {
		// A second server on the same registry (tests, `sluice dev` restarting the API) shares the series.
		if err := reg.Register(m.requests); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			m.requests = are.ExistingCollector.(*prometheus.CounterVec)
		}
		if err := reg.Register(m.duration); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			m.duration = are.ExistingCollector.(*prometheus.HistogramVec)
		}
		if err := reg.Register(m.panics); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
			m.panics = are.ExistingCollector.(prometheus.Counter)
		}
	}
	return m, nil
}

func (m *apiMetrics) observe(op, errType string, d time.Duration) {
	outcome := errType
	if outcome == "" {
		outcome = "ok"
	}
	m.requests.WithLabelValues(op, outcome).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
}
