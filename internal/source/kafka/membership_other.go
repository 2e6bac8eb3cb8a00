//go:build !unix

package kafka

import "os"

// lockSlot without flock: the file is created exclusively and removed on release. A crashed process
// leaves its file behind, so its restart takes the next slot (a new instance ID) instead of reusing its
// own; set Config.InstanceID for restarts that reclaim their partitions at once.
func lockSlot(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o666)
	if os.IsExist(err) {
		return nil, errSlotTaken
	}
	if err != nil {
		return nil, err
	}
	return func() { f.Close(); os.Remove(path) }, nil
}
