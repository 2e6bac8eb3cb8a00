// Package supervisor runs the pipes and keeps them alive across failures. It holds the lifecycle
// Manager (manager.go: one worker per pipe that builds, starts, stops and deletes its runner and
// records where each transition ended), the runtime Factory with its Kafka preflight (runtime.go),
// auto-stop of pipes whose target keeps answering client errors (autostop.go), the capped exponential
// backoff and Retry (retry.go), and the classification of start failures into transient ones
// (retried while the pipe's desired state is RUNNING: a broker or Secrets Manager endpoint that does
// not answer, a DNS failure) and permanent ones (failing the pipe at once: rejected credentials, an
// untrusted certificate, a malformed secret, a definition that cannot be built) (classify.go).
//
// The Manager depends on the store.Store interface only, and it reconciles a pipe whenever the
// store's Watch reports a change of its record — whoever wrote it: the API of this process, the
// Manager itself, or in cluster mode another node. The API (internal/api) drives it through an
// interface of its own and maps its errors (errors.go: ErrBusy, ErrClosed) and the store's to AWS
// exceptions; `sluice run` uses Retry and Transient.
package supervisor
