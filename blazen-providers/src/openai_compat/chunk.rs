//! The in-place parser of streamed Chat Completions chunks ([`ChatChunk::parse`]): hot-path
//! code, less plain than derived serde types, fenced in this file.
//!
//! It pays on the streaming benchmarks of `benches/providers.rs` (S1, S1b, S2: `s1_blazen`,
//! `s1b_blazen`, `s2_blazen` against `s1_floor_parse`, …; BENCHMARKS.md, "blazen-providers:
//! streaming and request overhead", "Chunks parsed in place"): the derived types moved 100–200
//! byte values through serde's layers with ~4 `memcpy` calls per event (`memmove` 4.9 % of S1b
//! samples, 0.4 % after); with the other changes of that round S1b went from 1.35× to 0.94× the
//! parse floor. The differential proptest below checks that it accepts, rejects (with the same
//! error text) and reads exactly what the derived types read.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::wire::{Text, WireToolCall, WireUsage};
use crate::error::is_error_value;

/// One streamed chunk, parsed in place ([`ChatChunk::parse`]) into storage reused from chunk
/// to chunk. One chunk is parsed per event, so this avoids what derived types cost there: an
/// allocation for the `choices` array and moves of large values (a choice with its delta is
/// ~100 bytes) through every level of the parse; a value built on the stack and copied right
/// away also stalls the copy (store forwarding), so slots are reset field by field, never
/// rebuilt. It reads exactly what the derived `#[serde(default)]` structs read (maps or
/// positional arrays, unknown keys ignored, a duplicate key an error); the tests check it
/// against them.
#[derive(Debug, Default)]
pub(crate) struct ChatChunk {
    pub(crate) choices: Choices,
    pub(crate) usage: Option<Box<WireUsage>>,
    /// An `error` member holding an error (not `null`, `false`, `""` or `{}`, which some
    /// proxies put in every chunk): an error frame (its text is parsed again into an error).
    /// Read as a `Value`, as before, so that the same texts are accepted.
    pub(crate) error: bool,
}

/// The choices of a chunk: slots reused from chunk to chunk, the first `len` this chunk's.
#[derive(Debug, Default)]
pub(crate) struct Choices {
    slots: Vec<ChunkChoice>,
    len: usize,
}

impl Choices {
    pub(crate) fn as_mut_slice(&mut self) -> &mut [ChunkChoice] {
        &mut self.slots[..self.len]
    }

    #[cfg(test)]
    fn as_slice(&self) -> &[ChunkChoice] {
        &self.slots[..self.len]
    }
}

#[derive(Debug, Default)]
pub(crate) struct ChunkChoice {
    pub(crate) index: u32,
    pub(crate) delta: MaybeDelta,
    pub(crate) finish_reason: Option<String>,
}

/// An `Option<Delta>` whose `Delta` stays in place when absent (see [`ChatChunk`]).
#[derive(Debug, Default)]
pub(crate) struct MaybeDelta {
    present: bool,
    delta: Delta,
}

impl MaybeDelta {
    pub(crate) fn get_mut(&mut self) -> Option<&mut Delta> {
        self.present.then_some(&mut self.delta)
    }

    #[cfg(test)]
    fn get(&self) -> Option<&Delta> {
        self.present.then_some(&self.delta)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub(crate) content: Option<Text>,
    pub(crate) reasoning_content: Option<String>,
    pub(crate) reasoning: Option<String>,
    pub(crate) tool_calls: Option<Vec<WireToolCall>>,
}

impl ChatChunk {
    /// Parses one chunk's JSON text into `self` (its previous content is dropped; on error it
    /// holds a partial parse). Accepts and rejects what `serde_json::from_str` does.
    pub(crate) fn parse(&mut self, text: &str) -> serde_json::Result<()> {
        self.choices.len = 0;
        self.usage = None;
        self.error = false;
        let mut de = serde_json::Deserializer::from_str(text);
        de::DeserializeSeed::deserialize(InPlace(self), &mut de)?;
        de.end()
    }
}

/// Parses into the value it points to (a `DeserializeSeed` for in-place parsing).
struct InPlace<'a, T>(&'a mut T);

