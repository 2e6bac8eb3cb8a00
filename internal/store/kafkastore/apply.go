package kafkastore

import (
	"strconv"

	"github.com/sluicehq/sluice/internal/store"
)

// Operations a pipes-topic record carries in its op header.
const (
	opCreate   = "create"
	opUpdate   = "update"
	opDelete   = "delete"
	opReassert = "reassert"
)

// entry is what a node knows of one pipe name: its record when live, and the revision and token of the
// last write applied to it (kept for deleted names too, so that revisions never go back).
type entry struct {
	live  bool
	rev   uint64
	token string
	rec   *store.Record // nil when !live
}

// op is one decoded pipes-topic record.
type op struct {
	kind   string
	name   string
	rev    uint64
	token  string // the token of the state this record makes: its own, or for a reassert the winner's
	write  string // this record's own token, which its writer waits for
	expRev uint64 // update, delete: the revision and token the writer read
	expTok string
	max    int           // create: the pipe quota, checked against the live pipes at the record's place
	rec    *store.Record // create, update, live reassert; nil for delete and a reassert of a deletion
}

// apply decides whether o wins against cur, the entry before it (nil when the name was never seen), and
// returns the entry after it. Every node applies the same records in the same (log) order with this
// function, so all nodes agree on every winner without talking to each other:
//
//   - create wins when the name is not live and fewer than its quota (max, when > 0) pipes are live
//     (live is the number of live names before the record); quota reports that it lost to the quota;
//   - update and delete win when the name is live at exactly the revision and token the writer read
//     (compare-and-set; the token makes a deleted and re-created pipe's revisions distinct);
//   - reassert (written by a loser, see Store.reassert) wins when it is newer than what the node has,
//     or names the same revision by another token;
//   - an update, delete or reassert of a name never seen wins: the records before it were removed by
//     compaction, so it is the latest state there is (a node reading the full log never meets this case,
//     as a writer updates only a pipe whose create it has read).
func apply(cur *entry, o *op, live int) (next *entry, won, quota bool) {
	after := &entry{live: o.rec != nil, rev: o.rev, token: o.token, rec: o.rec}
	if o.kind == opCreate && (cur == nil || !cur.live) && o.max > 0 && live >= o.max {
		return cur, false, true
	}
	if cur == nil {
		return after, true, false
	}
	switch o.kind {
	case opCreate:
		if cur.live {
			return cur, false, false
		}
		return after, true, false
	case opUpdate, opDelete:
		if !cur.live || cur.rev != o.expRev || cur.token != o.expTok {
			return cur, false, false
		}
		return after, true, false
	case opReassert:
		if cur.rev < o.rev || (cur.rev == o.rev && cur.token != o.token) {
			return after, true, false
		}
		return cur, false, false
	}
	return cur, false, false
}

func parseRev(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
