//! `workflow` macro: parse, validate, expand. (Not yet implemented.)

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
