//! `step` macro: parse, validate, expand. (Not yet implemented.)

use proc_macro2::TokenStream;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let _ = attr;
    item
}
