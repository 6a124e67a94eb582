//! The module `#[step]` and `#[tool]` put beside the user's function, under its name
//! (`name::step()`, `name::tool()`), with the function's `cfg`s and its visibility.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

/// `mod <fn name> { body }` documented by `doc`.
pub(crate) fn module_beside(func: &ItemFn, doc: &str, body: TokenStream) -> TokenStream {
    let name = &func.sig.ident;
    let vis = &func.vis;
    let cfgs = func.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    quote! {
        #(#cfgs)*
        #[doc = #doc]
        // Used through `workflow!`, `name::step()` or `name::tool()`: a step not yet wired into
        // a workflow, or a tool whose function alone is called, should not warn twice.
        #[allow(dead_code)]
        #vis mod #name {
            #body
        }
    }
}
