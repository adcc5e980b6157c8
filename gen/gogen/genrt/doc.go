// Package genrt is what the Go code stepq gen go writes stands on: the
// conversion of its typed rows to and from the values of package types,
// their JSON as docs/serve.md writes it, and the HTTP plumbing of its
// typed client (requests, errors, the Server-Sent Events of change
// streams with Last-Event-ID resume).
//
// Generated code calls it; people call the generated code. It imports
// no part of the engine (only package types), so a program that uses
// only a generated client links no engine and no database driver.
package genrt
