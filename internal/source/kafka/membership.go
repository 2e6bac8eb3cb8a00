package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Static group membership (KIP-345): the source joins with a group.instance.id, so that a member
// restarted after a crash takes its partitions back at once, instead of the group waiting out the dead
// member's session timeout and then rebalancing. A clean stop leaves the group explicitly (franz-go does
// not send LeaveGroup for static members), so the partitions move to another member at once; a crash
// keeps them reserved for the session timeout, or until the restarted member reclaims them.

// maxInstanceSlots is how many automatic instance IDs one host uses for one consumer group.
const maxInstanceSlots = 64

// maxInstanceIDLen is Kafka's limit on group.instance.id.
const maxInstanceIDLen = 249

// instanceIDChars are the characters Kafka accepts in a group.instance.id.
const instanceIDChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

// CheckInstanceID returns an error unless id is a group.instance.id Kafka accepts: 1..249 characters of
// [a-zA-Z0-9._-].
func CheckInstanceID(id string) error {
	if id == "" || len(id) > maxInstanceIDLen || strings.Trim(id, instanceIDChars) != "" {
		return fmt.Errorf("InstanceID %q is not 1..%d of [a-zA-Z0-9._-]", id, maxInstanceIDLen)
	}
	return nil
}

// instanceLockDir is where the automatic instance IDs' slot locks live.
func instanceLockDir() string { return filepath.Join(os.TempDir(), "sluice-members") }

// claimInstanceID returns the instance ID Run joins with and a release function to call when Run
// returns. An explicit Config.InstanceID is used as it is. Otherwise the ID is
// "<group>-<hostname>" (slot 0) or "<group>-<hostname>-<n>": the lowest slot whose lock file this
// process can lock. A restart on the same host finds the crashed process's lock released (the kernel
// drops it with the process) and reuses its ID; a second process for the same group on the same host
// takes the next slot, so the two do not fence each other.
func (s *Source) claimInstanceID() (string, func(), error) {
	if s.cfg.InstanceID != "" {
		return s.cfg.InstanceID, func() {}, nil
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	base := instanceIDBase(s.group, host)
	dir := instanceLockDir()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", nil, fmt.Errorf("creating the instance ID lock directory %s: %w", dir, err)
	}
	sum := sha256.Sum256([]byte(base))
	prefix := hex.EncodeToString(sum[:10])
	for slot := 0; slot < maxInstanceSlots; slot++ {
		path := filepath.Join(dir, prefix+"-"+strconv.Itoa(slot)+".lock")
		release, err := lockSlot(path)
		if errors.Is(err, errSlotTaken) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("locking the instance ID slot %s: %w", path, err)
		}
		id := base
		if slot > 0 {
			id += "-" + strconv.Itoa(slot)
		}
		return id, release, nil
	}
	return "", nil, fmt.Errorf("all %d instance IDs of group %s on this host are in use (lock files in %s)", maxInstanceSlots, s.group, dir)
}

// errSlotTaken is returned by lockSlot when another process (or Source) holds the slot.
var errSlotTaken = errors.New("slot taken")

// instanceIDBase is "<group>-<host>" limited to the characters and length Kafka accepts for an
// instance ID ([a-zA-Z0-9._-], 249), leaving room for a slot suffix; a name cut short ends in a hash of
// the whole so that distinct groups stay distinct.
func instanceIDBase(group, host string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
				return r
			}
			return '_'
		}, s)
	}
	id := clean(group) + "-" + clean(host)
	const room = maxInstanceIDLen - 3 // "-63"
	if len(id) > room {
		sum := sha256.Sum256([]byte(group + "\x00" + host))
		h := hex.EncodeToString(sum[:8])
		id = id[:room-len(h)-1] + "-" + h
	}
	return id
}

// leaveGroup sends LeaveGroup for this static member, so that the group reassigns its partitions at
// once. It is called after the group management stopped (LeaveGroupContext), so the client does not
// rejoin behind it. A member the group no longer knows has left already.
func (s *Source) leaveGroup(ctx context.Context, cl *kgo.Client, memberID string) error {
	if memberID == "" {
		return nil // never joined
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = s.group
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = memberID
	m.InstanceID = kmsg.StringPtr(s.instanceID)
	reason := "sluice: the pipe's source stopped"
	m.Reason = &reason
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	err = kerr.ErrorForCode(resp.ErrorCode)
	for _, m := range resp.Members {
		if err == nil {
			err = kerr.ErrorForCode(m.ErrorCode)
		}
	}
	if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.GroupIDNotFound) {
		err = nil
	}
	return err
}
