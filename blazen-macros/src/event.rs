//! `#[derive(Event)]`: parse → validate → expand.
//!
//! Two forms:
//! - an event (struct of any shape, or enum): implements `Event` and `TypedEvent`;
//!   `#[event(rename = "...")]` sets the routing name;
//! - `#[event(one_of)]` on an enum whose variants each wrap one event type: the enum is not an
//!   event itself but a choice of events. Returned by a step it emits the wrapped event; as the
//!   event parameter it receives any of them. Either way the wrapped types are visible to the
//!   graph checks.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::ctxt::Errors;
use crate::options::{OptionParser, Spec};

/// The parsed `#[event(...)]` options.
#[derive(Default)]
struct Options {
    rename: Option<LitStr>,
    one_of: Option<Span>,
}

/// The options of `#[event(..)]`, for the option parser.
const SPEC: Spec = Spec {
    name: "`#[event]`",
    keys: &["rename", "one_of"],
    form: "",
};

fn parse_options(input: &DeriveInput, errors: &mut Errors) -> Options {
    let mut opts = Options::default();
    let mut parser = OptionParser::new(&SPEC);
    for attr in &input.attrs {
        if !attr.path().is_ident("event") {
            continue;
        }
        let list = match &attr.meta {
            syn::Meta::List(list) => list,
            other => {
                errors.spanned(
                    other,
                    "expected `#[event(rename = \"...\")]` or `#[event(one_of)]`",
                );
                continue;
            }
        };
        parser.parse(list.tokens.clone(), errors, |opt, errors| {
            if opt.key == "rename" {
                let usage = "`rename` takes a string literal: `#[event(rename = \"Name\")]`";
                match opt.string(errors, usage) {
                    Some(lit) if lit.value().is_empty() => {
                        errors.spanned(&lit, "the event name cannot be empty")
                    }
                    Some(lit) => opts.rename = Some(lit),
                    None => {}
                }
            } else if opt.flag(errors, "`one_of` takes no value: `#[event(one_of)]`") {
                opts.one_of = Some(opt.key.span());
            }
        });
    }
    opts
}

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let opts = parse_options(&input, &mut errors);

    let generics = &input.generics;
    if !generics.params.is_empty() {
        errors.spanned(
            generics,
            "an event cannot be generic: its routing name must name exactly one type \
             (define one event type per instantiation)",
        );
        // No impl can be written for a generic type without its parameters.
        return errors.into_tokens();
    }

    let expanded = if let Some(span) = opts.one_of {
        if let Some(rename) = &opts.rename {
            errors.spanned(
                rename,
                "`rename` does not apply to `#[event(one_of)]`: the wrapped events keep their names",
            );
        }
        expand_one_of(&input, span, &mut errors)
    } else {
        if let Data::Union(u) = &input.data {
            errors.spanned(
                u.union_token,
                "an event must be a struct or an enum, not a union",
            );
            return errors.into_tokens();
        }
        expand_event(&input, opts.rename.as_ref())
    };
    let mut out = errors.into_tokens();
    out.extend(expanded);
    out
}

