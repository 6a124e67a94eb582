//! `#[tool]`: parse → validate → expand.
//!
//! The function stays as written (minus the doc comments on its parameters, which Rust does
//! not allow there). Beside it comes a module of the same name whose `tool()` returns the
//! `blazen::ToolDef`: the schema is built once from the parameter types (cached in a
//! `LazyLock`), and the handler decodes a call's arguments, runs the function and turns its
//! output into JSON.
//!
//! Every problem is reported in one pass, each at the user's token; after an error the function
//! is still emitted (with a stub module) so the rest of the crate keeps type-checking.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, ExprLit, FnArg, Ident, ItemFn, Lit, LitStr, Meta, Pat, ReturnType, Type};

use crate::ctxt::Errors;
use crate::options::{OptionParser, Spec};

/// The options of `#[tool(...)]`.
#[derive(Default)]
struct Options {
    name: Option<LitStr>,
    description: Option<LitStr>,
}

/// The options of `#[tool(..)]`, for the option parser.
const SPEC: Spec = Spec {
    name: "`#[tool]`",
    keys: &["name", "description"],
    form: " = \"...\"",
};

fn parse_options(attr: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    OptionParser::new(&SPEC).parse(attr, errors, |opt, errors| {
        let key = &opt.key;
        let value = opt.string(
            errors,
            &format!("`{key}` takes a string: `{key} = \"...\"`"),
        );
        if opt.key == "name" {
            options.name = value;
        } else {
            options.description = value;
        }
    });
    if let Some(description) = &options.description {
        if description.value().trim().is_empty() {
            errors.spanned(
                description,
                "a tool's description tells the model what it does: it cannot be empty",
            );
        }
    }
    if let Some(name) = &options.name {
        let text = name.value();
        let valid = !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            errors.spanned(
                name,
                "a tool name is 1 to 64 ASCII letters, digits, `_` or `-` (what every provider accepts)",
            );
        }
    }
    options
}

/// The text of the `#[doc = "..."]` attributes, as the user wrote the `///` lines.
fn doc_text(attrs: &[syn::Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            {
                let line = s.value();
                lines.push(
                    line.strip_prefix(' ')
                        .unwrap_or(&line)
                        .trim_end()
                        .to_owned(),
                );
            }
        }
    }
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// One parameter of the function.
struct Param {
    ident: Ident,
    name: String,
    ty: Type,
    doc: Option<String>,
    optional: bool,
}

/// Whether a type is written `Option<T>` (such parameters may be left out).
fn is_option(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.qself.is_none()
        && path.path.segments.last().is_some_and(|segment| {
            segment.ident == "Option"
                && matches!(&segment.arguments, syn::PathArguments::AngleBracketed(a) if a.args.len() == 1)
        })
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

/// Finds the types a tool parameter cannot have, reporting each at its token.
struct TypeCheck<'a> {
    errors: &'a mut Errors,
}

