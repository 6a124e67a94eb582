//! The error context shared by the macros: every problem is collected, each at the user's
//! token, and all of them are reported together (as serde_derive's `Ctxt` does).

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Collects errors; [`Errors::into_tokens`] turns them into `compile_error!`s.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records an error whose span covers `tokens`.
    pub(crate) fn spanned<T: ToTokens, M: std::fmt::Display>(&mut self, tokens: T, message: M) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn at<M: std::fmt::Display>(&mut self, span: proc_macro2::Span, message: M) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records a parse error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Whether no error was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors as `compile_error!` invocations.
    pub(crate) fn into_tokens(self) -> TokenStream {
        self.errors
            .into_iter()
            .map(|e| e.to_compile_error())
            .collect()
    }
}

/// Splits `key = value, key = value` (or bare `key`) options at top-level commas; brackets
/// and parentheses are single token trees, so commas inside them stay in their value.
pub(crate) fn split_options(input: TokenStream) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let mut cur = TokenStream::new();
    for tt in input {
        if let proc_macro2::TokenTree::Punct(p) = &tt {
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

/// One `key = value` (or bare `key`) option.
pub(crate) struct KeyValue {
    pub(crate) key: syn::Ident,
    pub(crate) value: Option<TokenStream>,
}

/// Parses an option chunk into key and value tokens.
pub(crate) fn key_value(chunk: TokenStream) -> syn::Result<KeyValue> {
    use syn::parse::Parser;
    let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<KeyValue> {
        let key: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
        if input.is_empty() {
            return Ok(KeyValue { key, value: None });
        }
        let eq: syn::Token![=] = input.parse()?;
        let value: TokenStream = input.parse()?;
        if value.is_empty() {
            return Err(syn::Error::new_spanned(eq, "expected a value after `=`"));
        }
        Ok(KeyValue {
            key,
            value: Some(value),
        })
    };
    parser.parse2(chunk)
}

/// Parses `[T, U, ...]`.
pub(crate) fn type_list(value: TokenStream) -> syn::Result<Vec<syn::Type>> {
    use syn::parse::Parser;
    let parser = |input: syn::parse::ParseStream<'_>| -> syn::Result<Vec<syn::Type>> {
        let content;
        syn::bracketed!(content in input);
        let list =
            syn::punctuated::Punctuated::<syn::Type, syn::Token![,]>::parse_terminated(&content)?;
        Ok(list.into_iter().collect())
    };
    parser.parse2(value)
}
