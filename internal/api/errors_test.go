package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/internal/store"
	"github.com/sluicehq/sluice/internal/supervisor"
)

// TestToAPIError maps the store's and the supervisor's errors, wrapped as they arrive, to exceptions.
func TestToAPIError(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantType   string
		wantStatus int
		wantMsg    string
	}{
		{"not found", fmt.Errorf("reading pipe p: %w", store.ErrNotFound), TypeNotFound, http.StatusNotFound, "Pipe p does not exist."},
		{"exists", fmt.Errorf("creating pipe p: %w", store.ErrExists), TypeConflict, http.StatusConflict, "Pipe p already exists."},
		{"lost a race", fmt.Errorf("updating pipe p: %w", store.ErrConflict), TypeConflict, http.StatusConflict,
			"Pipe p was changed by another request at the same time; describe it and try again."},
		{"busy", fmt.Errorf("updating pipe p: %w", &supervisor.BusyError{Name: "p", State: "STOPPING"}), TypeConflict, http.StatusConflict,
			"Pipe p is in state STOPPING; wait until it leaves it."},
		{"quota", fmt.Errorf("creating pipe p: %w", store.ErrQuota), TypeServiceQuota, http.StatusPaymentRequired,
			"Maximum number of pipes reached for this account."},
		{"shutting down", supervisor.ErrClosed, TypeInternal, http.StatusInternalServerError, "The server is shutting down."},
		{"unknown", errors.New("open /var/lib/sluice/x: permission denied"), TypeInternal, http.StatusInternalServerError,
			"An internal error occurred; see the server log."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := toAPIError(tc.err, "p")
			if e.Type != tc.wantType || e.Status != tc.wantStatus || e.Message != tc.wantMsg {
				t.Errorf("toAPIError(%v) = %s %d %q, want %s %d %q", tc.err, e.Type, e.Status, e.Message, tc.wantType, tc.wantStatus, tc.wantMsg)
			}
			if e.Type == TypeConflict && (e.ResourceID != "p" || e.ResourceType != resourceTypePipe) {
				t.Errorf("ConflictException names %q/%q, want p/pipe", e.ResourceID, e.ResourceType)
			}
		})
	}
}
