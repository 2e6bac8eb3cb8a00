// Package store keeps pipe records — the definition a client sent, the desired and current lifecycle
// states, the state reason, tags and timestamps — in one embedded bbolt file under the server's data
// directory.
//
// Every change is one bbolt read-write transaction, so a crash leaves either the old record or the new
// one, never half of either; bbolt fsyncs before a transaction returns. Records are stored as JSON (one
// key per pipe name in the "pipes" bucket) with a format version, so that the file can be read by
// later versions and inspected with bbolt tools; store_test.go holds a golden copy of the format.
//
// The store knows nothing of pipe semantics: validation, the state machine and merging happen in
// internal/api before a record is written. The definition is kept as the JSON document the API
// produced from the request (references to secrets only, never resolved secret values).
package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file inside the data directory.
const FileName = "sluice.db"

// FormatVersion is the version of the stored record format written by this code.
const FormatVersion = 1

var bucketPipes = []byte("pipes")

// Record is one pipe as stored.
type Record struct {
	// Version is the stored format version (FormatVersion when written by this code).
	Version int `json:"version"`
	// Revision is bumped by every write; Update is compare-and-set on it.
	Revision uint64 `json:"revision"`
	// Name is the pipe name, also the record key.
	Name string `json:"name"`
	// Definition is the pipe definition as JSON (CreatePipe member names), defaults applied.
	Definition json.RawMessage `json:"definition"`
	// DesiredState is RUNNING, STOPPED or DELETED.
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
		c.Tags = make(map[string]string, len(r.Tags))
		for k, v := range r.Tags {
			c.Tags[k] = v
		}
	}
	return &c
}

// Store is the embedded pipe store. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens (creating when needed) the store in dir, which is created with mode 0700 when missing.
// Only one process may hold the file: a second Open waits up to timeout, then fails. A damaged file
// (ErrCorrupt) is reported as one error that names it and says what to do, whether bbolt returns an
// error or panics on it: Open reads every record once, so that damage shows here and not later, in the
// middle of serving.
func Open(dir string, timeout time.Duration) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := openChecked(path, timeout)
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("opening store %s: %w (is another sluice serve using this data directory?)", path, err)
		}
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("opening store %s: %w; restore the file from a backup, or move it aside "+
				"to start with an empty store (the pipes it held are then lost)", path, err)
		}
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// openChecked opens the bbolt file, reads every record once and creates the pipes bucket. bbolt's
// panics on a damaged file ("invalid freelist page", "invalid page type") and its errors about the
// file's content become an error wrapping ErrCorrupt and the cause.
func openChecked(path string, timeout time.Duration) (db *bolt.DB, err error) {
	// bbolt maps the file into memory; a truncated file can make it read past the end of the mapping,
	// a fault the runtime would otherwise treat as fatal. In this goroutine, while opening, it becomes
	// a panic that the recover below turns into an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				closeQuietly(db)
			}
			db, err = nil, fmt.Errorf("%w (bbolt: %v)", ErrCorrupt, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		// Not being able to open or lock the file says nothing about its content; every other error
		// of bolt.Open does (bad magic, version or checksum, a file shorter than its header).
		var pe *fs.PathError
		if errors.Is(err, bolterrors.ErrTimeout) || errors.As(err, &pe) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	// Read before writing, so that a damaged file is not written to.
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPipes)
		if b == nil {
			return nil
		}
		var sum byte
		return b.ForEach(func(k, v []byte) error {
			for _, c := range v { // touch the value's pages (long values sit on overflow pages)
				sum += c
			}
			return nil
		})
	})
	if err != nil {
		closeQuietly(db)
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketPipes)
		return err
	})
	if err != nil {
		closeQuietly(db)
		return nil, fmt.Errorf("creating the pipes bucket: %w", err)
	}
	return db, nil
}

// closeQuietly closes a database that failed its checks; on a damaged file closing may panic as well.
func closeQuietly(db *bolt.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes the database file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing store %s: %w", s.path, err)
	}
	return nil
}

// Create stores a new record. It returns ErrExists when a pipe of that name exists and ErrQuota when
// maxPipes (> 0) records are stored already; both checks happen in the same transaction as the write.
func (s *Store) Create(r *Record, maxPipes int) error {
	data, err := encode(r)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPipes)
		if b.Get([]byte(r.Name)) != nil {
			return ErrExists
		}
		if maxPipes > 0 && b.Stats().KeyN >= maxPipes {
			return ErrQuota
		}
		return b.Put([]byte(r.Name), data)
	})
	if err != nil {
		return fmt.Errorf("creating pipe %s: %w", r.Name, err)
	}
	return nil
}

// Get returns the record of a pipe, or ErrNotFound.
func (s *Store) Get(name string) (*Record, error) {
	var r *Record
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketPipes).Get([]byte(name))
		if data == nil {
			return ErrNotFound
		}
		var err error
		r, err = decode(name, data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading pipe %s: %w", name, err)
	}
	return r, nil
}

// Update reads a pipe's record, lets fn change it, and writes it back, all in one transaction: fn sees
// the latest record and nobody else writes in between. When fn returns an error nothing is written
// and that error is returned (wrapped). fn must not change the record's Name.
func (s *Store) Update(name string, fn func(r *Record) error) (*Record, error) {
	var out *Record
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPipes)
		data := b.Get([]byte(name))
		if data == nil {
			return ErrNotFound
		}
		r, err := decode(name, data)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		if r.Name != name {
			return fmt.Errorf("renaming a record (%s to %s) is not supported", name, r.Name)
		}
		data, err = encode(r)
		if err != nil {
			return err
		}
		out = r
		return b.Put([]byte(name), data)
	})
	if err != nil {
		return nil, fmt.Errorf("updating pipe %s: %w", name, err)
	}
	return out, nil
}

// Delete removes a pipe's record; it returns ErrNotFound when there is none.
func (s *Store) Delete(name string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPipes)
		if b.Get([]byte(name)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("deleting pipe %s: %w", name, err)
	}
	return nil
}

// List returns every record in name order (bbolt keeps keys sorted bytewise).
func (s *Store) List() ([]*Record, error) {
	var out []*Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPipes).ForEach(func(k, v []byte) error {
			r, err := decode(string(k), v)
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing pipes: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Count returns the number of stored pipes.
func (s *Store) Count() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketPipes).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counting pipes: %w", err)
	}
	return n, nil
}

func encode(r *Record) ([]byte, error) {
	if r.Name == "" {
		return nil, errors.New("encoding pipe record: empty name")
	}
	if len(r.Definition) == 0 || !json.Valid(r.Definition) {
		return nil, fmt.Errorf("encoding pipe %s: definition is not valid JSON", r.Name)
	}
	c := *r
	c.Version = FormatVersion
	c.CreationTime = r.CreationTime.UTC()
	c.LastModifiedTime = r.LastModifiedTime.UTC()
	data, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encoding pipe %s: %w", r.Name, err)
	}
	return data, nil
}

func decode(name string, data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding stored pipe %s: %w", name, err)
	}
	if r.Version < 1 || r.Version > FormatVersion {
		return nil, fmt.Errorf("decoding stored pipe %s: %w: version %d (this build reads up to %d)", name, ErrFormat, r.Version, FormatVersion)
	}
	if r.Name != name {
		return nil, fmt.Errorf("decoding stored pipe %s: %w: record names %q", name, ErrFormat, r.Name)
	}
	return &r, nil
}
