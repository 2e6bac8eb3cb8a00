package cluster

import (
	"slices"
	"sort"
)

// Place returns the nodes each pipe's members run on: want is the member count per pipe, current
// the placement now, nodes the live nodes. It is pure and deterministic (ties go to the smaller node
// ID), so every leader computes the same placement from the same inputs:
//
//   - a member stays where it is while its node lives (its partitions stay put);
//   - a pipe has at most one member per node, so it never has more members than live nodes;
//   - a pipe that grows gets its new member on the least loaded node (fewest members of any pipe)
//     holding none of its members; one that shrinks loses the member on the most loaded node.
//
// Pipes are placed in name order, so the load of earlier pipes steers later ones and members spread
// evenly over the nodes.
func Place(want map[string]int, current map[string][]string, nodes []string) map[string][]string {
	live := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		live[n] = true
	}
	sortedNodes := slices.Clone(nodes)
	sort.Strings(sortedNodes)
	load := make(map[string]int, len(nodes))
	out := make(map[string][]string, len(want))
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	// Keep the members on live nodes first, so that the load seen when adding or removing counts them.
	for _, name := range names {
		var kept []string
		for _, n := range current[name] {
			if live[n] && !slices.Contains(kept, n) {
				kept = append(kept, n)
				load[n]++
			}
		}
		out[name] = kept
	}
	for _, name := range names {
		target := min(want[name], len(sortedNodes))
		members := out[name]
		for len(members) > target {
			i := mostLoaded(members, load)
			load[members[i]]--
			members = slices.Delete(members, i, i+1)
		}
		for len(members) < target {
			n := leastLoaded(sortedNodes, members, load)
			load[n]++
			members = append(members, n)
		}
		out[name] = members
	}
	// Even out: a node that joined, or pipes placed while fewer nodes lived, leave the load uneven;
	// move members from the most to the least loaded node until they differ by at most one.
	for moved := true; moved && len(sortedNodes) > 1; {
		moved = false
		hi, lo := sortedNodes[0], sortedNodes[0]
		for _, n := range sortedNodes {
			if load[n] > load[hi] {
				hi = n
			}
			if load[n] < load[lo] {
				lo = n
			}
		}
		if load[hi]-load[lo] <= 1 {
			break
		}
		for _, name := range names {
			members := out[name]
			if i := slices.Index(members, hi); i >= 0 && !slices.Contains(members, lo) {
				members[i] = lo
				load[hi]--
				load[lo]++
				moved = true
				break
			}
		}
	}
	for _, name := range names {
		sort.Strings(out[name])
	}
	return out
}

func mostLoaded(members []string, load map[string]int) int {
	best := 0
	for i, n := range members {
		if load[n] > load[members[best]] || (load[n] == load[members[best]] && n > members[best]) {
			best = i
		}
	}
	return best
}

func leastLoaded(nodes, exclude []string, load map[string]int) string {
	best := ""
	for _, n := range nodes {
		if slices.Contains(exclude, n) {
			continue
		}
		if best == "" || load[n] < load[best] {
			best = n
		}
	}
	return best
}
