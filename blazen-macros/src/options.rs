//! The one parser of the macros' options: `#[event(..)]`, `#[step(..)]`, `#[tool(..)]` and
//! the options after `workflow!`'s steps.
//!
//! Options are `key = value` or a bare `key` (a flag), separated by commas; a value runs to the
//! next top-level comma, so `waits_for = [A, B]` is one option. The parser reports what is the
//! same for every macro: malformed options, unknown keys (listing the known ones) and a key
//! given twice (at its second occurrence). Each remaining option goes to the macro, in the
//! order written, so every error still comes out in source order.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token};

use crate::ctxt::Errors;

/// What a macro accepts.
pub(crate) struct Spec {
    /// The macro as the user writes it, quoted: "`#[step]`", "`workflow!`".
    pub(crate) name: &'static str,
    /// The option keys.
    pub(crate) keys: &'static [&'static str],
    /// What follows each key in the list of expected options: `""`, or ` = "..."` where every
    /// option takes a string.
    pub(crate) form: &'static str,
}

/// Reads a macro's options, remembering the keys seen (across several attributes, for
/// `#[event(..)] #[event(..)]`).
pub(crate) struct OptionParser {
    spec: &'static Spec,
    seen: Vec<String>,
}

/// One option as written: `key` or `key = value`.
pub(crate) struct Opt {
    pub(crate) key: Ident,
    pub(crate) value: Option<TokenStream>,
}

impl OptionParser {
    pub(crate) fn new(spec: &'static Spec) -> Self {
        Self {
            spec,
            seen: Vec::new(),
        }
    }

    /// Hands each well-formed, known, first-seen option of `tokens` to `f`, in order; the
    /// others are reported.
    pub(crate) fn parse(
        &mut self,
        tokens: TokenStream,
        errors: &mut Errors,
        mut f: impl FnMut(Opt, &mut Errors),
    ) {
        for chunk in split(tokens) {
            let opt = match key_value.parse2(chunk) {
                Ok(opt) => opt,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let key = opt.key.to_string();
            let spec = self.spec;
            if !spec.keys.contains(&key.as_str()) {
                errors.spanned(
                    &opt.key,
                    format!(
                        "unknown {} option `{key}`; expected {}",
                        spec.name,
                        expected(spec)
                    ),
                );
                continue;
            }
            if self.seen.contains(&key) {
                errors.spanned(&opt.key, format!("duplicate {} option `{key}`", spec.name));
                continue;
            }
            self.seen.push(key);
            f(opt, errors);
        }
    }
}

impl Opt {
    /// The value; without one, "`key` needs a value" is reported at the key.
    pub(crate) fn value(&self, errors: &mut Errors) -> Option<&TokenStream> {
        if self.value.is_none() {
            let key = &self.key;
            errors.spanned(key, format!("`{key}` needs a value: `{key} = ...`"));
        }
        self.value.as_ref()
    }

    /// The value parsed as `T`; a missing value is reported as by [`Opt::value`], one that is
    /// not a `T` as `usage`, at the value.
    pub(crate) fn parse<T: Parse>(&self, errors: &mut Errors, usage: &str) -> Option<T> {
        let value = self.value(errors)?;
        parse_value(T::parse, value, errors, usage)
    }

    /// A string literal value; anything else reports `usage`, at the value or, without one,
    /// at the key.
    pub(crate) fn string(&self, errors: &mut Errors, usage: &str) -> Option<LitStr> {
        let Some(value) = &self.value else {
            errors.spanned(&self.key, usage);
            return None;
        };
        parse_value(<LitStr as Parse>::parse, value, errors, usage)
    }

    /// A flag: a bare key; a value reports `usage` at the value.
    pub(crate) fn flag(&self, errors: &mut Errors, usage: &str) -> bool {
        match &self.value {
            Some(value) => {
                errors.spanned(value, usage);
                false
            }
            None => true,
        }
    }

    /// A list value, `[T, T, ...]`; a missing value is reported as by [`Opt::value`], one that
    /// is not such a list as `usage`, at the value.
    pub(crate) fn list<T: Parse>(&self, errors: &mut Errors, usage: &str) -> Option<Vec<T>> {
        let value = self.value(errors)?;
        let parser = |input: ParseStream<'_>| -> syn::Result<Vec<T>> {
            let content;
            syn::bracketed!(content in input);
            let list = Punctuated::<T, Token![,]>::parse_terminated(&content)?;
            Ok(list.into_iter().collect())
        };
        parse_value(parser, value, errors, usage)
    }
}

/// `value` parsed by `parser`; on failure `usage` is reported over the value.
fn parse_value<P: Parser>(
    parser: P,
    value: &TokenStream,
    errors: &mut Errors,
    usage: &str,
) -> Option<P::Output> {
    match parser.parse2(value.clone()) {
        Ok(parsed) => Some(parsed),
        Err(_) => {
            errors.spanned(value, usage);
            None
        }
    }
}

/// The known options as listed in an error: "`a`, `b` or `c`".
fn expected(spec: &Spec) -> String {
    let shown: Vec<String> = spec
        .keys
        .iter()
        .map(|key| format!("`{key}{}`", spec.form))
        .collect();
    match shown.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Splits the options at top-level commas; brackets and parentheses are single token trees, so
/// commas inside them stay in their value.
fn split(input: TokenStream) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let mut cur = TokenStream::new();
    for tt in input {
        if let TokenTree::Punct(p) = &tt {
            if p.as_char() == ',' {
                out.push(std::mem::take(&mut cur));
                continue;
            }
        }
        cur.extend(std::iter::once(tt));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses one option into its key and value tokens.
fn key_value(input: ParseStream<'_>) -> syn::Result<Opt> {
    let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
    if input.is_empty() {
        return Ok(Opt { key, value: None });
    }
    let eq: Token![=] = input.parse()?;
    let value: TokenStream = input.parse()?;
    if value.is_empty() {
        return Err(syn::Error::new_spanned(eq, "expected a value after `=`"));
    }
    Ok(Opt {
        key,
        value: Some(value),
    })
}
