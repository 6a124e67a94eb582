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
