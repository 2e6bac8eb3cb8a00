package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file inside the data directory.
const FileName = "sluice.db"

var bucketPipes = []byte("pipes")

// Bolt is the embedded Store of a single node. It is safe for concurrent use.
//
// Bolt keeps the records in one embedded bbolt file. Every change is one bbolt read-write transaction,
// so a crash leaves either the old record or the new one, never half of either; bbolt fsyncs before a
// transaction returns. Records are stored as JSON (one key per pipe name in the "pipes" bucket) with a
// format version, so that the file can be read by later versions and inspected with bbolt tools;
// bolt_test.go holds a golden copy of the format.
type Bolt struct {
	db   *bolt.DB
	path string
	// wmu orders the writes with their notifications: bbolt serialises write transactions, and
	// notifying while still holding wmu keeps the watchers' order the order of the commits.
	wmu      sync.Mutex
	watchers Watchers
}

var _ Store = (*Bolt)(nil)

// Open opens (creating when needed) the store in dir, which is created with mode 0700 when missing.
// Only one process may hold the file: a second Open waits up to timeout, then fails. A damaged file
// (ErrCorrupt) is reported as one error that names it and says what to do, whether bbolt returns an
// error or panics on it: Open reads every record once, so that damage shows here and not later, in the
// middle of serving.
func Open(dir string, timeout time.Duration) (*Bolt, error) {
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
	return &Bolt{db: db, path: path}, nil
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
func (s *Bolt) Path() string { return s.path }

// Close stops the watchers and closes the database file.
func (s *Bolt) Close() error {
	s.watchers.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing store %s: %w", s.path, err)
	}
	return nil
}

// Create stores a new record with Revision 1 (r.Revision is set). It returns ErrExists when a pipe of
// that name exists and ErrQuota when maxPipes (> 0) records are stored already; both checks happen in
// the same transaction as the write.
func (s *Bolt) Create(ctx context.Context, r *Record, maxPipes int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("creating pipe %s: %w", r.Name, err)
	}
	c := *r
	c.Revision = 1
	data, err := encode(&c)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
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
	r.Revision = 1
	s.watchers.Notify(r.Name)
	return nil
}

// Get returns the record of a pipe, or ErrNotFound.
func (s *Bolt) Get(ctx context.Context, name string) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading pipe %s: %w", name, err)
	}
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

// Update reads a pipe's record, lets fn change it, and writes it back with the next Revision, all in
// one transaction: fn sees the latest record and nobody else writes in between, so Bolt never answers
// ErrConflict. When fn returns an error nothing is written and that error is returned (wrapped). fn
// must not change the record's Name.
func (s *Bolt) Update(ctx context.Context, name string, fn func(r *Record) error) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("updating pipe %s: %w", name, err)
	}
	var out *Record
	s.wmu.Lock()
	defer s.wmu.Unlock()
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
		rev := r.Revision
		if err := fn(r); err != nil {
			return err
		}
		r.Revision = rev + 1
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
	s.watchers.Notify(name)
	return out.Clone(), nil
}

// Delete removes a pipe's record; it returns ErrNotFound when there is none.
func (s *Bolt) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting pipe %s: %w", name, err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
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
	s.watchers.Notify(name)
	return nil
}

// List returns every record in name order (bbolt keeps keys sorted bytewise).
func (s *Bolt) List(ctx context.Context) ([]*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing pipes: %w", err)
	}
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
func (s *Bolt) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("counting pipes: %w", err)
	}
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

// Watch calls fn with the name of every record this process creates, updates or deletes from now on
// (a bbolt file has one writer, this process), in commit order; see Store.Watch.
func (s *Bolt) Watch(ctx context.Context, fn func(name string)) { s.watchers.Add(ctx, fn) }

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
