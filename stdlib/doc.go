// Package stdlib holds stepping's built-in functions, operators and
// aggregates in one table that both the type checker and the runtime read,
// as cel-go keeps its overloads: a function's signature (how argument types
// give the result type) sits beside its implementation.
//
// Implementations are bound once per call site to the argument types the
// checker found, so no per-row work goes into choosing an overload.
package stdlib
