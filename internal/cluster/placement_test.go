package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPlace(t *testing.T) {
	nodes := []string{"n1", "n2", "n3"}
	tests := []struct {
		name    string
		want    map[string]int
		current map[string][]string
		nodes   []string
		out     map[string][]string
	}{
		{"spreads new pipes", map[string]int{"a": 1, "b": 1, "c": 1, "d": 1}, nil, nodes,
			map[string][]string{"a": {"n1"}, "b": {"n2"}, "c": {"n3"}, "d": {"n1"}}},
		{"grows on other nodes", map[string]int{"a": 3}, map[string][]string{"a": {"n2"}}, nodes,
			map[string][]string{"a": {"n1", "n2", "n3"}}},
		{"capped by nodes", map[string]int{"a": 12}, nil, nodes,
			map[string][]string{"a": {"n1", "n2", "n3"}}},
		{"keeps members in place", map[string]int{"a": 1, "b": 2}, map[string][]string{"a": {"n2"}, "b": {"n1", "n3"}}, nodes,
			map[string][]string{"a": {"n2"}, "b": {"n1", "n3"}}},
		{"shrinks on the most loaded node", map[string]int{"a": 1, "b": 1}, map[string][]string{"a": {"n1", "n2"}, "b": {"n2"}}, nodes,
			map[string][]string{"a": {"n1"}, "b": {"n2"}}},
		{"moves members off a dead node", map[string]int{"a": 2, "b": 1}, map[string][]string{"a": {"n1", "n2"}, "b": {"n2"}}, []string{"n1", "n3"},
			map[string][]string{"a": {"n1", "n3"}, "b": {"n1"}}},
		{"drops pipes not wanted", map[string]int{"a": 1}, map[string][]string{"a": {"n1"}, "gone": {"n2"}}, nodes,
			map[string][]string{"a": {"n1"}}},
		{"evens out after a node joins", map[string]int{"a": 1, "b": 1, "c": 1, "d": 2}, map[string][]string{"a": {"n1"}, "b": {"n1"}, "c": {"n1"}, "d": {"n1", "n2"}}, nodes,
			map[string][]string{"a": {"n3"}, "b": {"n2"}, "c": {"n1"}, "d": {"n1", "n2"}}},
		{"zero members", map[string]int{"a": 0}, map[string][]string{"a": {"n1"}}, nodes,
			map[string][]string{"a": nil}},
		{"no nodes", map[string]int{"a": 1}, map[string][]string{"a": {"n1"}}, nil,
			map[string][]string{"a": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Place(tt.want, tt.current, tt.nodes)
			if diff := cmp.Diff(tt.out, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Place(%v, %v, %v) (-want +got):\n%s", tt.want, tt.current, tt.nodes, diff)
			}
		})
	}
}

func TestPlaceEven(t *testing.T) {
	// 30 single-member pipes on 3 nodes: 10 each.
	want := map[string]int{}
	for i := range 30 {
		want[string(rune('a'+i/26))+string(rune('a'+i%26))] = 1
	}
	load := map[string]int{}
	for _, ns := range Place(want, nil, []string{"n1", "n2", "n3"}) {
		for _, n := range ns {
			load[n]++
		}
	}
	if diff := cmp.Diff(map[string]int{"n1": 10, "n2": 10, "n3": 10}, load); diff != "" {
		t.Errorf("members per node (-want +got):\n%s", diff)
	}
}
