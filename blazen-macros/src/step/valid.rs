//! Validating the step function: what a step can be, every problem reported at its token.

use syn::{FnArg, ItemFn, LitStr, ReturnType, Signature, Type};

use super::parse::Options;
use crate::ctxt::Errors;

/// How the context parameter is taken.
#[derive(Clone, Copy)]
pub(super) enum CtxKind {
    Ref,
    Mut,
    Value,
}

/// One parameter of the step function, in order.
pub(super) enum Param {
    Ctx(CtxKind),
    Event,
}

/// A step function that passed validation: what the expansion needs.
pub(super) struct Step<'a> {
    pub(super) func: &'a ItemFn,
    /// The step's name: `name = ".."` or the function's name.
    pub(super) name: String,
    pub(super) params: Vec<Param>,
    /// The event parameter's type, as written.
    pub(super) event: Option<&'a Type>,
    /// The return type as written (`()` for none).
    pub(super) ret: Type,
    pub(super) opts: Options,
}

/// The outcome of validation; the errors are in the context.
pub(super) enum Checked<'a> {
    // Boxed: one allocation per step, against moving a large enum around.
    Valid(Box<Step<'a>>),
    /// A problem no expansion can work around; the step's name, for a poisoned module.
    Invalid(String),
    /// A method: it sits in an `impl` block, where no module can go beside it.
    Method,
}

pub(super) fn check<'a>(func: &'a ItemFn, opts: Options, errors: &mut Errors) -> Checked<'a> {
    let sig = &func.sig;
    let name = opts
        .name
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| sig.ident.to_string());
    let mut ok = check_qualifiers(sig, errors);
    let params = check_params(sig, errors);
    ok &= params.ok;
    let (ret, ret_ok) = check_return(sig, errors);
    ok &= ret_ok;
    if let (Some((kw, _)), None) = (&opts.accepts, params.event) {
        errors.spanned(
            kw,
            "`accepts = [..]` needs an event parameter to receive the events \
             (an `#[event(one_of)]` enum or `Box<dyn Event>`)",
        );
        ok = false;
    }
    check_policies(&name, &opts, errors);
    if params.method {
        Checked::Method
    } else if !ok {
        Checked::Invalid(name)
    } else {
        Checked::Valid(Box::new(Step {
            func,
            name,
            params: params.list,
            event: params.event,
            ret,
            opts,
        }))
    }
}

/// `retry = ..` and `timeout = ..` take expressions of their types, which the compiler
/// checks; a literal can be neither, so it is reported here, in the step's name. The step
/// still expands (without the option).
fn check_policies(name: &str, opts: &Options, errors: &mut Errors) {
    if let Some(syn::Expr::Lit(lit)) = &opts.retry {
        errors.spanned(
            lit,
            format!(
                "step `{name}`: `retry` takes a `RetryPolicy`, not a literal: \
                 `retry = RetryPolicy::exponential(3, Duration::from_millis(100))`"
            ),
        );
    }
    if let Some(syn::Expr::Lit(lit)) = &opts.timeout {
        errors.spanned(
            lit,
            format!(
                "step `{name}`: `timeout` takes a `Duration`, not a literal: \
                 `timeout = Duration::from_secs(5)`"
            ),
        );
    }
}

/// `const`, `unsafe`, variadic, type or const generics: false when one is there.
fn check_qualifiers(sig: &Signature, errors: &mut Errors) -> bool {
    let mut ok = true;
    if let Some(c) = &sig.constness {
        errors.spanned(c, "a step cannot be a `const fn`");
        ok = false;
    }
    if let Some(u) = &sig.unsafety {
        errors.spanned(u, "a step cannot be an `unsafe fn`");
        ok = false;
    }
    if let Some(v) = &sig.variadic {
        errors.spanned(v, "a step cannot be variadic");
        ok = false;
    }
    for g in &sig.generics.params {
        if !matches!(g, syn::GenericParam::Lifetime(_)) {
            errors.spanned(
                g,
                "a step cannot be generic: the graph checks need its event types",
            );
            ok = false;
        }
    }
    ok
}

/// The parameters as validated.
struct Params<'a> {
    list: Vec<Param>,
    event: Option<&'a Type>,
    method: bool,
    ok: bool,
}

/// At most one `Context` and one event parameter, the event of a concrete type, no `self`.
fn check_params<'a>(sig: &'a Signature, errors: &mut Errors) -> Params<'a> {
    let mut params = Params {
        list: Vec::new(),
        event: None,
        method: false,
        ok: true,
    };
    for arg in &sig.inputs {
        let ty = match arg {
            FnArg::Receiver(r) => {
                errors.spanned(r, "a step is a free function: it cannot take `self`");
                params.ok = false;
                params.method = true;
                continue;
            }
            FnArg::Typed(pt) => &*pt.ty,
        };
        if let Some(kind) = context_kind(ty) {
            if params.list.iter().any(|p| matches!(p, Param::Ctx(_))) {
                errors.spanned(
                    ty,
                    "a step takes one `Context` parameter; this is a second one",
                );
                params.ok = false;
            }
            params.list.push(Param::Ctx(kind));
        } else if matches!(ty, Type::ImplTrait(_)) {
            errors.spanned(
                ty,
                "the event parameter needs a concrete type: an event, an `#[event(one_of)]` enum or `Box<dyn Event>`",
            );
            params.ok = false;
        } else if params.event.is_some() {
            errors.spanned(
                ty,
                "a step takes one event parameter; this is a second one \
                 (to accept several event types, take an `#[event(one_of)]` enum, \
                 or `Box<dyn Event>` with `accepts = [..]`)",
            );
            params.ok = false;
        } else {
            params.event = Some(ty);
            params.list.push(Param::Event);
        }
    }
    params
}

/// The return type (`()` for none), and false when it is `impl Trait`.
fn check_return(sig: &Signature, errors: &mut Errors) -> (Type, bool) {
    match &sig.output {
        ReturnType::Default => (syn::parse_quote!(()), true),
        ReturnType::Type(_, ty) => {
            let concrete = !matches!(**ty, Type::ImplTrait(_));
            if !concrete {
                errors.spanned(
                    ty,
                    "a step returns a concrete type (write an `async fn` instead of returning `impl Future`)",
                );
            }
            ((**ty).clone(), concrete)
        }
    }
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
