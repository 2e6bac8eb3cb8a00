// Package store keeps pipe records — the definition a client sent, the desired and current lifecycle
// states, the state reason, tags and timestamps — behind one interface, Store, with two
// implementations: Bolt, one embedded bbolt file under the server's data directory (single node,
// `sluice serve --data-dir`), and a compacted Kafka topic (cluster mode, `sluice serve --cluster`).
// storetest.Run is the conformance suite both pass.
//
// The store knows nothing of pipe semantics: validation, the state machine and merging happen in
// internal/api and internal/supervisor before a record is written. The definition is kept as the JSON
// document the API produced from the request (references to secrets only, never resolved secret values).
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"time"
)

// FormatVersion is the version of the stored record format written by this code.
const FormatVersion = 1

// Record is one pipe as stored.
type Record struct {
	// Version is the stored format version (FormatVersion when written by this code).
	Version int `json:"version"`
	// Revision counts the writes of this record: 1 once created, bumped by the store on every Update.
	// Update is compare-and-set on it; callers never set it.
	Revision uint64 `json:"revision"`
	// Name is the pipe name, also the record key.
	Name string `json:"name"`
	// Definition is the pipe definition as JSON (CreatePipe member names), defaults applied.
	Definition json.RawMessage `json:"definition"`
	// DesiredState is RUNNING, STOPPED or DELETED (the pipe.State* constants).
	DesiredState string `json:"desiredState"`
	// CurrentState is one of the Pipes lifecycle states (RUNNING, CREATING, UPDATE_FAILED, ...).
	CurrentState string `json:"currentState"`
	// StateReason explains the current state, typically a failure; empty when there is nothing to say.
	StateReason string `json:"stateReason,omitempty"`
	// Tags are the pipe's tags; nil and empty are equivalent.
	Tags map[string]string `json:"tags,omitempty"`
	// CreationTime and LastModifiedTime are stored in UTC with nanoseconds.
	CreationTime     time.Time `json:"creationTime"`
	LastModifiedTime time.Time `json:"lastModifiedTime"`
}

// Clone returns a deep copy of r, so that callers may change it without touching the original.
func (r *Record) Clone() *Record {
	c := *r
	c.Definition = bytes.Clone(r.Definition)
	if r.Tags != nil {
		c.Tags = maps.Clone(r.Tags)
	}
	return &c
}

// Store keeps pipe records. Every method honours ctx and is safe for concurrent use. Errors wrap the
// sentinels of errors.go (branch with errors.Is).
type Store interface {
	// Create stores a new record with Revision 1. It returns ErrExists when a pipe of that name is
	// stored and ErrQuota when maxPipes (> 0) records are stored already.
	Create(ctx context.Context, r *Record, maxPipes int) error
	// Get returns a copy of the record of a pipe, or ErrNotFound.
	Get(ctx context.Context, name string) (*Record, error)
	// Update reads a pipe's record, lets fn change it and writes it back with the next Revision,
	// compare-and-set: the write succeeds only if nobody wrote the record since fn saw it, otherwise
	// it returns ErrConflict (a store that serialises writes, like Bolt, never does). When fn returns
	// an error nothing is written and that error is returned (wrapped). fn must not change the Name.
	Update(ctx context.Context, name string, fn func(r *Record) error) (*Record, error)
	// Delete removes a pipe's record; it returns ErrNotFound when there is none.
	Delete(ctx context.Context, name string) error
	// List returns every record in name order.
	List(ctx context.Context) ([]*Record, error)
	// Count returns the number of stored records.
	Count(ctx context.Context) (int, error)
	// Watch calls fn with the name of every record that changes after the call (created, updated or
	// deleted), by any writer: this process, or in cluster mode another node. fn runs on a goroutine
	// of the store's, one call at a time and in the order of the writes; a slow fn delays later
	// notifications but never a writer. Watching ends when ctx ends or the store closes. Watch
	// returns at once.
	Watch(ctx context.Context, fn func(name string))
	// Close releases the store; the watchers stop.
	Close() error
}
