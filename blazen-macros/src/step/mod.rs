//! `#[step]`: parse (`parse.rs`) → validate (`valid.rs`) → expand (`expand.rs`).
//!
//! The function stays as written. Beside it comes a module of the same name holding the
//! step's metadata as constants (read by `workflow!`'s compile-time check) and
//! `step()`, which returns the run-time `blazen::Step`. After an error the function is still
//! emitted, with a poisoned module, so uses of the step do not pile more errors on top.

mod expand;
mod parse;
mod valid;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::ctxt::Errors;
use valid::Checked;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let mut out = syn::Error::new(
                e.span(),
                "`#[step]` goes on a function: `async fn name(ctx: &Context, ev: SomeEvent) -> NextEvent`",
            )
            .to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut errors = Errors::default();
    let opts = parse::options(attr, &mut errors);
    let module = match valid::check(&func, opts, &mut errors) {
        Checked::Valid(step) => expand::module(&step),
        Checked::Invalid(step_name) => expand::poisoned(&func, &step_name),
        Checked::Method => TokenStream::new(),
    };
    let mut out = errors.into_tokens();
    out.extend(quote!(#func));
    out.extend(module);
    out
}
