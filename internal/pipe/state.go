package pipe

// Pipe lifecycle states: the PipeState enum of the Pipes API model (a pipe's CurrentState) and the
// desired states (RequestedPipeState, plus DELETED, which only the stored record holds while the pipe
// is being deleted). They are untyped string constants because they travel as plain strings in the
// definition, the stored record and the API shapes.
const (
	StateRunning              = "RUNNING"
	StateStopped              = "STOPPED"
	StateDeleted              = "DELETED" // desired state only
	StateCreating             = "CREATING"
	StateUpdating             = "UPDATING"
	StateDeleting             = "DELETING"
	StateStarting             = "STARTING"
	StateStopping             = "STOPPING"
	StateCreateFailed         = "CREATE_FAILED"
	StateUpdateFailed         = "UPDATE_FAILED"
	StateStartFailed          = "START_FAILED"
	StateStopFailed           = "STOP_FAILED"
	StateDeleteFailed         = "DELETE_FAILED"
	StateCreateRollbackFailed = "CREATE_ROLLBACK_FAILED"
	StateDeleteRollbackFailed = "DELETE_ROLLBACK_FAILED"
	StateUpdateRollbackFailed = "UPDATE_ROLLBACK_FAILED"
)

// CurrentStates lists every CurrentState of the Pipes API, in the model's order.
func CurrentStates() []string {
	return []string{StateRunning, StateStopped, StateCreating, StateUpdating, StateDeleting,
		StateStarting, StateStopping, StateCreateFailed, StateUpdateFailed, StateStartFailed, StateStopFailed,
		StateDeleteFailed, StateCreateRollbackFailed, StateDeleteRollbackFailed, StateUpdateRollbackFailed}
}

// Transitional reports whether a current state is one the supervisor is moving the pipe out of
// (CREATING, UPDATING, DELETING, STARTING, STOPPING).
func Transitional(state string) bool {
	switch state {
	case StateCreating, StateUpdating, StateDeleting, StateStarting, StateStopping:
		return true
	}
	return false
}

// FailedState is where a transition ends when it fails: CREATING → CREATE_FAILED, and so on; any other
// state (STARTING, or a pipe that failed while RUNNING) gives START_FAILED.
func FailedState(transition string) string {
	switch transition {
	case StateCreating:
		return StateCreateFailed
	case StateUpdating:
		return StateUpdateFailed
	case StateStopping:
		return StateStopFailed
	case StateDeleting:
		return StateDeleteFailed
	}
	return StateStartFailed
}
