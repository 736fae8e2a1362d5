//! Nothing but tests: `tests/faults` runs the local production topology of
//! `deploy/local/` (real processes in their own network namespace, HAProxy as the
//! ingress) and breaks it while clients keep asking for tokens.
#![forbid(unsafe_code)]
