//! Expanding a validated tool into its module: the parameters' schema built once (cached in a
//! `LazyLock`), `tool()`, and the handler that decodes a call's arguments, runs the function
//! and turns its output into JSON.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, ReturnType, Type};

use super::valid::Tool;
use crate::beside::module_beside;

/// Drops the doc comments on the parameters, which Rust does not allow there (they went into
/// the schema).
pub(super) fn strip_param_docs(func: &mut ItemFn) {
    for input in func.sig.inputs.iter_mut() {
        if let FnArg::Typed(typed) = input {
            typed.attrs.retain(|attr| !attr.path().is_ident("doc"));
        }
    }
}

/// The module beside a valid tool.
pub(super) fn module(func: &ItemFn, tool: &Tool) -> TokenStream {
    let private = quote!(::blazen::__private::tool);
    let codecs: Vec<Ident> = (0..tool.params.len())
        .map(|i| format_ident!("__BLAZEN_CODEC_{}", i))
        .collect();
    // The only place the parameter types' traits are required, placed at each type.
    let codec_items = tool.params.iter().zip(&codecs).map(|(p, codec)| {
        let ty = &p.ty;
        quote_spanned! {ty.span()=>
            const #codec: #private::Codec<#ty> = #private::codec::<#ty>();
        }
    });
    let param_specs = tool.params.iter().zip(&codecs).map(|(p, codec)| {
        let name = &p.name;
        let optional = p.optional;
        let doc = match &p.doc {
            Some(doc) => quote!(::core::option::Option::Some(#doc)),
            None => quote!(::core::option::Option::None),
        };
        quote!(#private::Param::new(#name, #doc, #optional, &#codec))
    });
    let tool_name = &tool.name;
    let description = &tool.description;
    let tool_doc = format!("The `blazen::ToolDef` of the `{tool_name}` tool.");
    let handler = handler(func, tool, &codecs);
    around(
        func,
        quote! {
            #[allow(unused_imports)] // The parameter types are named as in the parent module.
            use super::*;

            #(#codec_items)*

            static __BLAZEN_PARAMETERS: ::std::sync::LazyLock<#private::Parameters> =
                ::std::sync::LazyLock::new(|| #private::Parameters::build(&[#(#param_specs),*]));

            #[doc = #tool_doc]
            pub fn tool() -> ::blazen::ToolDef {
                #private::tool_def(#tool_name, #description, &__BLAZEN_PARAMETERS, __blazen_handler)
            }

            #handler
        },
    )
}

/// The module beside a function with errors: the same `tool()`, so uses of `name::tool()`
/// elsewhere do not add errors of their own.
pub(super) fn stub(func: &ItemFn) -> TokenStream {
    around(
        func,
        quote! {
            /// The tool (not built: the function has errors).
            pub fn tool() -> ::blazen::ToolDef {
                ::core::unreachable!("`#[tool]` reported errors for this function")
            }
        },
    )
}

/// The tool's module beside its function.
fn around(func: &ItemFn, body: TokenStream) -> TokenStream {
    let name = &func.sig.ident;
    let doc = format!(
        "The LLM tool of [`{name}`](fn@{name}): `{name}::tool()` returns its `blazen::ToolDef`."
    );
    module_beside(func, &doc, body)
}

/// The handler: takes each argument out of the call's JSON, then runs the function.
fn handler(func: &ItemFn, tool: &Tool, codecs: &[Ident]) -> TokenStream {
    let private = quote!(::blazen::__private::tool);
    let locals: Vec<Ident> = tool
        .params
        .iter()
        .map(|p| format_ident!("__blazen_{}", p.ident.to_string().trim_start_matches("r#")))
        .collect();
    let single = tool.params.len() == 1;
    let takes = tool
        .params
        .iter()
        .zip(&locals)
        .zip(codecs)
        .map(|((p, local), codec)| {
            let name = &p.name;
            if single {
                quote! {
                    let #local = if __BLAZEN_PARAMETERS.flattened {
                        __arguments.take_all(&#codec)
                    } else {
                        __arguments.take(#name, &#codec)
                    };
                }
            } else {
                quote! {
                    let #local = __arguments.take(#name, &#codec);
                }
            }
        });
    let unpack = if locals.is_empty() {
        quote!()
    } else {
        let somes = locals
            .iter()
            .map(|l| quote!(::core::option::Option::Some(#l)));
        quote! {
            let (#(#somes,)*) = (#(#locals,)*) else {
                return #private::ready(::core::result::Result::Err(#private::lost_argument()));
            };
        }
    };
    let run = run(func, &locals);
    quote! {
        fn __blazen_handler(
            __args: #private::__serde_json::Value,
        ) -> ::blazen::__private::tool::ToolFuture {
            #[allow(unused_mut)] // Only mutated when the tool has parameters.
            let mut __arguments = #private::Arguments::new(__args, &__BLAZEN_PARAMETERS);
            #(#takes)*
            if let ::core::result::Result::Err(__error) = __arguments.finish() {
                return #private::ready(::core::result::Result::Err(__error));
            }
            #unpack
            #run
        }
    }
}

/// Calls the function with the decoded arguments and turns its output into the tool's result.
fn run(func: &ItemFn, locals: &[Ident]) -> TokenStream {
    let private = quote!(::blazen::__private::tool);
    let fn_ident = &func.sig.ident;
    let call_args = quote!(#(#locals),*);
    let call = if func.sig.asyncness.is_some() {
        quote!(super::#fn_ident(#call_args).await)
    } else {
        quote!(super::#fn_ident(#call_args))
    };
    let convert = match &func.sig.output {
        ReturnType::Type(_, ty) if is_result(ty) => quote_spanned! {ty.span()=>
            match __output {
                ::core::result::Result::Ok(__value) => #private::output(&__value),
                ::core::result::Result::Err(__error) => {
                    ::core::result::Result::Err(#private::error(__error))
                }
            }
        },
        ReturnType::Type(_, ty) => quote_spanned! {ty.span()=> #private::output(&__output) },
        ReturnType::Default => quote!(#private::output(&__output)),
    };
    if func.sig.asyncness.is_some() {
        quote! {
            ::std::boxed::Box::pin(async move {
                let __output = #call;
                #convert
            })
        }
    } else {
        quote! {
            let __output = #call;
            #private::ready(#convert)
        }
    }
}

/// Whether a return type is written `Result<..>` (its `Err` becomes a `ToolError`).
fn is_result(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Result")
}
