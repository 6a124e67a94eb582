//! `#[step]`: parse → validate → expand.
//!
//! The function stays as written. Beside it comes a module of the same name holding the
//! step's metadata as constants (read by `workflow!`'s compile-time check) and
//! `step()`, which returns the run-time `blazen::Step`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{FnArg, ItemFn, LitStr, ReturnType, Type};

use crate::ctxt::Errors;
use crate::options::{Opt, OptionParser, Spec};

/// The options of `#[step(...)]`.
#[derive(Default)]
struct Options {
    accepts: Option<(syn::Ident, Vec<Type>)>,
    emits: Vec<Type>,
    waits_for: Vec<Type>,
    max_concurrency: Option<syn::Expr>,
    name: Option<LitStr>,
}

/// The options of `#[step(..)]`, for the option parser.
const SPEC: Spec = Spec {
    name: "`#[step]`",
    keys: &["accepts", "emits", "waits_for", "max_concurrency", "name"],
    form: "",
};

fn parse_options(attr: TokenStream, errors: &mut Errors) -> Options {
    let mut opts = Options::default();
    OptionParser::new(&SPEC).parse(attr, errors, |opt, errors| {
        match opt.key.to_string().as_str() {
            "accepts" => opts.accepts = event_list(&opt, errors).map(|l| (opt.key.clone(), l)),
            "emits" => opts.emits = event_list(&opt, errors).unwrap_or_default(),
            "waits_for" => opts.waits_for = event_list(&opt, errors).unwrap_or_default(),
            "max_concurrency" => opts.max_concurrency = max_concurrency(&opt, errors),
            _ => {
                let usage = "`name` takes a string literal: `name = \"analyze_v2\"`";
                match opt.parse::<LitStr>(errors, usage) {
                    Some(lit) if lit.value().is_empty() => {
                        errors.spanned(&lit, "a step's name cannot be empty")
                    }
                    lit => opts.name = lit,
                }
            }
        }
    });
    opts
}

/// `accepts`, `emits` or `waits_for`: a non-empty list of event types.
fn event_list(opt: &Opt, errors: &mut Errors) -> Option<Vec<Type>> {
    let key = &opt.key;
    let usage = format!("`{key}` takes a list of event types: `{key} = [AEvent, BEvent]`");
    let list = opt.list::<Type>(errors, &usage)?;
    if list.is_empty() {
        errors.spanned(
            &opt.value,
            format!("`{key} = []` lists no event; list event types or drop the option"),
        );
        return None;
    }
    Some(list)
}

/// `max_concurrency`: an unsuffixed `usize` literal, or a path, block or call giving one.
fn max_concurrency(opt: &Opt, errors: &mut Errors) -> Option<syn::Expr> {
    let value = opt.value(errors)?;
    match syn::parse2::<syn::Expr>(value.clone()) {
        Ok(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        })) if lit.base10_parse::<usize>().is_err() || !lit.suffix().is_empty() => {
            errors.spanned(
                &lit,
                "`max_concurrency` takes a number of instances (0: unlimited)",
            );
            None
        }
        Ok(
            expr @ syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(_),
                ..
            }),
        )
        | Ok(expr @ (syn::Expr::Path(_) | syn::Expr::Block(_) | syn::Expr::Call(_))) => Some(expr),
        _ => {
            errors.spanned(
                value,
                "`max_concurrency` takes a number of instances (0: unlimited) or a `usize` constant",
            );
            None
        }
    }
}

/// How the context parameter is taken.
#[derive(Clone, Copy)]
enum CtxKind {
    Ref,
    Mut,
    Value,
}

/// One parameter of the step function, in order.
enum Param {
    Ctx(CtxKind),
    Event,
}

/// Whether `ty` names `Context` (by its last path segment), and how.
fn context_kind(ty: &Type) -> Option<CtxKind> {
    fn is_context(ty: &Type) -> bool {
        match ty {
            Type::Path(p) if p.qself.is_none() => p
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Context" && s.arguments.is_empty()),
            Type::Paren(p) => is_context(&p.elem),
            Type::Group(g) => is_context(&g.elem),
            _ => false,
        }
    }
    match ty {
        Type::Reference(r) if is_context(&r.elem) => Some(if r.mutability.is_some() {
            CtxKind::Mut
        } else {
            CtxKind::Ref
        }),
        _ if is_context(ty) => Some(CtxKind::Value),
        _ => None,
    }
}

