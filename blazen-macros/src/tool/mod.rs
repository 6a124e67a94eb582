//! `#[tool]`: parse (`parse.rs`) → validate (`valid.rs`) → expand (`expand.rs`).
//!
//! The function stays as written (minus the doc comments on its parameters, which Rust does
//! not allow there). Beside it comes a module of the same name whose `tool()` returns the
//! `blazen::ToolDef`: the schema is built once from the parameter types (cached in a
//! `LazyLock`), and the handler decodes a call's arguments, runs the function and turns its
//! output into JSON.
//!
//! Every problem is reported in one pass, each at the user's token; after an error the function
//! is still emitted (with a stub module) so the rest of the crate keeps type-checking.

mod expand;
mod parse;
mod valid;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::ctxt::Errors;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse::options(attr, &mut errors);
    valid::options(&options, &mut errors);
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            errors.at(
                error.span(),
                format!("`#[tool]` goes on a function: {error}"),
            );
            let compile_errors = errors.into_tokens();
            return quote! { #compile_errors #item };
        }
    };
    let tool = valid::check(&func, &options, &mut errors);
    expand::strip_param_docs(&mut func);
    if !errors.is_empty() {
        let compile_errors = errors.into_tokens();
        // The function as written and, unless it is a method, a stub module.
        let stub = (!tool.method).then(|| expand::stub(&func));
        return quote! { #compile_errors #func #stub };
    }
    let module = expand::module(&func, &tool);
    quote! {
        #func

        #module
    }
}
