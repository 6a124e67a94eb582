//! The error model shared by every provider.
