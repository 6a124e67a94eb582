//! The build error of a broken `workflow!`, composed during const evaluation.

use super::analysis::{GraphReport, REPORT_MAX};
use super::defect::DefectKind;
use super::nodes::StepNode;

/// A fixed-capacity text buffer for composing a message in const evaluation.
#[derive(Debug)]
pub(crate) struct ConstMessage<const CAP: usize> {
    buf: [u8; CAP],
    len: usize,
    truncated: bool,
}

impl<const CAP: usize> ConstMessage<CAP> {
    /// An empty message.
    pub(crate) const fn new() -> Self {
        ConstMessage {
            buf: [0; CAP],
            len: 0,
            truncated: false,
        }
    }

    /// Appends `s`, or as much of it as fits on a character boundary.
    pub(crate) const fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if self.len >= CAP {
                self.truncated = true;
                // Drop a partial UTF-8 sequence at the end.
                while self.len > 0 && self.buf[self.len - 1] & 0xC0 == 0x80 {
                    self.len -= 1;
                }
                if self.len > 0 && self.buf[self.len - 1] >= 0xC0 {
                    self.len -= 1;
                }
                return;
            }
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
    }

    /// Appends a decimal number.
    pub(crate) const fn push_usize(&mut self, mut v: usize) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        while n > 0 {
            n -= 1;
            if self.len < CAP {
                self.buf[self.len] = digits[n];
                self.len += 1;
            }
        }
    }

    /// Whether something did not fit.
    #[cfg(test)]
    pub(crate) const fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// The text.
    pub(crate) const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "(message not valid UTF-8)",
        }
    }
}

impl<const CAP: usize> Default for ConstMessage<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

/// The message of the build error for the defects in `report` (there are some): the workflow,
/// every defect in the words of [`GraphDefect`](super::GraphDefect)'s `Display`, and a hint
/// when an `allow` key would switch one of them off.
pub(super) const fn defects_message(
    workflow: &str,
    steps: &[StepNode<'_>],
    report: &GraphReport,
) -> ConstMessage<8192> {
    const MAX: usize = REPORT_MAX;
    let count = report.count;
    let out = &report.defects;
    let mut msg = ConstMessage::<8192>::new();
    msg.push("workflow `");
    msg.push(workflow);
    msg.push("` has ");
    msg.push_usize(count);
    msg.push(if count == 1 {
        " graph defect:"
    } else {
        " graph defects:"
    });
    let mut i = 0;
    while i < count && i < MAX {
        msg.push("\n  - ");
        let pieces = out[i].pieces(steps);
        let mut k = 0;
        while k < pieces.len() {
            msg.push(pieces[k]);
            k += 1;
        }
        i += 1;
    }
    if count > MAX {
        msg.push("\n  - … and more");
    }
    // The hint only when an `allow` key would switch one of these defects off (a step
    // accepting StopEvent, duplicate names, no StartEvent step and name clashes cannot be).
    let mut optional = false;
    let mut i = 0;
    while i < count && i < MAX {
        optional |= matches!(
            out[i].kind,
            DefectKind::UnacceptedEvent
                | DefectKind::UnemittedEvent
                | DefectKind::Unreachable
                | DefectKind::NoPathToStop
                | DefectKind::DeadEnd
        );
        i += 1;
    }
    if optional {
        msg.push(
            "\n(a deliberate design may opt out of a check: \
             `allow = [unaccepted, unemitted, unreachable, dead_end]`)",
        );
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_message_truncates_on_char_boundary() {
        let mut m = ConstMessage::<5>::new();
        m.push("ab");
        m.push("é€");
        assert!(m.is_truncated());
        assert_eq!(m.as_str(), "abé");
        let mut m = ConstMessage::<8>::new();
        m.push_usize(1207);
        assert_eq!(m.as_str(), "1207");
    }
}
