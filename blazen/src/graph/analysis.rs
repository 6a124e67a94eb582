//! The analysis shared by [`check`](super::check) and the compile-time check of `workflow!`:
//! the defects of a graph of [`StepNode`]s, found over sorted tables of integer keys so that
//! const evaluation of a large workflow stays cheap.

use super::defect::{DefectKind, RawDefect, Slot};
use super::nodes::{
    EventNode, StepNode, ALLOW_DEAD_END, ALLOW_UNACCEPTED, ALLOW_UNEMITTED, ALLOW_UNREACHABLE,
    INPUT_REQUIRED_ID, INPUT_RESPONSE_ID, START_ID, STEP_FAILED_ID, STOP_ID,
};

pub(super) const fn lists_name(list: &[EventNode<'_>], name_id: u64) -> bool {
    let mut i = 0;
    while i < list.len() {
        if list[i].name_id == name_id {
            return true;
        }
        i += 1;
    }
    false
}

pub(super) const fn push(out: &mut [RawDefect], count: usize, d: RawDefect) -> usize {
    if count < out.len() {
        out[count] = d;
    }
    count + 1
}

/// The number of event slots (accepted, emitted and awaited events) of `steps`: the size of
/// the scratch tables of the analysis. `workflow!` passes it to [`analyze_sized`].
pub const fn slot_count(steps: &[StepNode<'_>]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < steps.len() {
        total += steps[i].accepts.len() + steps[i].emits.len() + steps[i].waits.len();
        i += 1;
    }
    total
}

/// An entry of the sorted tables: an event slot (or a step) by key.
///
/// The tables sort by `(key, id, pos)`; `pos` is unique within a table, so the order is
/// total and the analysis deterministic.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The event's (or step's) name id.
    key: u64,
    /// The type identity id, in the table of typed slots; 0 elsewhere.
    id: u64,
    /// The position: of the slot among all accepted and emitted slots in step order
    /// (accepts before emits), of the awaited slot, or of the step.
    pos: usize,
    /// Where the slot is.
    slot: Slot,
}

impl Entry {
    const EMPTY: Entry = Entry {
        key: 0,
        id: 0,
        pos: 0,
        slot: Slot::NONE,
    };
}

const fn entry_less(a: &Entry, b: &Entry) -> bool {
    if a.key != b.key {
        return a.key < b.key;
    }
    if a.id != b.id {
        return a.id < b.id;
    }
    a.pos < b.pos
}

const fn swap(v: &mut [Entry], a: usize, b: usize) {
    let t = v[a];
    v[a] = v[b];
    v[b] = t;
}

/// Restores the heap property of `v[lo..lo + len]` (a max-heap) below `root`.
const fn sift_down(v: &mut [Entry], lo: usize, mut root: usize, len: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= len {
            return;
        }
        if child + 1 < len && entry_less(&v[lo + child], &v[lo + child + 1]) {
            child += 1;
        }
        if !entry_less(&v[lo + root], &v[lo + child]) {
            return;
        }
        swap(v, lo + root, lo + child);
        root = child;
    }
}

/// Heapsort of `v[lo..hi]`: O(n log n) without allocation, usable in const evaluation.
const fn heapsort(v: &mut [Entry], lo: usize, hi: usize) {
    let len = hi - lo;
    let mut i = len / 2;
    while i > 0 {
        i -= 1;
        sift_down(v, lo, i, len);
    }
    let mut end = len;
    while end > 1 {
        end -= 1;
        swap(v, lo, lo + end);
        sift_down(v, lo, 0, end);
    }
}

