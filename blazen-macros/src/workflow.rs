//! `workflow!`: parse → validate → expand.
//!
//! `workflow!("name", [a, b, path::c], timeout = expr, checkpoint = expr, allow = [..])`
//! expands to a `const` item that runs blazen's graph analysis over the steps' generated
//! metadata during const evaluation (a defect fails the build with a message naming event and
//! step), then to a `Workflow::builder` chain that builds the workflow at run time.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{LitStr, Path, Token};

use crate::ctxt::Errors;
use crate::options::{OptionParser, Spec};

/// The checks that `allow = [..]` can switch off, with their bit names in `__private`.
const ALLOW_KEYS: [(&str, &str); 4] = [
    ("unaccepted", "ALLOW_UNACCEPTED"),
    ("unemitted", "ALLOW_UNEMITTED"),
    ("unreachable", "ALLOW_UNREACHABLE"),
    ("dead_end", "ALLOW_DEAD_END"),
];

/// The options after the steps, for the option parser.
const SPEC: Spec = Spec {
    name: "`workflow!`",
    keys: &["timeout", "checkpoint", "allow"],
    form: "",
};

const USAGE: &str = "expected `workflow!(\"name\", [step_a, step_b], timeout = ..., checkpoint = ..., allow = [..])`";

struct Input {
    name: LitStr,
    steps: Vec<Path>,
    rest: TokenStream,
}

fn parse_head(input: ParseStream<'_>) -> syn::Result<Input> {
    let name: LitStr = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("the workflow's name comes first, as a string literal; {USAGE}"),
        )
    })?;
    input
        .parse::<Token![,]>()
        .map_err(|e| syn::Error::new(e.span(), USAGE))?;
    let content;
    syn::bracketed!(content in input);
    let steps = syn::punctuated::Punctuated::<Path, Token![,]>::parse_terminated(&content)?;
    let rest = if input.is_empty() {
        TokenStream::new()
    } else {
        input.parse::<Token![,]>()?;
        input.parse()?
    };
    Ok(Input {
        name,
        steps: steps.into_iter().collect(),
        rest,
    })
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let parsed = match parse_head.parse2(input) {
        Ok(p) => p,
        Err(e) => {
            let err = e.to_compile_error();
            // Still an expression of the right type, so the caller's code does not cascade.
            return quote!({ #err; ::core::unreachable!() });
        }
    };
    let mut errors = Errors::default();
    let mut timeout = None;
    let mut checkpoint = None;
    let mut allow: Vec<(syn::Ident, &str)> = Vec::new();
    OptionParser::new(&SPEC).parse(parsed.rest, &mut errors, |opt, errors| {
        match opt.key.to_string().as_str() {
            "timeout" => {
                timeout = opt.parse::<syn::Expr>(errors, "`timeout` takes a `Duration` expression")
            }
            "checkpoint" => {
                checkpoint = opt
                    .parse::<syn::Expr>(errors, "`checkpoint` takes a checkpoint store expression")
            }
            _ => {
                let usage = "`allow` takes a list of checks: `allow = [unreachable, dead_end]`";
                for id in opt.list::<syn::Ident>(errors, usage).unwrap_or_default() {
                    let name = id.to_string();
                    match ALLOW_KEYS.iter().find(|(k, _)| *k == name) {
                        Some(_) if allow.iter().any(|(a, _)| *a == id) => {
                            errors.spanned(&id, format!("`{name}` is already allowed"))
                        }
                        Some((_, bit)) => allow.push((id, bit)),
                        None => errors.spanned(
                            &id,
                            format!(
                                "unknown check `{name}`; `allow` takes `unaccepted`, \
                                 `unemitted`, `unreachable` and `dead_end`"
                            ),
                        ),
                    }
                }
            }
        }
    });

    let name = &parsed.name;
    let n = parsed.steps.len();
    let nodes = parsed
        .steps
        .iter()
        .map(|p| quote_spanned!(p.span()=> #p::__BLAZEN_STEP));
    let steps = parsed
        .steps
        .iter()
        .map(|p| quote_spanned!(p.span()=> .step(#p::step())));
    let bits: Vec<TokenStream> = allow
        .iter()
        .map(|(_, bit)| {
            let bit = syn::Ident::new(bit, proc_macro2::Span::call_site());
            quote!(::blazen::__private::#bit)
        })
        .collect();
    let mask = if bits.is_empty() {
        quote!(0)
    } else {
        quote!(#(#bits)|*)
    };
    let timeout = timeout.map(|t| quote!(.timeout(#t)));
    let checkpoint = checkpoint.map(|c| quote!(.checkpoint(#c)));
    let errs = errors.into_tokens();
    quote! {{
        #errs
        // A workflow of many thousands of steps keeps the const evaluator busy for a while;
        // that is the check working, not a loop.
        #[allow(long_running_const_eval)]
        const _: () = {
            const __BLAZEN_NODES: [::blazen::__private::StepNode<'static>; #n] = [#(#nodes),*];
            // The analysis, with scratch tables sized by the steps' event slots.
            const __BLAZEN_REPORT: ::blazen::__private::GraphReport = ::blazen::__private::analyze_sized::<
                #n,
                { ::blazen::__private::slot_count(&__BLAZEN_NODES) },
            >(&__BLAZEN_NODES, #mask);
            ::blazen::__private::assert_graph::<#n>(#name, &__BLAZEN_NODES, &__BLAZEN_REPORT)
        };
        ::blazen::__private::build_workflow(
            ::blazen::Workflow::builder(#name) #(#steps)* #timeout #checkpoint,
            #mask,
        )
    }}
}
