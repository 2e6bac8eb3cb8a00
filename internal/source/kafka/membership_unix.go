//go:build unix

package kafka

import (
	"errors"
	"os"
	"syscall"
)

// lockSlot takes an exclusive, non-blocking flock on path, held until release is called or the
// process ends (a kill -9 included). Locks belong to the open file, so two Sources in one process
// exclude each other too.
func lockSlot(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errSlotTaken
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}
