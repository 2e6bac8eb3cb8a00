package cluster

import "fmt"

// Direction is what a scaling decision does to a pipe's member count.
type Direction int

const (
	Hold Direction = iota
	Up
	Down
)

func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "hold"
}

// Reasons of scaling decisions: the label of sluice_cluster_scaling_decisions_total and the "reason" of
// the decision's log line.
const (
	ReasonLagGrowing     = "lag_growing"     // the lag grew (or stayed above HighLag) since the last check
	ReasonLagIdle        = "lag_idle"        // the lag stayed near zero for IdleChecks checks
	ReasonTargetOverload = "target_overload" // the target kept answering throttled on the last check
	ReasonAtMax          = "at_max"          // the lag grows but every partition (or node) has a member
	ReasonStable         = "stable"          // nothing to change
	ReasonStart          = "start"           // a running pipe without members gets its first
	ReasonOverMax        = "over_max"        // fewer partitions or nodes than members: trimmed
)

// ScalePolicy are the thresholds of Decide; zero values take the defaults.
type ScalePolicy struct {
	// IdleLag is the total lag counted as "near zero" (default 10 records).
	IdleLag int64
	// IdleChecks is how many checks in a row the lag must stay near zero before a member is removed
	// (default 2), so that one quiet minute does not undo the previous scale-up.
	IdleChecks int
	// HighLag is a total lag above which the pipe grows even when the lag does not grow between two
	// checks (a steady backlog the current members do not reduce); default 1000.
	HighLag int64
	// DrainFraction: a lag above HighLag that fell by at least this fraction since the last check is
	// draining and does not grow the pipe (default 0.5).
	DrainFraction float64
}

func (p ScalePolicy) withDefaults() ScalePolicy {
	if p.IdleLag == 0 {
		p.IdleLag = 10
	}
	if p.IdleChecks == 0 {
		p.IdleChecks = 2
	}
	if p.HighLag == 0 {
		p.HighLag = 1000
	}
	if p.DrainFraction == 0 {
		p.DrainFraction = 0.5
	}
	return p
}

// Sample is what the leader knows of one running pipe at a check.
type Sample struct {
	Members    int   // members placed now
	Partitions int   // partitions of the source topic
	Nodes      int   // live nodes
	Lag        int64 // total lag now (end offsets minus committed offsets, over every partition)
	PrevLag    int64 // total lag at the previous check; -1 when this is the first
	IdleRun    int   // checks in a row, before this one, whose lag was at most IdleLag
	Throttled  int64 // executions throttled by the target since the previous check, summed over nodes
}

// Decision is the outcome of Decide.
type Decision struct {
	Direction Direction
	Members   int    // the member count after the decision
	Reason    string // one of the Reason constants
	IdleRun   int    // the IdleRun to pass with the next sample
}

func (d Decision) String() string {
	return fmt.Sprintf("%s to %d (%s)", d.Direction, d.Members, d.Reason)
}

// Decide is the scaling rule, pure so that it is table-tested: at most one member more or fewer per
// check, never fewer than one, never more than the partitions or the live nodes. A target that keeps
// signalling overload shrinks the pipe first: more consumers would only press it harder.
func Decide(s Sample, p ScalePolicy) Decision {
	p = p.withDefaults()
	max := min(s.Partitions, s.Nodes)
	if max < 1 {
		max = 1
	}
	idle := 0
	if s.Lag <= p.IdleLag {
		idle = s.IdleRun + 1
	}
	d := Decision{Direction: Hold, Members: s.Members, Reason: ReasonStable, IdleRun: idle}
	switch {
	case s.Members < 1:
		d.Direction, d.Members, d.Reason = Up, 1, ReasonStart
	case s.Members > max:
		d.Direction, d.Members, d.Reason = Down, max, ReasonOverMax
	case s.Throttled > 0:
		if s.Members > 1 {
			d.Direction, d.Members = Down, s.Members-1
		}
		d.Reason = ReasonTargetOverload
	case idle >= p.IdleChecks:
		if s.Members > 1 {
			d.Direction, d.Members, d.IdleRun = Down, s.Members-1, 0
		}
		d.Reason = ReasonLagIdle
	case s.Lag > p.IdleLag && s.PrevLag >= 0 && growing(s, p):
		d.Reason = ReasonLagGrowing
		if s.Members < max {
			d.Direction, d.Members = Up, s.Members+1
		} else {
			d.Reason = ReasonAtMax
		}
	}
	return d
}

// growing reports whether the lag grew since the last check, or stays high without draining.
func growing(s Sample, p ScalePolicy) bool {
	if s.Lag > s.PrevLag {
		return true
	}
	return s.Lag > p.HighLag && float64(s.PrevLag-s.Lag) < p.DrainFraction*float64(s.PrevLag)
}