impl VisitMut for TypeCheck<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        match ty {
            Type::ImplTrait(t) => self.errors.spanned(
                &*t,
                "a tool parameter cannot be `impl Trait`: the model sends JSON, so name a concrete type that implements `Deserialize` and `JsonSchema`",
            ),
            Type::Reference(r) => self.errors.spanned(
                &*r,
                "a tool parameter cannot be a reference: arguments are decoded from JSON into owned values (use `String` for `&str`, `Vec<T>` for `&[T]`)",
            ),
            Type::Infer(t) => self.errors.spanned(&*t, "a tool parameter needs a written type"),
            _ => syn::visit_mut::visit_type_mut(self, ty),
        }
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse_options(attr, &mut errors);
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

    // Validate the signature, collecting every problem.
    let sig = &func.sig;
    let mut has_receiver = false;
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics.params,
            "a tool cannot be generic: its parameter types make its JSON Schema, so they must be concrete",
        );
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(
            where_clause,
            "a tool cannot have a `where` clause: it cannot be generic",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "a tool cannot be variadic");
    }
    if sig.constness.is_some() || sig.unsafety.is_some() || sig.abi.is_some() {
        let token = sig
            .constness
            .map(|t| t.span)
            .or(sig.unsafety.map(|t| t.span))
            .unwrap_or_else(|| sig.abi.span());
        errors.at(
            token,
            "a tool is a plain `fn` or `async fn` (not `const`, `unsafe` or `extern`)",
        );
    }
    let mut params = Vec::new();
    for input in func.sig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(receiver) => {
                has_receiver = true;
                errors.spanned(
                    &*receiver,
                    "a tool cannot take `self`: write it as a free function (methods are not tools)",
                );
            }
            FnArg::Typed(typed) => {
                let doc = doc_text(&typed.attrs);
                typed.attrs.retain(|attr| !attr.path().is_ident("doc"));
                let mut ty = (*typed.ty).clone();
                TypeCheck {
                    errors: &mut errors,
                }
                .visit_type_mut(&mut ty);
                let ident = match &*typed.pat {
                    Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                        Some(pat.ident.clone())
                    }
                    other => {
                        errors.spanned(
                            other,
                            "a tool parameter must be a plain name: the name is the argument the model fills in",
                        );
                        None
                    }
                };
                if let Some(ident) = ident {
                    let name = ident.to_string();
                    let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
                    params.push(Param {
                        optional: is_option(&ty),
                        ident,
                        name,
                        ty,
                        doc,
                    });
                }
            }
        }
    }
    let description = match (&options.description, doc_text(&func.attrs)) {
        (Some(description), _) => Some(description.value()),
        (None, Some(doc)) => Some(doc),
        (None, None) => {
            errors.spanned(
                &func.sig.ident,
                "a tool needs a description for the model: add a `///` doc comment to the function, or write `#[tool(description = \"...\")]`",
            );
            None
        }
    };

    let fn_ident = func.sig.ident.clone();
    let vis = func.vis.clone();
    // The module exists exactly when the function does.
    let cfgs: Vec<&syn::Attribute> = func
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .collect();
    let module_doc = format!(
        "The LLM tool of [`{fn_ident}`](fn@{fn_ident}): `{fn_ident}::tool()` returns its `blazen::ToolDef`."
    );
    if !errors.is_empty() {
        let compile_errors = errors.into_tokens();
        // The function as written, and (unless it is a method) a module with the same items, so
        // uses of `name::tool()` elsewhere do not add errors of their own.
        let stub = (!has_receiver).then(|| {
            quote! {
                #(#cfgs)*
                #[doc = #module_doc]
                #[allow(dead_code)] // The stub only exists to stop follow-on errors.
                #vis mod #fn_ident {
                    /// The tool (not built: the function has errors).
                    pub fn tool() -> ::blazen::ToolDef {
                        ::core::unreachable!("`#[tool]` reported errors for this function")
                    }
                }
            }
        });
        return quote! { #compile_errors #func #stub };
    }
    let description = description.unwrap_or_default();
    let tool_name = options.name.as_ref().map(LitStr::value).unwrap_or_else(|| {
        let name = fn_ident.to_string();
        name.strip_prefix("r#").unwrap_or(&name).to_owned()
    });

    let private = quote!(::blazen::__private::tool);
    let codecs: Vec<Ident> = (0..params.len())
        .map(|i| format_ident!("__BLAZEN_CODEC_{}", i))
        .collect();
    // The only place the parameter types' traits are required, placed at each type.
    let codec_items = params.iter().zip(&codecs).map(|(p, codec)| {
        let ty = &p.ty;
        quote_spanned! {ty.span()=>
            const #codec: #private::Codec<#ty> = #private::codec::<#ty>();
        }
    });
    let param_specs = params.iter().zip(&codecs).map(|(p, codec)| {
        let name = &p.name;
        let optional = p.optional;
        let doc = match &p.doc {
            Some(doc) => quote!(::core::option::Option::Some(#doc)),
            None => quote!(::core::option::Option::None),
        };
        quote!(#private::Param::new(#name, #doc, #optional, &#codec))
    });
    let locals: Vec<Ident> = params
        .iter()
        .map(|p| format_ident!("__blazen_{}", p.ident.to_string().trim_start_matches("r#")))
        .collect();
    let single = params.len() == 1;
    let takes = params
        .iter()
        .zip(&locals)
        .zip(&codecs)
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
    let run = if func.sig.asyncness.is_some() {
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
    };
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
    let tool_doc = format!("The `blazen::ToolDef` of the `{tool_name}` tool.");
    let handler = quote! {
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
    };

    quote! {
        #func

        #(#cfgs)*
        #[doc = #module_doc]
        #[allow(dead_code)] // `tool()` may be unused where only the function is called.
        #vis mod #fn_ident {
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
        }
    }
}
