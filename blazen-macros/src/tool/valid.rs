//! Validating the options and the function: what a tool can be, every problem reported at its
//! token.

use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Ident, ItemFn, LitStr, Pat, PatType, Signature, Type};

use super::parse::{doc_text, Options};
use crate::ctxt::Errors;

/// One parameter of the function.
pub(super) struct Param {
    pub(super) ident: Ident,
    /// The argument's name for the model (`r#` stripped).
    pub(super) name: String,
    pub(super) ty: Type,
    pub(super) doc: Option<String>,
    /// Written `Option<T>`: the model may leave it out.
    pub(super) optional: bool,
}

/// The tool as validated: what the expansion needs.
pub(super) struct Tool {
    /// `name = ".."` or the function's name.
    pub(super) name: String,
    /// `description = ".."` or the function's doc comment (empty when missing: reported).
    pub(super) description: String,
    pub(super) params: Vec<Param>,
    /// Whether the function takes `self` (reported): no module can go beside a method.
    pub(super) method: bool,
}

/// The options' values: a non-empty description, a name every provider accepts.
pub(super) fn options(options: &Options, errors: &mut Errors) {
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
}

/// Checks the function, collecting every problem; the tool it describes.
pub(super) fn check(func: &ItemFn, options: &Options, errors: &mut Errors) -> Tool {
    check_qualifiers(&func.sig, errors);
    let mut method = false;
    let mut params = Vec::new();
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                method = true;
                errors.spanned(
                    receiver,
                    "a tool cannot take `self`: write it as a free function (methods are not tools)",
                );
            }
            FnArg::Typed(typed) => params.extend(check_param(typed, errors)),
        }
    }
    let description = match (&options.description, doc_text(&func.attrs)) {
        (Some(description), _) => description.value(),
        (None, Some(doc)) => doc,
        (None, None) => {
            errors.spanned(
                &func.sig.ident,
                "a tool needs a description for the model: add a `///` doc comment to the function, or write `#[tool(description = \"...\")]`",
            );
            String::new()
        }
    };
    let name = options.name.as_ref().map(LitStr::value).unwrap_or_else(|| {
        let name = func.sig.ident.to_string();
        name.strip_prefix("r#").unwrap_or(&name).to_owned()
    });
    Tool {
        name,
        description,
        params,
        method,
    }
}

/// Generics, a `where` clause, variadics, `const`, `unsafe` or `extern`.
fn check_qualifiers(sig: &Signature, errors: &mut Errors) {
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
}

/// A parameter: a type decodable from JSON, a plain name.
fn check_param(typed: &PatType, errors: &mut Errors) -> Option<Param> {
    let doc = doc_text(&typed.attrs);
    let mut ty = (*typed.ty).clone();
    TypeCheck { errors }.visit_type_mut(&mut ty);
    let ident = match &*typed.pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
        other => {
            errors.spanned(
                other,
                "a tool parameter must be a plain name: the name is the argument the model fills in",
            );
            return None;
        }
    };
    let name = ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
    Some(Param {
        optional: is_option(&ty),
        ident,
        name,
        ty,
        doc,
    })
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
