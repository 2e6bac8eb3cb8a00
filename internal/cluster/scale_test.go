package cluster

import "testing"

func TestDecide(t *testing.T) {
	p := ScalePolicy{IdleLag: 10, IdleChecks: 2, HighLag: 1000, DrainFraction: 0.5}
	tests := []struct {
		name string
		s    Sample
		want Decision
	}{
		{"first member", Sample{Members: 0, Partitions: 12, Nodes: 3, PrevLag: -1},
			Decision{Up, 1, ReasonStart, 1}},
		{"first check holds", Sample{Members: 1, Partitions: 12, Nodes: 3, Lag: 5000, PrevLag: -1},
			Decision{Hold, 1, ReasonStable, 0}},
		{"lag grows", Sample{Members: 1, Partitions: 12, Nodes: 3, Lag: 600, PrevLag: 400},
			Decision{Up, 2, ReasonLagGrowing, 0}},
		{"steady high lag grows", Sample{Members: 2, Partitions: 12, Nodes: 3, Lag: 5000, PrevLag: 5200},
			Decision{Up, 3, ReasonLagGrowing, 0}},
		{"high lag draining holds", Sample{Members: 2, Partitions: 12, Nodes: 3, Lag: 2000, PrevLag: 5000},
			Decision{Hold, 2, ReasonStable, 0}},
		{"low lag shrinking holds", Sample{Members: 2, Partitions: 12, Nodes: 3, Lag: 300, PrevLag: 400},
			Decision{Hold, 2, ReasonStable, 0}},
		{"lag grows at node max", Sample{Members: 3, Partitions: 12, Nodes: 3, Lag: 900, PrevLag: 100},
			Decision{Hold, 3, ReasonAtMax, 0}},
		{"lag grows at partition max", Sample{Members: 2, Partitions: 2, Nodes: 3, Lag: 900, PrevLag: 100},
			Decision{Hold, 2, ReasonAtMax, 0}},
		{"idle once holds", Sample{Members: 3, Partitions: 12, Nodes: 3, Lag: 3, PrevLag: 500},
			Decision{Hold, 3, ReasonStable, 1}},
		{"idle twice shrinks", Sample{Members: 3, Partitions: 12, Nodes: 3, Lag: 0, PrevLag: 3, IdleRun: 1},
			Decision{Down, 2, ReasonLagIdle, 0}},
		{"idle at one member holds", Sample{Members: 1, Partitions: 12, Nodes: 3, Lag: 0, PrevLag: 0, IdleRun: 5},
			Decision{Hold, 1, ReasonLagIdle, 6}},
		{"throttled shrinks despite lag", Sample{Members: 3, Partitions: 12, Nodes: 3, Lag: 9000, PrevLag: 100, Throttled: 40},
			Decision{Down, 2, ReasonTargetOverload, 0}},
		{"throttled at one member holds", Sample{Members: 1, Partitions: 12, Nodes: 3, Lag: 9000, PrevLag: 100, Throttled: 1},
			Decision{Hold, 1, ReasonTargetOverload, 0}},
		{"node lost trims", Sample{Members: 3, Partitions: 12, Nodes: 2, Lag: 9000, PrevLag: 100},
			Decision{Down, 2, ReasonOverMax, 0}},
		{"no nodes keeps one", Sample{Members: 1, Partitions: 12, Nodes: 0, Lag: 9000, PrevLag: 100},
			Decision{Hold, 1, ReasonAtMax, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.s, p); got != tt.want {
				t.Errorf("Decide(%+v) = %+v, want %+v", tt.s, got, tt.want)
			}
		})
	}
}

func TestDecideDefaults(t *testing.T) {
	// The zero policy takes the documented defaults: 10 records idle, two idle checks.
	d := Decide(Sample{Members: 2, Partitions: 4, Nodes: 2, Lag: 10, PrevLag: 10, IdleRun: 1}, ScalePolicy{})
	if d.Direction != Down || d.Reason != ReasonLagIdle {
		t.Errorf("Decide with the default policy = %v, want down (lag_idle)", d)
	}
}
