//! Durable runs: snapshots and checkpoint stores.