/// The first index of `v[lo..hi]` (sorted) whose key is not below `key`.
const fn lower_bound(v: &[Entry], lo: usize, hi: usize, key: u64) -> usize {
    let (mut lo, mut hi) = (lo, hi);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if v[mid].key < key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Whether `v[lo..hi]` (sorted) holds `key`.
const fn has_key(v: &[Entry], lo: usize, hi: usize, key: u64) -> bool {
    let at = lower_bound(v, lo, hi, key);
    at < hi && v[at].key == key
}

/// The scratch space of the analysis. `N`: number of steps; `S`: [`slot_count`].
struct Scratch<'s> {
    /// Per step (N): the `DUPLICATE`, `REACHED` and `FINISHES` bits.
    flags: &'s mut [u8],
    /// Per step (N): the queue of the searches.
    queue: &'s mut [usize],
    /// Per step (N): the steps sorted by name.
    names: &'s mut [Entry],
    /// Per slot (S): accepted, emitted and awaited slots, each part sorted by name.
    index: &'s mut [Entry],
    /// Per slot (S): the groups of `index` that a search already expanded.
    seen: &'s mut [u8],
    /// Per slot (S): the typed accepted and emitted slots, sorted by name and type.
    typed: &'s mut [Entry],
    /// Per accepted or emitted slot (by position, S): `REPEATED` when an earlier slot of the
    /// same list has the same name.
    slot_bits: &'s mut [u8],
    /// Per accepted or emitted slot (by position, S): for a clash, 1 + the index in `typed`
    /// of the first slot of the name; else 0.
    clash: &'s mut [usize],
}

/// Makes the tables of a [`Scratch`] for `$steps` steps and `$slots` slots with
/// `$table!(fill; len)` (`vec!` at run time, `array!` in const evaluation) and binds
/// `$scratch` to it: the one place that lists the tables and their sizes.
macro_rules! scratch {
    ($scratch:ident = $table:ident!(steps: $steps:expr, slots: $slots:expr)) => {
        let mut flags = $table!(0u8; $steps);
        let mut queue = $table!(0usize; $steps);
        let mut names = $table!(Entry::EMPTY; $steps);
        let mut index = $table!(Entry::EMPTY; $slots);
        let mut seen = $table!(0u8; $slots);
        let mut typed = $table!(Entry::EMPTY; $slots);
        let mut slot_bits = $table!(0u8; $slots);
        let mut clash = $table!(0usize; $slots);
        let mut $scratch = Scratch {
            flags: &mut flags,
            queue: &mut queue,
            names: &mut names,
            index: &mut index,
            seen: &mut seen,
            typed: &mut typed,
            slot_bits: &mut slot_bits,
            clash: &mut clash,
        };
    };
}

/// `[fill; len]`, written as `vec!` is, for [`scratch!`] in const evaluation.
macro_rules! array {
    ($fill:expr; $len:expr) => {
        [$fill; $len]
    };
}

const REPEATED: u8 = 1;
const DUPLICATE: u8 = 4;
const REACHED: u8 = 1;
const FINISHES: u8 = 2;

/// The boundaries of the parts of `Scratch::index`: accepts `[0, a)`, emits `[a, e)`,
/// awaited `[e, w)`.
#[derive(Clone, Copy)]
struct Parts {
    a: usize,
    e: usize,
    w: usize,
}

/// Flags (with `bit`) and queues every step of the group of `key` in `index[lo..hi]` not yet
/// flagged; a group is expanded once (`seen`), so a search costs O(slots · log slots).
const fn visit_group(
    s: &mut Scratch<'_>,
    lo: usize,
    hi: usize,
    key: u64,
    bit: u8,
    tail: usize,
) -> usize {
    let mut tail = tail;
    let mut j = lower_bound(s.index, lo, hi, key);
    if j >= hi || s.index[j].key != key || s.seen[j] & bit != 0 {
        return tail;
    }
    s.seen[j] |= bit;
    while j < hi && s.index[j].key == key {
        let t = s.index[j].slot.step;
        if s.flags[t] & bit == 0 {
            s.flags[t] |= bit;
            s.queue[tail] = t;
            tail += 1;
        }
        j += 1;
    }
    tail
}

