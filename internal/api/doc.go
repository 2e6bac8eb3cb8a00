// Package api serves the Amazon EventBridge Pipes management API (restJson1, as the AWS CLI and SDKs
// speak it) over net/http and runs the pipes it manages through a Supervisor (internal/supervisor).
//
// Operations: CreatePipe, DescribePipe, UpdatePipe, DeletePipe, ListPipes, StartPipe, StopPipe,
// TagResource, UntagResource, ListTagsForResource — same methods, paths and member names as AWS
// (PascalCase, tags lowercase), timestamps as epoch seconds, ARNs arn:aws:pipes:REGION:ACCOUNT:pipe/NAME.
// Errors carry X-Amzn-ErrorType and a JSON body (errors.go). /healthz and /metrics are served on the
// same handler without authentication, so that probes and Prometheus need no AWS keys.
//
// Lifecycle (the PipeState values of the Pipes API): a mutating call records a transitional state (CREATING, UPDATING, STARTING,
// STOPPING, DELETING) and returns; a worker goroutine then builds or stops the pipe's runner and records
// RUNNING/STOPPED, or the matching *_FAILED state with a StateReason (an unreachable broker, a secret
// that does not resolve). Decisions where Pipes is silent or UNCONFIRMED:
//   - Any mutating call (UpdatePipe, StartPipe, StopPipe, DeletePipe) on a pipe in a transitional state
//     gets ConflictException, except on a pipe that is still building its runner or retrying its start
//     (CREATING, STARTING, UPDATING): the call cancels that start and takes the pipe over, so that a pipe
//     waiting for a broker stays stoppable, deletable and updatable. CreatePipe of an existing name gets
//     ConflictException. Tag operations are allowed in every state. A write that loses a race with
//     another writer of the same pipe (the store's compare-and-set, store.ErrConflict: in cluster mode
//     another node) gets ConflictException too; describing the pipe and retrying is the remedy.
//   - Transient start failures (a broker, DNS or Secrets Manager that does not answer) at create,
//     start, update or resume are retried with backoff from 1s doubling to 5 minutes, with jitter, while
//     the desired state is RUNNING; the pipe keeps its transitional state and its StateReason says
//     "retrying in 8s, at 13:20:05Z (attempt 4 failed): <error>". Permanent failures (rejected
//     credentials, an untrusted certificate, a missing or malformed secret, a target that cannot be
//     built) end the transition in its *_FAILED state at once (internal/supervisor, manager.go).
//   - A panic in a pipe (building it, running it, closing it) fails that pipe alone with the
//     StateReason "internal error: ... panicked: ...; see the server log" and the stack in the log;
//     while RUNNING it becomes START_FAILED with its desired state kept (internal/supervisor).
//   - StartPipe on a RUNNING pipe and StopPipe on a STOPPED pipe are no-ops that return the pipe's state.
//   - Failed pipes (*_FAILED) accept UpdatePipe (to fix them), StartPipe, StopPipe and DeletePipe.
//   - A pipe whose runtime reports a fatal condition (Hooks.OnFatal: a target or enrichment that keeps
//     answering 4xx) ends with DesiredState and CurrentState STOPPED and the reason in StateReason, so a
//     server restart does not restart it; StartPipe does.
//   - A runner that exits with an error on its own leaves CurrentState STOPPED with the error as
//     StateReason and DesiredState RUNNING: StartPipe, or the next start of the server, retries it.
//   - On start (Resume) every pipe whose DesiredState is RUNNING is started, including failed ones;
//     transitions interrupted by a crash are finished.
//   - UpdatePipe restarts a running pipe with the merged definition; the consumer group, which
//     UpdatePipe cannot change, keeps the committed offsets, so nothing is lost or read twice beyond
//     at-least-once redelivery of in-flight batches.
//   - ListPipes lists in name order; the default page size is 100. NextToken is opaque and does not
//     expire; an unknown token is a ValidationException.
//   - Request bodies are limited to 256 KiB by default; larger ones, malformed JSON, unknown members,
//     wrong types and invalid names are ValidationException, and nothing is stored.
//   - The API is rate limited (50 requests/s, burst 100 by default) with ThrottlingException.
//   - Unsigned requests get MissingAuthenticationTokenException (403), unknown access keys
//     UnrecognizedClientException (403), bad signatures InvalidSignatureException (403) (sigv4.go).
//   - Without access keys the handler serves only clients on this machine (LocalOnly, guard.go): a
//     foreign Host or a browser's cross-site request gets AccessDeniedException (403), a body that is
//     not application/json ValidationException (415).
//   - Paths are routed as sent, without ServeMux: no redirects, and every answer is JSON. Under
//     /v1/pipes/ a path without a valid pipe name ("..", "a/", "%2F") is a ValidationException; pipes
//     may not be named "." or "..".
//   - DescribePipe returns the definition as stored: secret references (Secrets Manager ARNs, file://,
//     env:) only; resolved secrets are never stored.
package api
