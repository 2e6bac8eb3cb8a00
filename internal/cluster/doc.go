// Package cluster distributes running pipes over the nodes of a Sluice cluster and scales each pipe's
// consumers by lag, as Pipes does: one member at first, one more while the lag grows (up to one per
// partition), one fewer when the lag stays near zero or the target keeps signalling overload.
//
// Nothing here is home-made consensus; Kafka decides:
//
//   - Election (election.go). Every node joins one consumer group on a one-partition control topic,
//     "<prefix>-control", with its node ID as client ID. The broker's group protocol assigns the single
//     partition to exactly one member: that member is the placement leader. When it leaves (a clean
//     stop sends LeaveGroup) or dies (its session times out, 10 s by default), the broker assigns the
//     partition to another member, whose OnPartitionsAssigned makes it leader. The group's members,
//     as the broker describes them, are the live nodes.
//   - Placement (placement.go, pure). The leader keeps a pipe's members where they are while their
//     node lives, adds new ones on the least loaded nodes that hold none of that pipe, and removes
//     from the most loaded; a pipe has at most one member per node.
//   - Scaling (scale.go, pure). Decide turns one lag sample and the target's overload signal into
//     +1, -1 or hold, with a reason that is logged and counted.
//   - Assignment (assign.go). The leader publishes every pipe's member nodes, and every node its
//     status (the target's throttling per pipe), as keyed JSON records on the compacted topic
//     "<prefix>-assignments", which every node reads from the start. A record carries the leader's
//     control-group generation; readers ignore records from an older generation, so a deposed leader
//     that still writes cannot undo its successor.
//
// A node runs the members the assignment gives it (Node.Run calls its Apply callback); all members
// of a pipe join the pipe's own consumer group with the static group.instance.id "<group>-<node>", so
// Kafka's group protocol spreads the partitions among them and a restarted node takes its partitions
// back at once.
package cluster