/// The key of a struct member: its position among the field names, or `None` (ignored).
struct Key(&'static [&'static str]);

impl<'de> de::DeserializeSeed<'de> for Key {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<usize>, E> {
        Ok(usize::try_from(v).ok().filter(|&i| i < self.0.len()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| *name == v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| name.as_bytes() == v))
    }
}

/// Reads the members of a map into a struct, field by field, as the derive does: `field(i,
/// map)` reads the value of field `i`; unknown keys are skipped, a repeated one is an error.
fn read_map<'de, A>(
    mut map: A,
    fields: &'static [&'static str],
    mut field: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error>
where
    A: de::MapAccess<'de>,
{
    // One bit per field (the structs here have a handful).
    debug_assert!(fields.len() <= 64);
    let mut seen: u64 = 0;
    while let Some(key) = map.next_key_seed(Key(fields))? {
        match key {
            Some(i) if seen & (1 << i) != 0 => {
                return Err(de::Error::duplicate_field(fields[i]));
            }
            Some(i) => {
                seen |= 1 << i;
                field(i, &mut map)?;
            }
            None => {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
    }
    Ok(())
}

/// Sets `slot` from the next element of a positional struct; `false` when there is none (the
/// remaining fields keep their defaults).
fn next_into<'de, A, T>(seq: &mut A, slot: &mut T) -> Result<bool, A::Error>
where
    A: SeqAccess<'de>,
    T: Deserialize<'de>,
{
    Ok(match seq.next_element()? {
        Some(v) => {
            *slot = v;
            true
        }
        None => false,
    })
}

/// A struct parsed in place: its name, its fields, and how to read each field from a map and
/// all of them from a positional sequence. `InPlace<Self>` then parses it as the derive would.
trait StructInPlace {
    const NAME: &'static str;
    const FIELDS: &'static [&'static str];

    /// Reads the value of field `i` from `map`.
    fn field<'de, A: de::MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error>;

    /// Reads the fields in order from `seq`; those missing keep their values.
    fn fields<'de, A: SeqAccess<'de>>(&mut self, seq: &mut A) -> Result<(), A::Error>;
}

impl<'de, T: StructInPlace> de::DeserializeSeed<'de> for InPlace<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_struct(T::NAME, T::FIELDS, self)
    }
}

impl<'de, T: StructInPlace> Visitor<'de> for InPlace<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", T::NAME)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        read_map(map, T::FIELDS, |i, map| self.0.field(i, map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.fields(&mut seq)
    }
}

impl StructInPlace for ChatChunk {
    const NAME: &'static str = "ChatChunk";
    const FIELDS: &'static [&'static str] = &["choices", "usage", "error"];

    fn field<'de, A: de::MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => map.next_value_seed(InPlace(&mut self.choices))?,
            1 => self.usage = map.next_value()?,
            _ => {
                let error = map.next_value::<Option<Value>>()?;
                self.error = error.is_some_and(|e| is_error_value(&e));
            }
        }
        Ok(())
    }

    fn fields<'de, A: SeqAccess<'de>>(&mut self, seq: &mut A) -> Result<(), A::Error> {
        if seq.next_element_seed(InPlace(&mut self.choices))?.is_none()
            || !next_into(seq, &mut self.usage)?
        {
            return Ok(());
        }
        if let Some(error) = seq.next_element::<Option<Value>>()? {
            self.error = error.is_some_and(|e| is_error_value(&e));
        }
        Ok(())
    }
}

impl<'de> de::DeserializeSeed<'de> for InPlace<'_, Choices> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for InPlace<'_, Choices> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Each choice is parsed where it is stored, in a slot kept from earlier chunks when
        // there is one (reset field by field).
        let choices = self.0;
        choices.len = 0;
        loop {
            let i = choices.len;
            match choices.slots.get_mut(i) {
                Some(slot) => {
                    slot.index = 0;
                    slot.delta.present = false;
                    slot.finish_reason = None;
                }
                None => choices.slots.push(ChunkChoice::default()),
            }
            if seq
                .next_element_seed(InPlace(&mut choices.slots[i]))?
                .is_none()
            {
                return Ok(());
            }
            choices.len += 1;
        }
    }
}

