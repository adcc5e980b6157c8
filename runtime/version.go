package runtime

// Semantics is the version of what the runtime makes of a circuit: how
// its operators compute, what their state holds, how values are encoded.
// It is part of every program's version, so bump it whenever a change to
// the runtime would make state built before it wrong to resume: every
// program's state is then rebuilt rather than mixed with the new meaning.
const Semantics = 1
