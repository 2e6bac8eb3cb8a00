package cluster

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/pipe"
	"github.com/sluicehq/sluice/internal/store"
)

// TestRunningPipes: the leader places a pipe whose desired state is RUNNING unless its source check
// failed (CREATE_FAILED, START_FAILED, UPDATE_FAILED); a pipe STARTING during a restart, or UPDATING,
// keeps its members.
func TestRunningPipes(t *testing.T) {
	st, err := store.Open(t.TempDir(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tc := range []struct {
		desired, current string
		placed           bool
	}{
		{pipe.StateRunning, pipe.StateRunning, true},
		{pipe.StateRunning, pipe.StateStarting, true},
		{pipe.StateRunning, pipe.StateCreating, true},
		{pipe.StateRunning, pipe.StateUpdating, true},
		{pipe.StateRunning, pipe.StateCreateFailed, false},
		{pipe.StateRunning, pipe.StateStartFailed, false},
		{pipe.StateRunning, pipe.StateUpdateFailed, false},
		{pipe.StateStopped, pipe.StateStopped, false},
		{pipe.StateStopped, pipe.StateStopping, false},
		{pipe.StateStopped, pipe.StateRunning, false},
	} {
		name := tc.desired + "-" + tc.current
		now := time.Now().UTC()
		if err := st.Create(t.Context(), &store.Record{Name: name, Definition: json.RawMessage(`{}`), DesiredState: tc.desired,
			CurrentState: tc.current, CreationTime: now, LastModifiedTime: now}, 100); err != nil {
			t.Fatal(err)
		}
	}
	pipes, err := RunningPipes(st)(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pipes {
		got = append(got, p.Name)
	}
	slices.Sort(got)
	want := []string{"RUNNING-CREATING", "RUNNING-RUNNING", "RUNNING-STARTING", "RUNNING-UPDATING"}
	if !slices.Equal(got, want) {
		t.Errorf("placed %v, want %v", got, want)
	}
}
