//! A linear-time, spec-complete Server-Sent Events decoder.
