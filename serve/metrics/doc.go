// Package metrics keeps the Prometheus metrics of stepq serve: steps
// applied, rows in per table and out per view, step durations, the
// changes pending, the lag, and the HTTP requests served, with the Go
// runtime's and the process's own, and serves them at /metrics.
//
// Each Metrics has its own registry: nothing is registered globally, so
// several servers (or tests) in one process keep separate counts. The
// package owns the names and labels; what a step or a lag is, the server
// says through the Observe and Set methods.
package metrics
