package store

import "errors"

// ErrNotFound is returned by Get, Update and Delete when no pipe of that name is stored.
var ErrNotFound = errors.New("pipe not found")

// ErrExists is returned by Create when a pipe of that name is stored already.
var ErrExists = errors.New("pipe already exists")

// ErrQuota is returned by Create when the store holds the maximum number of pipes.
var ErrQuota = errors.New("pipe quota reached")

// ErrFormat is returned when a stored record is of an unknown format version or is inconsistent.
var ErrFormat = errors.New("unsupported stored record format")

// ErrCorrupt is returned by Open when the database file is damaged (truncated, overwritten, not a
// bbolt file): the store cannot be used until the file is restored from a backup or moved aside.
var ErrCorrupt = errors.New("store file is damaged")

// ErrConflict is returned by Update when the record was written by someone else between the read and
// the write (compare-and-set on Record.Revision); the caller may read again and retry.
var ErrConflict = errors.New("pipe was changed concurrently")
