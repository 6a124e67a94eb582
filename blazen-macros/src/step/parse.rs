//! Parsing `#[step(..)]`'s options.

use proc_macro2::TokenStream;
use syn::{LitStr, Type};

use crate::ctxt::Errors;
use crate::options::{Opt, OptionParser, Spec};

/// The options of `#[step(...)]`.
#[derive(Default)]
pub(super) struct Options {
    pub(super) accepts: Option<(syn::Ident, Vec<Type>)>,
    pub(super) emits: Vec<Type>,
    pub(super) waits_for: Vec<Type>,
    pub(super) max_concurrency: Option<syn::Expr>,
    pub(super) name: Option<LitStr>,
    /// `retry = <RetryPolicy expression>`.
    pub(super) retry: Option<syn::Expr>,
    /// `timeout = <Duration expression>`.
    pub(super) timeout: Option<syn::Expr>,
}

/// The options of `#[step(..)]`, for the option parser.
const SPEC: Spec = Spec {
    name: "`#[step]`",
    keys: &[
        "accepts",
        "emits",
        "waits_for",
        "max_concurrency",
        "name",
        "retry",
        "timeout",
    ],
    form: "",
};

pub(super) fn options(attr: TokenStream, errors: &mut Errors) -> Options {
    let mut opts = Options::default();
    OptionParser::new(&SPEC).parse(attr, errors, |opt, errors| {
        match opt.key.to_string().as_str() {
            "accepts" => opts.accepts = event_list(&opt, errors).map(|l| (opt.key.clone(), l)),
            "emits" => opts.emits = event_list(&opt, errors).unwrap_or_default(),
            "waits_for" => opts.waits_for = event_list(&opt, errors).unwrap_or_default(),
            "max_concurrency" => opts.max_concurrency = max_concurrency(&opt, errors),
            "retry" => {
                let usage = "`retry` takes a `RetryPolicy`: \
                             `retry = RetryPolicy::exponential(3, Duration::from_millis(100))`";
                opts.retry = opt.parse::<syn::Expr>(errors, usage);
            }
            "timeout" => {
                let usage = "`timeout` takes a `Duration`: `timeout = Duration::from_secs(5)`";
                opts.timeout = opt.parse::<syn::Expr>(errors, usage);
            }
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
