//! The one poison-tolerant lock the runtime and its stores use.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, recovering the data of a poisoned lock.
///
/// Poisoning only means that a panic happened elsewhere while the lock was held. Every
/// structure the runtime guards this way is changed by single inserts, removes or pushes that
/// leave it consistent, so recovering beats failing every later step or request of the run.
pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
