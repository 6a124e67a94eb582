//! The fingerprint of a workflow's graph, written into its snapshots.

use super::Step;

/// The fingerprint of a workflow graph: a stable hash over its steps with the events they
/// accept and emit.
///
/// It depends on each step's name and the routing names of its accepted, emitted and
/// waited-for events; not on the order of steps or events, on the Rust module an event type lives in,
/// on concurrency limits or timeouts, nor on the process (no random hashing). The form is
/// `v1:` followed by the 32 hex digits of a 128-bit FNV-1a hash of a canonical listing.
///
/// ```
/// use blazen::prelude::*;
/// use blazen::persist::fingerprint;
/// use blazen::{EventInfo, StepOutput};
///
/// let a = Step::new("a", |_c, _e| async { Ok(StepOutput::None) })
///     .accepts(EventInfo::of::<StartEvent>())
///     .emits(EventInfo::named("Mid"));
/// let b = Step::new("b", |_c, _e| async { Ok(StepOutput::None) })
///     .accepts(EventInfo::named("Mid"))
///     .emits(EventInfo::of::<StopEvent>());
/// assert_eq!(fingerprint(&[a.clone(), b.clone()]), fingerprint(&[b, a]));
/// ```
pub fn fingerprint<'a>(steps: impl IntoIterator<Item = &'a Step>) -> String {
    let mut listing: Vec<String> = steps
        .into_iter()
        .map(|step| {
            let names = |events: &[crate::EventInfo]| {
                let mut names: Vec<&str> = events.iter().map(|e| e.name.as_ref()).collect();
                names.sort_unstable();
                names.dedup();
                names.join(",")
            };
            // Length-prefix the free-form step name so no name can imitate the separators.
            let mut line = format!(
                "{}:{}|accepts={}|emits={}",
                step.name().len(),
                step.name(),
                names(step.accepted()),
                names(step.emitted())
            );
            // Only when present, so fingerprints of workflows without waits stay as they were.
            if !step.awaited().is_empty() {
                line.push_str("|waits=");
                line.push_str(&names(step.awaited()));
            }
            line
        })
        .collect();
    listing.sort_unstable();
    format!("v1:{:032x}", fnv1a128(listing.join("\n").as_bytes()))
}

/// The 128-bit FNV-1a hash.
fn fnv1a128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, &b| {
        (hash ^ u128::from(b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventInfo, StartEvent, StopEvent};
    use crate::step::StepOutput;

    fn step(name: &'static str, accepts: &[&'static str], emits: &[&'static str]) -> Step {
        let mut s = Step::new(name, |_c, _e| async { Ok(StepOutput::None) });
        for a in accepts {
            s = s.accepts(EventInfo::named(*a));
        }
        for e in emits {
            s = s.emits(EventInfo::named(*e));
        }
        s
    }

    #[test]
    fn fingerprint_is_order_independent_and_sensitive_to_the_graph() {
        let a = step("a", &["blazen::StartEvent"], &["X", "Y"]);
        let b = step("b", &["X", "Y"], &["blazen::StopEvent"]);
        let fp = fingerprint(&[a.clone(), b.clone()]);
        assert!(fp.starts_with("v1:") && fp.len() == 3 + 32, "{fp}");
        assert_eq!(fp, fingerprint(&[b.clone(), a.clone()]));
        // Event order inside a step does not matter.
        let a2 = step("a", &["blazen::StartEvent"], &["Y", "X"]);
        assert_eq!(fp, fingerprint(&[a2, b.clone()]));
        // Concurrency and timeouts do not matter.
        let b2 = b.clone().max_concurrency(3);
        assert_eq!(fp, fingerprint(&[a.clone(), b2]));
        // Typed and named events of one routing name are the same.
        let a3 = Step::new("a", |_c, _e| async { Ok(StepOutput::None) })
            .accepts(EventInfo::of::<StartEvent>())
            .emits(EventInfo::named("X"))
            .emits(EventInfo::named("Y"));
        assert_eq!(fp, fingerprint(&[a3, b.clone()]));
        // Every change of names, accepts or emits changes it.
        let changed = [
            fingerprint([&a]),
            fingerprint(&[a.clone(), b.clone().with_name("c")]),
            fingerprint(&[a.clone(), step("b", &["X"], &["blazen::StopEvent"])]),
            fingerprint(&[
                a.clone(),
                b.clone().emits(EventInfo::of::<StopEvent>().clone()),
            ]),
            fingerprint(&[a.clone(), b.clone().emits(EventInfo::named("Z"))]),
            fingerprint(&[a.clone(), b.clone(), step("c", &["Z"], &[])]),
        ];
        // (Emitting StopEvent twice is the same set.)
        assert_eq!(changed[3], fp);
        for (i, other) in changed.iter().enumerate() {
            if i != 3 {
                assert_ne!(*other, fp, "change {i} kept the fingerprint");
            }
        }
        // Names cannot imitate separators.
        assert_ne!(
            fingerprint(&[step("a|accepts=", &[], &[])]),
            fingerprint(&[step("a", &[""], &[])])
        );
    }

    #[test]
    fn fingerprint_is_stable_across_builds_and_processes() {
        // A fixed value: if this changes, snapshots written before can no longer resume.
        let a = step("start", &["blazen::StartEvent"], &["blazen::StopEvent"]);
        assert_eq!(
            fingerprint(&[a]),
            format!(
                "v1:{:032x}",
                fnv1a128(b"5:start|accepts=blazen::StartEvent|emits=blazen::StopEvent")
            )
        );
        // Known FNV-1a 128 vectors.
        assert_eq!(fnv1a128(b""), 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(fnv1a128(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }
}