/// Breadth-first search setting `bit` in `flags`: forward from the steps that accept
/// StartEvent along "feeds" (`a` feeds `b` when `a` emits an event that `b` accepts), or
/// backward from the steps that emit StopEvent against it (what a step waits for inside its
/// body feeds it too: its emitter finishes when the waiting step does).
const fn mark(steps: &[StepNode<'_>], s: &mut Scratch<'_>, p: Parts, bit: u8, forward: bool) {
    let n = steps.len();
    let mut tail = 0;
    let mut i = 0;
    while i < n {
        let seed = if forward {
            lists_name(steps[i].accepts, START_ID) || lists_name(steps[i].accepts, STEP_FAILED_ID)
        } else {
            lists_name(steps[i].emits, STOP_ID)
        };
        if seed {
            s.flags[i] |= bit;
            s.queue[tail] = i;
            tail += 1;
        }
        i += 1;
    }
    let mut head = 0;
    while head < tail {
        let at = s.queue[head];
        head += 1;
        if forward {
            // The steps accepting what `at` emits (emit_matches, by the sorted accepts).
            let em = steps[at].emits;
            let mut k = 0;
            while k < em.len() {
                let e = em[k].name_id;
                if e != STOP_ID {
                    tail = visit_group(s, 0, p.a, e, bit, tail);
                }
                if e == INPUT_REQUIRED_ID {
                    tail = visit_group(s, 0, p.a, INPUT_RESPONSE_ID, bit, tail);
                }
                k += 1;
            }
        } else {
            // The steps emitting what `at` accepts or waits for (by the sorted emits).
            let mut list = 0;
            while list < 2 {
                let l = if list == 0 {
                    steps[at].accepts
                } else {
                    steps[at].waits
                };
                let mut k = 0;
                while k < l.len() {
                    let a = l[k].name_id;
                    if a != STOP_ID {
                        tail = visit_group(s, p.a, p.e, a, bit, tail);
                    }
                    if a == INPUT_RESPONSE_ID {
                        tail = visit_group(s, p.a, p.e, INPUT_REQUIRED_ID, bit, tail);
                    }
                    k += 1;
                }
                list += 1;
            }
        }
    }
}

/// Fills and sorts the tables of `s`; returns the parts of `s.index` and the number of
/// typed slots.
const fn build_index(steps: &[StepNode<'_>], s: &mut Scratch<'_>) -> (Parts, usize) {
    let n = steps.len();
    // Steps by name.
    let mut i = 0;
    while i < n {
        s.flags[i] = 0;
        s.names[i] = Entry {
            key: steps[i].name_id,
            id: 0,
            pos: i,
            slot: Slot {
                step: i,
                emits: false,
                index: 0,
            },
        };
        i += 1;
    }
    heapsort(s.names, 0, n);

    // Sizes of the parts.
    let (mut na, mut ne, mut nw) = (0, 0, 0);
    let mut i = 0;
    while i < n {
        na += steps[i].accepts.len();
        ne += steps[i].emits.len();
        nw += steps[i].waits.len();
        i += 1;
    }
    let p = Parts {
        a: na,
        e: na + ne,
        w: na + ne + nw,
    };

    // Every slot, in step order; accepts before emits, as the clash scan counts them.
    let (mut fa, mut fe, mut fw, mut ft, mut pos) = (0, p.a, p.e, 0, 0);
    let mut i = 0;
    while i < n {
        let mut list = 0;
        while list < 3 {
            let l = match list {
                0 => steps[i].accepts,
                1 => steps[i].emits,
                _ => steps[i].waits,
            };
            let mut k = 0;
            while k < l.len() {
                let slot = Slot {
                    step: i,
                    emits: list == 1,
                    index: k,
                };
                let entry = Entry {
                    key: l[k].name_id,
                    id: 0,
                    pos: if list == 2 { fw } else { pos },
                    slot,
                };
                if list == 2 {
                    s.index[fw] = entry;
                    fw += 1;
                } else {
                    if list == 0 {
                        s.index[fa] = entry;
                        fa += 1;
                    } else {
                        s.index[fe] = entry;
                        fe += 1;
                    }
                    if l[k].id != 0 {
                        s.typed[ft] = Entry {
                            id: l[k].id,
                            ..entry
                        };
                        ft += 1;
                    }
                    s.slot_bits[pos] = 0;
                    s.clash[pos] = 0;
                    pos += 1;
                }
                k += 1;
            }
            list += 1;
        }
        i += 1;
    }
    let mut j = 0;
    while j < p.w {
        s.seen[j] = 0;
        j += 1;
    }
    heapsort(s.index, 0, p.a);
    heapsort(s.index, p.a, p.e);
    heapsort(s.index, p.e, p.w);
    heapsort(s.typed, 0, ft);

    // A slot repeating an earlier slot of its list: its predecessor by (name, position)
    // has the same name and step.
    let mut j = 1;
    while j < p.e {
        let (prev, cur) = (s.index[j - 1], s.index[j]);
        if j != p.a && prev.key == cur.key && prev.slot.step == cur.slot.step {
            s.slot_bits[cur.pos] |= REPEATED;
        }
        j += 1;
    }
    (p, ft)
}

/// The clashes: within the typed slots of one name, the first slot of each type except the
/// type of the name's first slot is a clash with that first slot.
const fn find_clashes(s: &mut Scratch<'_>, typed: usize) {
    let mut g = 0;
    while g < typed {
        let key = s.typed[g].key;
        let mut end = g;
        let mut first = g;
        while end < typed && s.typed[end].key == key {
            if s.typed[end].pos < s.typed[first].pos {
                first = end;
            }
            end += 1;
        }
        let mut j = g;
        while j < end {
            let new_type = j == g || s.typed[j - 1].id != s.typed[j].id;
            if new_type && j != first && s.typed[j].id != s.typed[first].id {
                s.clash[s.typed[j].pos] = first + 1;
            }
            j += 1;
        }
        g = end;
    }
}

/// The analysis. Writes the defects it finds into `out` (as many as fit) and returns how
/// many it found. `s` is sized as its fields say; `allow` is a mask of `ALLOW_*` bits.
///
/// Defects come in a fixed order: no start step; duplicate names (in step order); steps
/// accepting StopEvent, name clashes, unaccepted and unemitted events (each in slot order);
/// unreachable steps; no path to stop or dead ends. Cost: O(slots · log slots) (sorted
/// tables and binary searches), so that const evaluation of a large workflow stays cheap.
const fn analyze(
    steps: &[StepNode<'_>],
    allow: u32,
    s: &mut Scratch<'_>,
    out: &mut [RawDefect],
) -> usize {
    let n = steps.len();
    let mut count = 0;
    let (p, typed) = build_index(steps, s);

    // No step accepts StartEvent.
    let has_start = has_key(s.index, 0, p.a, START_ID);
    if !has_start {
        count = push(
            out,
            count,
            RawDefect::of(DefectKind::NoStartStep, Slot::NONE),
        );
    }

    // Two steps with one name: every step but the first of each name, in step order.
    let mut j = 1;
    while j < n {
        if s.names[j].key == s.names[j - 1].key {
            s.flags[s.names[j].pos] |= DUPLICATE;
        }
        j += 1;
    }
    let mut i = 0;
    while i < n {
        if s.flags[i] & DUPLICATE != 0 {
            let at = Slot {
                step: i,
                emits: false,
                index: 0,
            };
            count = push(out, count, RawDefect::of(DefectKind::DuplicateStep, at));
        }
        s.flags[i] = 0;
        i += 1;
    }

    // A step accepting StopEvent.
    let mut i = 0;
    let mut pos = 0;
    while i < n {
        let acc = steps[i].accepts;
        let mut k = 0;
        while k < acc.len() {
            if acc[k].name_id == STOP_ID && s.slot_bits[pos + k] & REPEATED == 0 {
                let at = Slot {
                    step: i,
                    emits: false,
                    index: k,
                };
                count = push(out, count, RawDefect::of(DefectKind::AcceptsStop, at));
            }
            k += 1;
        }
        pos += acc.len() + steps[i].emits.len();
        i += 1;
    }

    // Two types with one routing name: the first slot of each type reports, against the
    // first slot of the name.
    find_clashes(s, typed);
    let mut i = 0;
    let mut pos = 0;
    while i < n {
        let mut list = 0;
        while list < 2 {
            let len = if list == 0 {
                steps[i].accepts.len()
            } else {
                steps[i].emits.len()
            };
            let mut k = 0;
            while k < len {
                let c = s.clash[pos];
                if c != 0 {
                    let d = RawDefect {
                        kind: DefectKind::EventNameClash,
                        at: s.typed[c - 1].slot,
                        other: Slot {
                            step: i,
                            emits: list == 1,
                            index: k,
                        },
                    };
                    count = push(out, count, d);
                }
                pos += 1;
                k += 1;
            }
            list += 1;
        }
        i += 1;
    }

    // Emitted, accepted by nobody (a step waiting for the event inside its body consumes it
    // too).
    if allow & ALLOW_UNACCEPTED == 0 {
        let mut i = 0;
        let mut pos = 0;
        while i < n {
            pos += steps[i].accepts.len();
            let em = steps[i].emits;
            let mut k = 0;
            while k < em.len() {
                let id = em[k].name_id;
                let accepted = has_key(s.index, 0, p.a, id)
                    || has_key(s.index, p.e, p.w, id)
                    || (id == INPUT_REQUIRED_ID
                        && (has_key(s.index, 0, p.a, INPUT_RESPONSE_ID)
                            || has_key(s.index, p.e, p.w, INPUT_RESPONSE_ID)));
                if id != STOP_ID && s.slot_bits[pos] & REPEATED == 0 && !accepted {
                    let at = Slot {
                        step: i,
                        emits: true,
                        index: k,
                    };
                    count = push(out, count, RawDefect::of(DefectKind::UnacceptedEvent, at));
                }
                pos += 1;
                k += 1;
            }
            i += 1;
        }
    }

    // Accepted, emitted by nobody.
    if allow & ALLOW_UNEMITTED == 0 {
        let mut i = 0;
        let mut pos = 0;
        while i < n {
            let acc = steps[i].accepts;
            let mut k = 0;
            while k < acc.len() {
                let id = acc[k].name_id;
                let emitted = has_key(s.index, p.a, p.e, id)
                    || (id == INPUT_RESPONSE_ID && has_key(s.index, p.a, p.e, INPUT_REQUIRED_ID));
                let runtime = id == START_ID || id == STEP_FAILED_ID;
                if !runtime && id != STOP_ID && s.slot_bits[pos] & REPEATED == 0 && !emitted {
                    let at = Slot {
                        step: i,
                        emits: false,
                        index: k,
                    };
                    count = push(out, count, RawDefect::of(DefectKind::UnemittedEvent, at));
                }
                pos += 1;
                k += 1;
            }
            pos += steps[i].emits.len();
            i += 1;
        }
    }

    if !has_start {
        return count;
    }

    // Forward: the steps a run reaches from StartEvent.
    mark(steps, s, p, REACHED, true);
    // Backward: the steps from which StopEvent can be reached.
    mark(steps, s, p, FINISHES, false);

    if allow & ALLOW_UNREACHABLE == 0 {
        let mut i = 0;
        while i < n {
            if s.flags[i] & REACHED == 0 {
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
            if s.flags[i] == REACHED | FINISHES {
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
                if s.flags[i] == REACHED {
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

/// How many defects the compile-time report keeps (the message lists these, then "… and
/// more").
pub(super) const REPORT_MAX: usize = 64;

/// The outcome of the compile-time analysis of `workflow!`, read by [`assert_graph`](super::assert_graph).
#[derive(Debug, Clone, Copy)]
pub struct GraphReport {
    pub(super) count: usize,
    pub(super) defects: [RawDefect; REPORT_MAX],
    pub(super) sized: bool,
}

/// The analysis of `steps` in const evaluation, with scratch tables of `N` steps and `S`
/// slots (`S` = [`slot_count`] of `steps`; `workflow!` computes it from the steps' consts).
pub const fn analyze_sized<const N: usize, const S: usize>(
    steps: &[StepNode<'_>; N],
    allow: u32,
) -> GraphReport {
    let mut report = GraphReport {
        count: 0,
        defects: [RawDefect::EMPTY; REPORT_MAX],
        sized: slot_count(steps) <= S,
    };
    if !report.sized {
        return report;
    }
    scratch!(scratch = array!(steps: N, slots: S));
    report.count = analyze(steps, allow, &mut scratch, &mut report.defects);
    report
}

/// Runs the shared analysis, growing the defect buffer until everything fits.
pub(super) fn analyze_all(nodes: &[StepNode<'_>], allow: u32) -> Vec<RawDefect> {
    let n = nodes.len();
    let slots = slot_count(nodes);
    scratch!(scratch = vec!(steps: n, slots: slots));
    let mut out = vec![RawDefect::EMPTY; 2 * slots + 3 * n + 2];
    loop {
        let count = analyze(nodes, allow, &mut scratch, &mut out);
        if count <= out.len() {
            out.truncate(count);
            return out;
        }
        out = vec![RawDefect::EMPTY; count];
    }
}