/// Whether `ty` is `Box<dyn Event>` as written.
fn is_boxed_dyn_event(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    if last.ident != "Box" {
        return false;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    matches!(
        args.args.first(),
        Some(syn::GenericArgument::Type(Type::TraitObject(_)))
    )
}

/// Rewrites the type paths of the user's scope for use inside the generated module:
/// `self::x` becomes `super::x` and `super::x` becomes `super::super::x`. Other relative
/// paths resolve through the module's `use super::*;`.
struct Reroot;

impl VisitMut for Reroot {
    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        if path.leading_colon.is_none() {
            if let Some(first) = path.segments.first_mut() {
                if first.ident == "self" {
                    first.ident = syn::Ident::new("super", first.ident.span());
                } else if first.ident == "super" {
                    let span = first.ident.span();
                    path.segments
                        .insert(0, syn::Ident::new("super", span).into());
                }
            }
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}

fn reroot(ty: &Type) -> Type {
    let mut ty = ty.clone();
    Reroot.visit_type_mut(&mut ty);
    ty
}

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
    let opts = parse_options(attr, &mut errors);
    let module = expand_fn(&func, opts, &mut errors);
    let mut out = errors.into_tokens();
    out.extend(quote!(#func));
    out.extend(module);
    out
}

fn expand_fn(func: &ItemFn, opts: Options, errors: &mut Errors) -> TokenStream {
    let sig = &func.sig;
    let fn_name = &sig.ident;
    let vis = &func.vis;
    let step_name = opts
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| fn_name.to_string());

    // Validate the signature; a fatal problem still yields a (poisoned) module, so uses of
    // `name::step()` and `workflow!` do not pile more errors on top.
    let mut fatal = false;
    if let Some(c) = &sig.constness {
        errors.spanned(c, "a step cannot be a `const fn`");
        fatal = true;
    }
    if let Some(u) = &sig.unsafety {
        errors.spanned(u, "a step cannot be an `unsafe fn`");
        fatal = true;
    }
    if let Some(v) = &sig.variadic {
        errors.spanned(v, "a step cannot be variadic");
        fatal = true;
    }
    for g in &sig.generics.params {
        if !matches!(g, syn::GenericParam::Lifetime(_)) {
            errors.spanned(
                g,
                "a step cannot be generic: the graph checks need its event types",
            );
            fatal = true;
        }
    }

    let mut params: Vec<Param> = Vec::new();
    let mut method = false;
    let mut ctx_seen = false;
    let mut event_seen: Option<&Type> = None;
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => {
                errors.spanned(r, "a step is a free function: it cannot take `self`");
                fatal = true;
                method = true;
            }
            FnArg::Typed(pt) => {
                let ty = &*pt.ty;
                if let Some(kind) = context_kind(ty) {
                    if ctx_seen {
                        errors.spanned(
                            ty,
                            "a step takes one `Context` parameter; this is a second one",
                        );
                        fatal = true;
                    }
                    ctx_seen = true;
                    params.push(Param::Ctx(kind));
                } else if matches!(ty, Type::ImplTrait(_)) {
                    errors.spanned(
                        ty,
                        "the event parameter needs a concrete type: an event, an `#[event(one_of)]` enum or `Box<dyn Event>`",
                    );
                    fatal = true;
                } else if let Some(first) = event_seen {
                    let _ = first;
                    errors.spanned(
                        ty,
                        "a step takes one event parameter; this is a second one \
                         (to accept several event types, take an `#[event(one_of)]` enum, \
                         or `Box<dyn Event>` with `accepts = [..]`)",
                    );
                    fatal = true;
                } else {
                    event_seen = Some(ty);
                    params.push(Param::Event);
                }
            }
        }
    }

    let ret_ty: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            if matches!(**ty, Type::ImplTrait(_)) {
                errors.spanned(
                    ty,
                    "a step returns a concrete type (write an `async fn` instead of returning `impl Future`)",
                );
                fatal = true;
            }
            (**ty).clone()
        }
    };
    let ret_span = ret_ty.span();
    let ret_ty = reroot(&ret_ty);

    let event_param = event_seen.map(|t| (t, reroot(t)));
    if let (Some((kw, _)), None) = (&opts.accepts, &event_param) {
        errors.spanned(
            kw,
            "`accepts = [..]` needs an event parameter to receive the events \
             (an `#[event(one_of)]` enum or `Box<dyn Event>`)",
        );
        fatal = true;
    }

    // The module exists exactly when the function does.
    let cfgs: Vec<&syn::Attribute> = func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let private = quote!(::blazen::__private);
    let mod_doc = format!(
        "The workflow step generated by `#[step]` from the function `{fn_name}`: \
         `{fn_name}::step()` returns the run-time `Step`."
    );

    if method {
        // A method sits in an `impl` block, where no module can go beside it.
        return TokenStream::new();
    }
    if fatal {
        return quote! {
            #(#cfgs)*
            #[doc = #mod_doc]
            #[allow(dead_code)]
            #vis mod #fn_name {
                #[doc(hidden)]
                pub const __BLAZEN_STEP: #private::StepNode<'static> =
                    #private::StepNode::invalid(#step_name);
                /// The run-time step (this step did not compile).
                pub fn step() -> ::blazen::Step {
                    #private::invalid_step(&__BLAZEN_STEP)
                }
            }
        };
    }

    // What the step accepts.
    let accepts_list = match (&opts.accepts, &event_param) {
        (Some((_, list)), _) => {
            let nodes = list.iter().map(|t| {
                let span = t.span();
                let t = reroot(t);
                quote_spanned!(span=> <#t as #private::ListedEvent>::NODE)
            });
            quote!(&[#(#nodes),*])
        }
        // The base event type, as the seed's base `Event` annotation: StartEvent.
        (None, Some((orig, _))) if is_boxed_dyn_event(orig) => {
            quote!(&[#private::EventNode::of::<::blazen::StartEvent>()])
        }
        (None, Some((orig, ty))) => {
            quote_spanned!(orig.span()=> <#ty as #private::StepInput>::LIST)
        }
        (None, None) => quote!(&[#private::EventNode::of::<::blazen::StartEvent>()]),
    };
    let param_check = match (&opts.accepts, &event_param) {
        (Some(_), Some((orig, ty))) => quote_spanned! {orig.span()=>
            const _: () = #private::assert_param_holds(
                #step_name,
                <#ty as #private::StepInput>::LIST,
                __BLAZEN_ACCEPTS,
            );
        },
        _ => TokenStream::new(),
    };

    // What it emits: the return type's events, then `emits = [..]`.
    let ret_list = quote_spanned!(ret_span=> <#ret_ty as #private::EmitSet>::LIST);
    let emits_def = if opts.emits.is_empty() {
        quote! {
            #[doc(hidden)]
            pub const __BLAZEN_EMITS: &[#private::EventNode<'static>] = #ret_list;
        }
    } else {
        let n = opts.emits.len();
        let nodes = opts.emits.iter().map(|t| {
            let span = t.span();
            let t = reroot(t);
            quote_spanned!(span=> <#t as #private::ListedEvent>::NODE)
        });
        quote! {
            const __BLAZEN_EMITS_ARRAY: [#private::EventNode<'static>; #ret_list.len() + #n] =
                #private::concat_events(#ret_list, &[#(#nodes),*]);
            #[doc(hidden)]
            pub const __BLAZEN_EMITS: &[#private::EventNode<'static>] = &__BLAZEN_EMITS_ARRAY;
        }
    };

    // What it waits for inside its body (`ctx.wait_for_event`).
    let waits_nodes = opts.waits_for.iter().map(|t| {
        let span = t.span();
        let t = reroot(t);
        quote_spanned!(span=> <#t as #private::ListedEvent>::NODE)
    });
    let with_waits = if opts.waits_for.is_empty() {
        TokenStream::new()
    } else {
        quote!(.with_waits(&[#(#waits_nodes),*]))
    };

    // The handler: recover the parameter, call the function as written, convert the output.
    let ctx = format_ident!("__blazen_ctx", span = Span::mixed_site());
    let ev = format_ident!("__blazen_ev", span = Span::mixed_site());
    let mut needs_mut = false;
    let args = params.iter().map(|p| match p {
        Param::Ctx(CtxKind::Ref) => quote!(&#ctx),
        Param::Ctx(CtxKind::Mut) => {
            needs_mut = true;
            quote!(&mut #ctx)
        }
        Param::Ctx(CtxKind::Value) => quote!(#ctx),
        Param::Event => quote!(#ev),
    });
    let args: Vec<TokenStream> = args.collect();
    let ctx_binding = if needs_mut {
        quote!(mut #ctx)
    } else {
        quote!(#ctx)
    };
    let recv = match &event_param {
        Some((orig, ty)) => quote_spanned! {orig.span()=>
            let #ev = <#ty as #private::StepInput>::from_event(#ev)?;
        },
        None => quote!(let _ = #ev;),
    };
    let call = if sig.asyncness.is_some() {
        quote!(super::#fn_name(#(#args),*).await)
    } else {
        quote!(super::#fn_name(#(#args),*))
    };
    let output =
        quote_spanned!(ret_span=> <#ret_ty as #private::EmitSet>::into_output(__blazen_out));
    let max_concurrency = opts
        .max_concurrency
        .as_ref()
        .map(|e| quote!(#e))
        .unwrap_or_else(|| quote!(0));
    let unused_ctx = if params.iter().any(|p| matches!(p, Param::Ctx(_))) {
        TokenStream::new()
    } else {
        quote!(let _ = #ctx;)
    };

    quote! {
        #(#cfgs)*
        #[doc = #mod_doc]
        // The module is used through `workflow!` or `name::step()`; a step defined but not yet
        // wired into a workflow should not warn twice.
        #[allow(dead_code)]
        #vis mod #fn_name {
            #[allow(unused_imports)]
            use super::*;

            #[doc(hidden)]
            pub const __BLAZEN_ACCEPTS: &[#private::EventNode<'static>] = #accepts_list;
            #emits_def
            #[doc(hidden)]
            pub const __BLAZEN_STEP: #private::StepNode<'static> =
                #private::StepNode::new(#step_name, __BLAZEN_ACCEPTS, __BLAZEN_EMITS)#with_waits;
            #param_check

            /// The run-time step, for `Workflow::builder(..).step(..)`.
            pub fn step() -> ::blazen::Step {
                #private::build_step(
                    &__BLAZEN_STEP,
                    #max_concurrency,
                    |#ctx_binding: ::blazen::Context, #ev: #private::Box<dyn ::blazen::Event>| async move {
                        #unused_ctx
                        #recv
                        let __blazen_out = #call;
                        #output
                    },
                )
            }
        }
    }
}
