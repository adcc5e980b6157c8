// Package postgres is stepping's Postgres backend. Store keeps a
// circuit's operator state in tables of the program's own schema, so the
// engine of package runtime can step over it set at a time; Runner owns
// everything else that keeps a program running beside someone else's
// database:
//
//   - installing it: the rights it needs checked first, the program's
//     schema, state and change-log tables, output tables it records as its
//     own, capture triggers on the sources and the backfill of their rows;
//   - applying the change log: whole source transactions per step,
//     consolidated in the server and applied in chunks of bounded size
//     inside one transaction, exactly once across crashes;
//   - failing well: transient errors retried, anything else (bad data,
//     schema drift) stopping the runner with its cause named;
//   - publishing: each step's statistics and NOTIFY, its output changes
//     while a registered watcher listens (kept within bounds of steps,
//     rows and age), Status, and the advisory lock that lets one runner
//     apply a program at a time;
//   - removing it, touching nothing it did not create.
//
// spec.md section 12 states what it guarantees.
package postgres
