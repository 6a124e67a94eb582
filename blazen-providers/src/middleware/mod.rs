//! Middleware: decorators over any [`Provider`](crate::Provider) that return a
//! [`CompletionModel`](crate::CompletionModel) again, so they compose in any order. The first
//! added is the outermost.

pub(crate) mod cache;
pub(crate) mod fallback;
pub(crate) mod retry;
pub(crate) mod timeout;

pub use cache::CacheConfig;
pub use retry::RetryConfig;