impl StructInPlace for ChunkChoice {
    const NAME: &'static str = "ChunkChoice";
    const FIELDS: &'static [&'static str] = &["index", "delta", "finish_reason"];

    fn field<'de, A: de::MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => self.index = map.next_value()?,
            1 => map.next_value_seed(InPlace(&mut self.delta))?,
            _ => self.finish_reason = map.next_value()?,
        }
        Ok(())
    }

    fn fields<'de, A: SeqAccess<'de>>(&mut self, seq: &mut A) -> Result<(), A::Error> {
        if next_into(seq, &mut self.index)?
            && seq.next_element_seed(InPlace(&mut self.delta))?.is_some()
        {
            next_into(seq, &mut self.finish_reason)?;
        }
        Ok(())
    }
}

impl<'de> de::DeserializeSeed<'de> for InPlace<'_, MaybeDelta> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for InPlace<'_, MaybeDelta> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.present = false;
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.present = false;
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let slot = self.0;
        slot.present = true;
        let delta = &mut slot.delta;
        delta.content = None;
        delta.reasoning_content = None;
        delta.reasoning = None;
        delta.tool_calls = None;
        de::DeserializeSeed::deserialize(InPlace(delta), d)
    }
}

impl StructInPlace for Delta {
    const NAME: &'static str = "Delta";
    const FIELDS: &'static [&'static str] =
        &["content", "reasoning_content", "reasoning", "tool_calls"];

    fn field<'de, A: de::MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => self.content = map.next_value()?,
            1 => self.reasoning_content = map.next_value()?,
            2 => self.reasoning = map.next_value()?,
            _ => self.tool_calls = map.next_value()?,
        }
        Ok(())
    }

    fn fields<'de, A: SeqAccess<'de>>(&mut self, seq: &mut A) -> Result<(), A::Error> {
        let _ = next_into(seq, &mut self.content)?
            && next_into(seq, &mut self.reasoning_content)?
            && next_into(seq, &mut self.reasoning)?
            && next_into(seq, &mut self.tool_calls)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The derived types `ChatChunk` replaced, kept as the reference it must agree with (same
    /// names, so that error messages can be compared too).
    mod reference {
        use super::super::{Text, WireToolCall, WireUsage};
        use serde::Deserialize;
        use serde_json::Value;

        #[derive(Debug, Deserialize)]
        pub(super) struct ChatChunk {
            #[serde(default)]
            pub(super) choices: Vec<ChunkChoice>,
            #[serde(default)]
            pub(super) usage: Option<WireUsage>,
            #[serde(default)]
            pub(super) error: Option<Value>,
        }

        #[derive(Debug, Deserialize)]
        pub(super) struct ChunkChoice {
            #[serde(default)]
            pub(super) index: u32,
            #[serde(default)]
            pub(super) delta: Option<Delta>,
            #[serde(default)]
            pub(super) finish_reason: Option<String>,
        }

        #[derive(Debug, Deserialize)]
        pub(super) struct Delta {
            #[serde(default)]
            pub(super) content: Option<Text>,
            #[serde(default)]
            pub(super) reasoning_content: Option<String>,
            #[serde(default)]
            pub(super) reasoning: Option<String>,
            #[serde(default)]
            pub(super) tool_calls: Option<Vec<WireToolCall>>,
        }
    }

    /// What a parse gave, in a comparable form.
    fn summary_of_reference(text: &str) -> std::result::Result<String, String> {
        let c: reference::ChatChunk = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let choices: Vec<String> = c
            .choices
            .iter()
            .map(|ch| {
                let d = ch.delta.as_ref().map(|d| {
                    format!(
                        "{:?}|{:?}|{:?}|{:?}",
                        d.content.as_ref().map(|t| &t.0),
                        d.reasoning_content,
                        d.reasoning,
                        d.tool_calls
                    )
                });
                format!("{}:{d:?}:{:?}", ch.index, ch.finish_reason)
            })
            .collect();
        let usage = c.usage.as_ref().map(|u| (u.to_usage(), u.reported_cost()));
        let error = c.error.as_ref().is_some_and(is_error_value);
        Ok(format!("{choices:?} {usage:?} {error}"))
    }

    fn summary_in_place(chunk: &mut ChatChunk, text: &str) -> std::result::Result<String, String> {
        chunk.parse(text).map_err(|e| e.to_string())?;
        let choices: Vec<String> = chunk
            .choices
            .as_slice()
            .iter()
            .map(|ch| {
                let d = ch.delta.get().map(|d| {
                    format!(
                        "{:?}|{:?}|{:?}|{:?}",
                        d.content.as_ref().map(|t| &t.0),
                        d.reasoning_content,
                        d.reasoning,
                        d.tool_calls
                    )
                });
                format!("{}:{d:?}:{:?}", ch.index, ch.finish_reason)
            })
            .collect();
        let usage = chunk
            .usage
            .as_ref()
            .map(|u| (u.to_usage(), u.reported_cost()));
        Ok(format!("{choices:?} {usage:?} {}", chunk.error))
    }

    fn agree(chunk: &mut ChatChunk, text: &str) {
        assert_eq!(
            summary_in_place(chunk, text),
            summary_of_reference(text),
            "{text}"
        );
    }

    #[test]
    fn reads_what_the_derived_types_read() {
        let mut chunk = ChatChunk::default();
        for text in [
            r#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a"},"b"]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"reasoning_content":"r","reasoning":"s","content":null}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":1,"delta":{}},{"index":0,"delta":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"cost":0.5}}"#,
            r#"{"choices":[],"usage":null,"error":null}"#,
            r#"{"error":{"message":"boom"}}"#,
            r#"{"error":1e400}"#,
            r#"{}"#,
            r#"[[{"index":0,"delta":{"content":"pos"}}],{"prompt_tokens":1},null]"#,
            r#"[[[0,["a",null,"r"],"stop"]]]"#,
            r#"[]"#,
            r#"{"choices":[{"index":0}],"choices":[]}"#,
            r#"{"choices":[{"index":0,"index":1}]}"#,
            r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
            r#"{"choices":null}"#,
            r#"{"choices":[{"index":-1}]}"#,
            r#"{"choices":[{"index":null}]}"#,
            r#"{"choices":[{"delta":5}]}"#,
            r#"{"choices":[{"delta":{"content":5}}]}"#,
            r#"{"choices":[1]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"x"}}]} trailing"#,
            r#"{"choices":[{"index":0,"delta":{"content":"x"}}"#,
            r#"{"choi\u0063es":[{"index":0,"delta":{"content":"esc\"aped\n"}}]}"#,
            r#"null"#,
            r#""text""#,
            r#"[[],null,null,7]"#,
        ] {
            agree(&mut chunk, text);
        }
    }

    /// JSON-like text built from the chunk's own keys (duplicates allowed), with every kind of
    /// value, sometimes cut short.
    fn json_text() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("choices"),
            Just("usage"),
            Just("error"),
            Just("index"),
            Just("delta"),
            Just("finish_reason"),
            Just("content"),
            Just("reasoning_content"),
            Just("reasoning"),
            Just("tool_calls"),
            Just("function"),
            Just("arguments"),
            Just("prompt_tokens"),
            Just("other"),
        ];
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("0".to_owned()),
            Just("7".to_owned()),
            Just("-1".to_owned()),
            Just("1.5".to_owned()),
            Just("99999999999".to_owned()),
            Just("\"s\"".to_owned()),
            Just("\"\"".to_owned()),
            Just("\"stop\"".to_owned()),
        ];
        let value = leaf.prop_recursive(4, 48, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key.clone(), inner), 0..4).prop_map(|v| {
                    let members: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        });
        (value, any::<prop::sample::Index>(), any::<bool>()).prop_map(|(text, cut, cut_it)| {
            if cut_it && !text.is_empty() {
                text[..cut.index(text.len())].to_owned()
            } else {
                text
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn in_place_parse_agrees_with_the_derived_types(texts in prop::collection::vec(json_text(), 1..4)) {
            // One `ChatChunk` reused across parses, as the stream does.
            let mut chunk = ChatChunk::default();
            for text in &texts {
                prop_assert_eq!(summary_in_place(&mut chunk, text), summary_of_reference(text), "{}", text);
            }
        }
    }
}
