//! The analysis as it was before the sorted tables: quadratic, written plainly; the
//! reference the fast analysis must agree with, defect for defect and in order.

use super::super::analysis::{lists_name, push};
use super::super::defect::{DefectKind, RawDefect, Slot};
use super::super::nodes::{
    EventNode, StepNode, ALLOW_DEAD_END, ALLOW_UNACCEPTED, ALLOW_UNEMITTED, ALLOW_UNREACHABLE,
    INPUT_REQUIRED_ID, INPUT_RESPONSE_ID, START_ID, STOP_ID,
};

/// Whether an emitted event (by name id) reaches a step accepting `accepted`: the same name,
/// or an input request, which the runtime answers with an input response. (The reference
/// analysis of the tests; the analysis and the chart use sorted tables and maps.)
const fn emit_matches(emitted: u64, accepted: u64) -> bool {
    (emitted == accepted && emitted != STOP_ID)
        || (emitted == INPUT_REQUIRED_ID && accepted == INPUT_RESPONSE_ID)
}

/// Whether `list[index]` repeats an earlier entry of the same list.
const fn repeated(list: &[EventNode<'_>], index: usize) -> bool {
    let mut i = 0;
    while i < index {
        if list[i].name_id == list[index].name_id {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether step `s` feeds step `t`.
const fn feeds(s: &StepNode<'_>, t: &StepNode<'_>) -> bool {
    let mut i = 0;
    while i < s.emits.len() {
        let mut j = 0;
        while j < t.accepts.len() {
            if emit_matches(s.emits[i].name_id, t.accepts[j].name_id) {
                return true;
            }
            j += 1;
        }
        i += 1;
    }
    false
}

/// Whether `s` emits something `t` waits for inside its body.
const fn feeds_wait(s: &StepNode<'_>, t: &StepNode<'_>) -> bool {
    let mut i = 0;
    while i < s.emits.len() {
        if lists_match(t.waits, s.emits[i].name_id) {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether some step accepts what `emitted` names.
const fn accepted_anywhere(steps: &[StepNode<'_>], emitted: u64) -> bool {
    let mut t = 0;
    while t < steps.len() {
        // A step waiting for the event inside its body consumes it too.
        if lists_match(steps[t].accepts, emitted) || lists_match(steps[t].waits, emitted) {
            return true;
        }
        t += 1;
    }
    false
}

/// Whether `list` holds an event that `emitted` reaches.
const fn lists_match(list: &[EventNode<'_>], emitted: u64) -> bool {
    let mut j = 0;
    while j < list.len() {
        if emit_matches(emitted, list[j].name_id) {
            return true;
        }
        j += 1;
    }
    false
}

/// Whether some step emits something that reaches a step accepting `accepted`.
const fn emitted_anywhere(steps: &[StepNode<'_>], accepted: u64) -> bool {
    let mut s = 0;
    while s < steps.len() {
        let em = steps[s].emits;
        let mut i = 0;
        while i < em.len() {
            if emit_matches(em[i].name_id, accepted) {
                return true;
            }
            i += 1;
        }
        s += 1;
    }
    false
}

/// Breadth-first search setting `bit` in `flags`: forward from the steps that accept
/// StartEvent along "feeds", or backward from the steps that emit StopEvent against it.
const fn mark(
    steps: &[StepNode<'_>],
    flags: &mut [u8],
    queue: &mut [usize],
    bit: u8,
    forward: bool,
) {
    let n = steps.len();
    let mut tail = 0;
    let mut i = 0;
    while i < n {
        let seed = if forward {
            lists_name(steps[i].accepts, START_ID)
        } else {
            lists_name(steps[i].emits, STOP_ID)
        };
        if seed {
            flags[i] |= bit;
            queue[tail] = i;
            tail += 1;
        }
        i += 1;
    }
    let mut head = 0;
    while head < tail {
        let at = queue[head];
        head += 1;
        let mut other = 0;
        while other < n {
            let linked = if forward {
                feeds(&steps[at], &steps[other])
            } else {
                // What a step waits for inside its body feeds it too: its emitter finishes
                // when the waiting step does.
                feeds(&steps[other], &steps[at]) || feeds_wait(&steps[other], &steps[at])
            };
            if flags[other] & bit == 0 && linked {
                flags[other] |= bit;
                queue[tail] = other;
                tail += 1;
            }
            other += 1;
        }
    }
}

/// The analysis. Writes the defects it finds into `out` (as many as fit) and returns how
/// many it found. `flags` and `queue` are scratch space of `steps.len()` entries each;
/// `allow` is a mask of `ALLOW_*` bits.
#[doc(hidden)]
pub(super) const fn analyze(
    steps: &[StepNode<'_>],
    allow: u32,
    flags: &mut [u8],
    queue: &mut [usize],
    out: &mut [RawDefect],
) -> usize {
    const REACHED: u8 = 1;
    const FINISHES: u8 = 2;
    let n = steps.len();
    let mut count = 0;

    // No step accepts StartEvent.
    let mut has_start = false;
    let mut i = 0;
    while i < n {
        if lists_name(steps[i].accepts, START_ID) {
            has_start = true;
        }
        i += 1;
    }
    if !has_start {
        count = push(
            out,
            count,
            RawDefect::of(DefectKind::NoStartStep, Slot::NONE),
        );
    }

    // Two steps with one name.
    let mut i = 0;
    while i < n {
        let mut j = 0;
        while j < i {
            if steps[j].name_id == steps[i].name_id {
                let at = Slot {
                    step: i,
                    emits: false,
                    index: 0,
                };
                count = push(out, count, RawDefect::of(DefectKind::DuplicateStep, at));
                break;
            }
            j += 1;
        }
        i += 1;
    }

    // A step accepting StopEvent.
    let mut i = 0;
    while i < n {
        let acc = steps[i].accepts;
        let mut k = 0;
        while k < acc.len() {
            if acc[k].name_id == STOP_ID && !repeated(acc, k) {
                let at = Slot {
                    step: i,
                    emits: false,
                    index: k,
                };
                count = push(out, count, RawDefect::of(DefectKind::AcceptsStop, at));
            }
            k += 1;
        }
        i += 1;
    }

    // Two types with one routing name: each typed slot looks back for an earlier slot of
    // the same name and another type; only the first slot of each type reports. (Plain
    // nested loops: const evaluation is slow, every operation counts.)
    let mut i = 0;
    while i < n {
        let mut pass = 0;
        while pass < 2 {
            let list = if pass == 0 {
                steps[i].accepts
            } else {
                steps[i].emits
            };
            let mut k = 0;
            while k < list.len() {
                let ev = list[k];
                if ev.id != 0 {
                    let mut found: Option<Slot> = None;
                    let mut repeat = false;
                    let mut j = 0;
                    'scan: while j <= i {
                        let mut q = 0;
                        while q < 2 {
                            let l2 = if q == 0 {
                                steps[j].accepts
                            } else {
                                steps[j].emits
                            };
                            let end = if j < i || q < pass {
                                l2.len()
                            } else if q == pass {
                                k
                            } else {
                                0
                            };
                            let mut m = 0;
                            while m < end {
                                let o = l2[m];
                                if o.name_id == ev.name_id && o.id != 0 {
                                    if o.id == ev.id {
                                        repeat = true;
                                        break 'scan;
                                    }
                                    if found.is_none() {
                                        found = Some(Slot {
                                            step: j,
                                            emits: q == 1,
                                            index: m,
                                        });
                                    }
                                }
                                m += 1;
                            }
                            q += 1;
                        }
                        j += 1;
                    }
                    if let (false, Some(p)) = (repeat, found) {
                        let d = RawDefect {
                            kind: DefectKind::EventNameClash,
                            at: p,
                            other: Slot {
                                step: i,
                                emits: pass == 1,
                                index: k,
                            },
                        };
                        count = push(out, count, d);
                    }
                }
                k += 1;
            }
            pass += 1;
        }
        i += 1;
    }

    // Emitted, accepted by nobody.
    if allow & ALLOW_UNACCEPTED == 0 {
        let mut i = 0;
        while i < n {
            let em = steps[i].emits;
            let mut k = 0;
            while k < em.len() {
                let id = em[k].name_id;
                if id != STOP_ID && !repeated(em, k) && !accepted_anywhere(steps, id) {
                    let at = Slot {
                        step: i,
                        emits: true,
                        index: k,
                    };
                    count = push(out, count, RawDefect::of(DefectKind::UnacceptedEvent, at));
                }
                k += 1;
            }
            i += 1;
        }
    }

    // Accepted, emitted by nobody.
    if allow & ALLOW_UNEMITTED == 0 {
        let mut i = 0;
        while i < n {
            let acc = steps[i].accepts;
            let mut k = 0;
            while k < acc.len() {
                let id = acc[k].name_id;
                if id != START_ID
                    && id != STOP_ID
                    && !repeated(acc, k)
                    && !emitted_anywhere(steps, id)
                {
                    let at = Slot {
                        step: i,
                        emits: false,
                        index: k,
                    };
                    count = push(out, count, RawDefect::of(DefectKind::UnemittedEvent, at));
                }
                k += 1;
            }
            i += 1;
        }
    }

    if !has_start {
        return count;
    }

    let mut i = 0;
    while i < n {
        flags[i] = 0;
        i += 1;
    }
    // Forward: the steps a run reaches from StartEvent.
    mark(steps, flags, queue, REACHED, true);
    // Backward: the steps from which StopEvent can be reached.
    mark(steps, flags, queue, FINISHES, false);

    if allow & ALLOW_UNREACHABLE == 0 {
        let mut i = 0;
        while i < n {
            if flags[i] & REACHED == 0 {
                let at = Slot {
                    step: i,
                    emits: false,
                    index: 0,
                };
                count = push(out, count, RawDefect::of(DefectKind::Unreachable, at));
            }
            i += 1;
        }
    }

    if allow & ALLOW_DEAD_END == 0 {
        let mut any_finishes = false;
        let mut i = 0;
        while i < n {
            if flags[i] == REACHED | FINISHES {
                any_finishes = true;
            }
            i += 1;
        }
        if !any_finishes {
            count = push(
                out,
                count,
                RawDefect::of(DefectKind::NoPathToStop, Slot::NONE),
            );
        } else {
            let mut i = 0;
            while i < n {
                if flags[i] == REACHED {
                    let at = Slot {
                        step: i,
                        emits: false,
                        index: 0,
                    };
                    count = push(out, count, RawDefect::of(DefectKind::DeadEnd, at));
                }
                i += 1;
            }
        }
    }
    count
}
