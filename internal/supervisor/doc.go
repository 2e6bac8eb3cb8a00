// Package supervisor holds what keeps pipes alive across failures: the capped exponential backoff and
// the classification of start failures into transient ones (retried while the pipe's desired state is
// RUNNING: a broker or Secrets Manager endpoint that does not answer, a DNS failure) and permanent ones
// (failing the pipe at once: rejected credentials, an untrusted certificate, a malformed secret, a
// definition that cannot be built). The API's lifecycle manager (internal/api, manager.go) and
// `sluice run` use it; the manager itself is to move here with the rest of the lifecycle.
package supervisor
