//! Workflows: a validated set of steps, run by the event router.