fn expand_event(input: &DeriveInput, rename: Option<&LitStr>) -> TokenStream {
    let ident = &input.ident;
    let type_name = ident.to_string();
    let name = match rename {
        Some(lit) => quote!(#lit),
        None => quote!(#type_name),
    };
    // The serde requirement, stated at the type's name in the macro's own words. As a where
    // clause it also satisfies the supertraits inside the impls, so a missing derive gives
    // one error per impl instead of one per bound.
    let serde_bound = quote_spanned!(ident.span()=> where #ident: ::blazen::__private::SerdeEvent);
    quote! {
        #[automatically_derived]
        impl ::blazen::Event for #ident #serde_bound {
            fn event_type(&self) -> &str {
                <Self as ::blazen::TypedEvent>::EVENT_TYPE
            }
            fn to_json(&self) -> ::blazen::__private::serde_json::Value {
                ::blazen::__private::event_to_json(self)
            }
            fn as_any(&self) -> &dyn ::core::any::Any {
                self
            }
            fn into_any(
                self: ::blazen::__private::Box<Self>,
            ) -> ::blazen::__private::Box<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync> {
                self
            }
            fn clone_event(&self) -> ::blazen::__private::Box<dyn ::blazen::Event> {
                ::blazen::__private::Box::new(::core::clone::Clone::clone(self))
            }
        }

        #[automatically_derived]
        impl ::blazen::TypedEvent for #ident #serde_bound {
            const EVENT_TYPE: &'static str = #name;
            const EVENT_IDENTITY: &'static str =
                ::core::concat!(::core::module_path!(), "::", #type_name);
        }
    }
}

fn expand_one_of(input: &DeriveInput, one_of: Span, errors: &mut Errors) -> TokenStream {
    let ident = &input.ident;
    let data = match &input.data {
        Data::Enum(data) => data,
        _ => {
            errors.at(
                one_of,
                "`#[event(one_of)]` goes on an enum whose variants each wrap one event type",
            );
            return TokenStream::new();
        }
    };
    if data.variants.is_empty() {
        errors.spanned(
            ident,
            "an `#[event(one_of)]` enum needs at least one variant wrapping an event type",
        );
        return TokenStream::new();
    }
    let mut variants = Vec::new();
    for v in &data.variants {
        match &v.fields {
            Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                let ty = &f.unnamed[0].ty;
                variants.push((&v.ident, ty.clone()));
            }
            _ => errors.spanned(
                v,
                format!(
                    "variant `{}` of an `#[event(one_of)]` enum must wrap exactly one event type: `{}(SomeEvent)`",
                    v.ident, v.ident
                ),
            ),
        }
    }
    if variants.len() != data.variants.len() {
        // Without every variant the impls would be wrong; the errors above say why.
        return TokenStream::new();
    }
    let nodes = variants
        .iter()
        .map(|(_, ty)| quote_spanned!(ty.span()=> <#ty as ::blazen::__private::ListedEvent>::NODE));
    let nodes2 = nodes.clone();
    let arms_out = variants
        .iter()
        .map(|(v, _)| quote!(#ident::#v(ev) => ::blazen::IntoStepOutput::into_step_output(ev),));
    let arms_in = variants.iter().map(|(v, ty)| {
        quote! {
            if ev.event_type() == <#ty as ::blazen::TypedEvent>::EVENT_TYPE {
                return ::blazen::__private::downcast_event::<#ty>(ev).map(#ident::#v);
            }
        }
    });
    let name = ident.to_string();
    quote! {
        #[automatically_derived]
        impl ::blazen::IntoStepOutput for #ident {
            fn into_step_output(
                self,
            ) -> ::core::result::Result<::blazen::StepOutput, ::blazen::WorkflowError> {
                ::blazen::__private::EmitSet::into_output(self)
            }
        }

        #[automatically_derived]
        impl ::blazen::__private::EmitSet for #ident {
            const LIST: &'static [::blazen::__private::EventNode<'static>] = &[#(#nodes),*];
            fn into_output(
                self,
            ) -> ::core::result::Result<::blazen::StepOutput, ::blazen::WorkflowError> {
                match self {
                    #(#arms_out)*
                }
            }
        }

        #[automatically_derived]
        impl ::blazen::__private::StepInput for #ident {
            const LIST: &'static [::blazen::__private::EventNode<'static>] = &[#(#nodes2),*];
            fn from_event(
                ev: ::blazen::__private::Box<dyn ::blazen::Event>,
            ) -> ::core::result::Result<Self, ::blazen::WorkflowError> {
                #(#arms_in)*
                ::core::result::Result::Err(::blazen::__private::unexpected_event(#name, &*ev))
            }
        }
    }
}
