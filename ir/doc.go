// Package ir is stepping's intermediate representation: a circuit of Z-set
// operators in the DBSP style, lowered from a checked program.
//
// Lowering produces the incremental form directly. Linear operators
// (filter, map, union all) pass changes through; a join reads the
// delayed integrals of both inputs, Δ(a⋈b) = Δa⋈Δb + Δa⋈z⁻¹(I b) +
// z⁻¹(I a)⋈Δb, where each integral is an Integrate node indexed by the
// join key; distinct reads the delayed integral of its input indexed by the
// whole row; except and intersect read both sides' delayed integrals
// indexed by the whole row; an aggregate, and a top, keeps per-group
// state. A recursive view is a Fixpoint node whose body is a nested
// circuit (nodes of the same list, marked as its body) that the runtime
// iterates within a step; parts of the body that do not depend on the
// view are outer nodes brought in by Import nodes. The runtime's clock is
// a source of one row (Clock): an operator whose expressions read now()
// reads its input joined with it, and a filter of bounds relative to the
// clock is a TemporalFilter over integrals ordered by the bounded
// expression, so a move of the clock touches only the rows crossing a
// bound. Package runtime executes a circuit one step at a time; this
// package only describes it, and renders it for `stepq explain`.
//
// Per-row expressions are compiled here, once, into closures (Scalar), so
// no syntax or type checking happens while rows flow.
package ir
