//! Parsing `#[tool(..)]`'s options and the doc comments that describe the tool.

use proc_macro2::TokenStream;
use syn::{Expr, ExprLit, Lit, LitStr, Meta};

use crate::ctxt::Errors;
use crate::options::{OptionParser, Spec};

/// The options of `#[tool(...)]`.
#[derive(Default)]
pub(super) struct Options {
    pub(super) name: Option<LitStr>,
    pub(super) description: Option<LitStr>,
}

/// The options of `#[tool(..)]`, for the option parser.
const SPEC: Spec = Spec {
    name: "`#[tool]`",
    keys: &["name", "description"],
    form: " = \"...\"",
};

pub(super) fn options(attr: TokenStream, errors: &mut Errors) -> Options {
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
    options
}

/// The text of the `#[doc = "..."]` attributes, as the user wrote the `///` lines.
pub(super) fn doc_text(attrs: &[syn::Attribute]) -> Option<String> {
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
