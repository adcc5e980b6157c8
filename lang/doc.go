// Package lang owns the surface syntax of stepping's .step language: the
// lexer, the participle grammar, the abstract syntax tree with source
// positions, and positioned diagnostics.
//
// It knows nothing of types or of execution: package typecheck gives the
// tree its meaning, and package ir turns the typed result into a circuit.
// Parse errors and every later diagnostic share one printed form,
//
//	file:line:col: message
//	    source line
//	    ^^^^
//
// produced by Error.Format.
package lang
