//! Rust sources of the generated crate, built as tokens.
//!
//! Nothing from a spec or annotation file is ever pasted into Rust text: names become
//! identifiers only through `crate::naming` (validated, keyword-safe), and every other string
//! (descriptions, paths, wire names, JSON) enters `quote!` as a string-literal token, which
//! escapes it. The generated code only declares data; the vendored runtime holds behaviour.

use crate::ir::{
    ApiKeyLocation, BodyEncoding, BodyValue, CredentialKind, HttpMethod, Identity, OutputIr,
    ParamIr, ParamLocation, ParamStyle, RedactAction, ServerIr, ToolIr, ValueSource,
};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

fn lit(text: &str) -> Literal {
    Literal::string(text)
}

/// Doc text that rustc accepts and that reads the same as it renders: control characters and
/// invisible or direction-changing format characters (rejected by rustc in comments, and a
/// classic way to make code read differently than it is) are written as `\u{…}` escapes.
fn doc_safe(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        let invisible = matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}');
        if (c.is_control() && c != '\t') || invisible {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Spec text fit for one line of documentation: whitespace collapsed, backticks dropped and
/// at most 160 characters, so it can open no code block (which `cargo test` would compile
/// and run as a doctest) and no inline code span.
fn doc_phrase(text: &str) -> String {
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| *c != '`')
        .collect();
    let mut out: String = flat.chars().take(160).collect();
    if flat.chars().count() > 160 {
        out.push('…');
    }
    doc_safe(&out)
}

/// `#[doc = " line"]` attributes, one per line (a leading space keeps `/// line` readable).
fn doc_lines(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = lit(&format!(" {}", doc_safe(line)));
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// `#![doc = " line"]` attributes, one per line, for module and crate docs.
fn inner_doc_lines(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = lit(&format!(" {}", doc_safe(line)));
        quote!(#![doc = #line])
    });
    quote!(#(#lines)*)
}

/// `src/lib.rs`: the server description.
pub fn lib_rs(ir: &ServerIr, annotation_file: &str) -> TokenStream {
    let name = lit(ir.crate_name.as_str());
    let version = lit(&ir.version);
    let title = opt_lit(ir.title.as_deref());
    let instructions = opt_lit(ir.instructions.as_deref());
    let contract_file = lit(&format!("../{}", crate::contract::CONTRACT_FILE));
    let upstream = &ir.upstream;
    let base_url = lit(&upstream.base_url);
    let base_url_env = lit(upstream.base_url_env.as_str());
    let timeout_ms = Literal::u64_suffixed(upstream.timeout_ms);
    let max_bytes = Literal::u64_suffixed(upstream.max_response_bytes);
    let credentials = upstream.credentials.iter().map(|c| {
        let id = lit(&c.id);
        let kind = match &c.kind {
            CredentialKind::ApiKey { location, name, env } => {
                let location = match location {
                    ApiKeyLocation::Header => quote!(Header),
                    ApiKeyLocation::Query => quote!(Query),
                    ApiKeyLocation::Cookie => quote!(Cookie),
                };
                let name = lit(name);
                let env = lit(env.as_str());
                quote!(CredentialKind::ApiKey { location: ApiKeyLocation::#location, name: #name, env: #env })
            }
            CredentialKind::Bearer { env } => {
                let env = lit(env.as_str());
                quote!(CredentialKind::Bearer { env: #env })
            }
            CredentialKind::Basic { username_env, password_env } => {
                let (user, password) = (lit(username_env.as_str()), lit(password_env.as_str()));
                quote!(CredentialKind::Basic { username_env: #user, password_env: #password })
            }
        };
        quote!(CredentialSpec { id: #id, kind: #kind })
    });
    let modules: Vec<Ident> = ir.tools.iter().map(|t| ident(t.module.as_str())).collect();
    let oauth = match &upstream.oauth {
        None => quote!(None),
        Some(o) => {
            let token_url = lit(&o.token_url);
            let (id_env, secret_env) = (
                lit(o.client_id_env.as_str()),
                lit(o.client_secret_env.as_str()),
            );
            let scopes = o.scopes.iter().map(|s| lit(s));
            let audience = opt_lit(o.audience.as_deref());
            quote! {
                Some(OAuthClientSpec {
                    token_url: #token_url,
                    client_id_env: #id_env,
                    client_secret_env: #secret_env,
                    scopes: &[#(#scopes),*],
                    audience: #audience,
                })
            }
        }
    };
    let scopes = ir.scopes().into_iter().map(|s| lit(&s));
    let max_request_bytes = Literal::u64_suffixed(ir.limits.max_request_bytes);
    let calls_per_minute = Literal::u32_suffixed(ir.limits.calls_per_minute);
    let max_concurrent_calls = Literal::u32_suffixed(ir.limits.max_concurrent_calls);
    let max_result_tokens = Literal::u32_suffixed(ir.limits.max_result_tokens);
    let escalation = opt_lit(ir.escalation.as_deref());
    let title_text = ir
        .title
        .clone()
        .unwrap_or_else(|| ir.crate_name.to_string());
    let title_text = doc_phrase(&title_text);
    let crate_doc = inner_doc_lines(&format!(
        "{title_text}: an MCP server generated by mcpgen.\n\nDo not edit this crate: change `{annotation_file}` and run `mcpgen build`.\nThe behaviour lives in the vendored `mcpgen-runtime`; this crate only declares data."
    ));
    quote! {
        #crate_doc

        pub mod tools;

        use ::mcpgen_runtime::spec::*;

        /// The server: identity, upstream API and tools.
        pub static SERVER: ServerSpec = ServerSpec {
            name: #name,
            version: #version,
            title: #title,
            instructions: #instructions,
            contract: Some(include_str!(#contract_file)),
            upstream: UpstreamSpec {
                base_url: #base_url,
                base_url_env: #base_url_env,
                timeout_ms: #timeout_ms,
                max_response_bytes: #max_bytes,
                credentials: &[#(#credentials),*],
                oauth: #oauth,
            },
            tools: &[#(&tools::#modules::TOOL),*],
            scopes: &[#(#scopes),*],
            limits: LimitsSpec {
                max_request_bytes: #max_request_bytes,
                calls_per_minute: #calls_per_minute,
                max_concurrent_calls: #max_concurrent_calls,
                max_result_tokens: #max_result_tokens,
            },
            escalation: #escalation,
        };
    }
}

/// `src/main.rs`.
pub fn main_rs(ir: &ServerIr) -> TokenStream {
    let lib = ident(&ir.crate_name.lib_name());
    quote! {
        //! Command-line entry point: `--help` lists the flags and environment variables.

        fn main() -> ::std::process::ExitCode {
            ::mcpgen_runtime::main(&#lib::SERVER)
        }
    }
}

/// `src/tools.rs`'s opening: what the file holds (each tool's module follows it).
pub fn tools_rs_head() -> TokenStream {
    quote! {
        //! The tools, one module each: what clients see and how the runtime calls the upstream.
        //! Data only; every schema is in `mcp-contract.json`.
    }
}

/// One tool's module in `src/tools.rs`: its static description.
pub fn tool_module(tool: &ToolIr, contract_hash: &str) -> TokenStream {
    let name = lit(tool.name.as_str());
    let title = opt_lit(tool.title.as_deref());
    let description = lit(&tool.description);
    let op = &tool.operation;
    let op_id = opt_lit(op.id.as_deref());
    let method = ident(match op.method {
        HttpMethod::Get => "Get",
        HttpMethod::Put => "Put",
        HttpMethod::Post => "Post",
        HttpMethod::Delete => "Delete",
        HttpMethod::Options => "Options",
        HttpMethod::Head => "Head",
        HttpMethod::Patch => "Patch",
        HttpMethod::Trace => "Trace",
    });
    let path = lit(&op.path);
    // Every schema is read from the contract (`mcp-contract.json`), where it is written once.
    let in_contract = quote!(SchemaText::InContract);
    let spec_input_schema = if tool.spec_input_schema.is_some() {
        quote!(Some(#in_contract))
    } else {
        quote!(None)
    };
    let nulls_absent = tool.nulls_absent;
    let output = output_spec(&tool.output);
    let params = tool.params.iter().map(param_spec);
    let body = match &tool.body {
        None => quote!(None),
        Some(body) => {
            let media = lit(&body.media_type);
            let encoding = ident(match body.encoding {
                BodyEncoding::Json => "Json",
                BodyEncoding::Form => "Form",
                BodyEncoding::Multipart => "Multipart",
                BodyEncoding::Text => "Text",
                BodyEncoding::Binary => "Binary",
            });
            let required = body.required;
            let value = match &body.value {
                BodyValue::Argument { name } => {
                    let name = lit(name);
                    quote!(BodyValue::Argument { name: #name })
                }
                BodyValue::Fields(fields) => {
                    let fields = fields.iter().map(|f| {
                        let name = lit(&f.wire_name);
                        let value = value_source(&f.value);
                        let file = f.file;
                        let content_type = opt_lit(f.content_type.as_deref());
                        quote!(BodyField { name: #name, value: #value, file: #file, content_type: #content_type })
                    });
                    quote!(BodyValue::Fields(&[#(#fields),*]))
                }
            };
            quote! {
                Some(BodySpec {
                    media_type: #media,
                    encoding: BodyEncoding::#encoding,
                    required: #required,
                    value: #value,
                })
            }
        }
    };
    let accept = lit(&tool.accept);
    let credentials = tool.credentials.iter().map(|c| lit(c));
    let scopes = tool.scopes.iter().map(|s| lit(s));
    let hints = tool.hints;
    let (read_only, destructive, idempotent, open_world) = (
        hints.read_only,
        hints.destructive,
        hints.idempotent,
        hints.open_world,
    );
    let confirm = tool.confirm;
    let identity = ident(match tool.identity {
        Identity::ServiceAccount => "ServiceAccount",
        Identity::ClientCredentials => "ClientCredentials",
        Identity::TokenExchange => "TokenExchange",
        Identity::Passthrough => "Passthrough",
    });
    let contract = lit(contract_hash);
    let escalation = opt_lit(tool.escalation.as_deref());
    // Documentation holds no spec prose: a description's code block would become a doctest.
    let module = ident(tool.module.as_str());
    let module_doc = doc_lines(&format!(
        "`{}`: calls {} {}{}.",
        tool.name,
        op.method.as_str(),
        doc_phrase(&op.path),
        op.id
            .as_ref()
            .map(|id| format!(" (operationId {})", doc_phrase(id)))
            .unwrap_or_default()
    ));
    let static_doc = doc_lines(&format!(
        "The `{}` tool: what clients see (`description` holds the text the model reads), and how the runtime calls the upstream.",
        tool.name
    ));
    quote! {
        #module_doc
        pub mod #module {
        use ::mcpgen_runtime::spec::*;

        #static_doc
        pub static TOOL: ToolSpec = ToolSpec {
            name: #name,
            title: #title,
            description: #description,
            operation: OperationSpec {
                id: #op_id,
                method: HttpMethod::#method,
                path: #path,
            },
            input_schema: #in_contract,
            spec_input_schema: #spec_input_schema,
            nulls_absent: #nulls_absent,
            output: #output,
            params: &[#(#params),*],
            body: #body,
            accept: #accept,
            credentials: &[#(#credentials),*],
            scopes: &[#(#scopes),*],
            hints: HintsSpec {
                read_only: #read_only,
                destructive: #destructive,
                idempotent: #idempotent,
                open_world: #open_world,
            },
            confirm: #confirm,
            identity: IdentityMode::#identity,
            contract: #contract,
            escalation: #escalation,
        };
        }
    }
}

/// A parameter: its location's constructor (`ParamSpec::query(…)`), with only the style,
/// explode and reserved-character choices that differ from that location's defaults spelled
/// out.
fn param_spec(param: &ParamIr) -> TokenStream {
    let wire = lit(&param.wire_name);
    let constructor = ident(match param.location {
        ParamLocation::Path => "path",
        ParamLocation::Query => "query",
        ParamLocation::Header => "header",
        ParamLocation::Cookie => "cookie",
    });
    let value = value_source(&param.value);
    let base = quote!(ParamSpec::#constructor(#wire, #value));
    // OpenAPI's defaults, as the runtime's `ParamLocation::default_style` gives them (a wrong
    // default here would show in the generated tests, whose expected requests come from the IR).
    let (default_style, default_explode) = match param.location {
        ParamLocation::Path | ParamLocation::Header => (ParamStyle::Simple, false),
        ParamLocation::Query | ParamLocation::Cookie => (ParamStyle::Form, true),
    };
    let mut fields = Vec::new();
    if param.style != default_style {
        let style = ident(match param.style {
            ParamStyle::Simple => "Simple",
            ParamStyle::Label => "Label",
            ParamStyle::Matrix => "Matrix",
            ParamStyle::Form => "Form",
            ParamStyle::SpaceDelimited => "SpaceDelimited",
            ParamStyle::PipeDelimited => "PipeDelimited",
            ParamStyle::DeepObject => "DeepObject",
        });
        fields.push(quote!(style: ParamStyle::#style));
    }
    if param.explode != default_explode {
        let explode = param.explode;
        fields.push(quote!(explode: #explode));
    }
    if param.allow_reserved {
        fields.push(quote!(allow_reserved: true));
    }
    if fields.is_empty() {
        base
    } else {
        quote!(ParamSpec { #(#fields,)* ..#base })
    }
}

/// What a result looks like: `OutputSpec::NONE` with only the fields that differ from it
/// spelled out.
fn output_spec(output: &OutputIr) -> TokenStream {
    let mut fields = Vec::new();
    if output.schema.is_some() {
        fields.push(quote!(schema: Some(SchemaText::InContract)));
    }
    if let Some(wrap) = &output.wrap {
        let wrap = lit(wrap);
        fields.push(quote!(wrap: Some(#wrap)));
    }
    if !output.allow.is_empty() {
        let allow = output.allow.iter().map(|p| lit(p));
        fields.push(quote!(allow: &[#(#allow),*]));
    }
    if !output.redact.is_empty() {
        let redact = output.redact.iter().map(|r| {
            let path = lit(&r.path);
            let action = match r.action {
                RedactAction::Remove => quote!(RedactAction::Remove),
                RedactAction::Mask { keep_last } => {
                    let keep = Literal::u8_unsuffixed(keep_last);
                    quote!(RedactAction::Mask { keep_last: #keep })
                }
            };
            quote!(RedactionSpec { path: #path, action: #action })
        });
        fields.push(quote!(redact: &[#(#redact),*]));
    }
    if output.names.keep.is_some() || !output.names.drop.is_empty() {
        let keep = match &output.names.keep {
            Some(names) => {
                let names = names.iter().map(|n| lit(n));
                quote!(Some(&[#(#names),*]))
            }
            None => quote!(None),
        };
        let drop = output.names.drop.iter().map(|n| lit(n));
        fields.push(quote!(names: NameRules { keep: #keep, drop: &[#(#drop),*] }));
    }
    if let Some(n) = output.max_result_tokens {
        let n = Literal::u32_suffixed(n);
        fields.push(quote!(max_result_tokens: Some(#n)));
    }
    if !output.narrow_with.is_empty() {
        let narrow_with = output.narrow_with.iter().map(|n| lit(n));
        fields.push(quote!(narrow_with: &[#(#narrow_with),*]));
    }
    if fields.is_empty() {
        quote!(OutputSpec::NONE)
    } else {
        quote!(OutputSpec { #(#fields,)* ..OutputSpec::NONE })
    }
}

fn value_source(value: &ValueSource) -> TokenStream {
    match value {
        ValueSource::Argument {
            name,
            default: None,
        } => {
            let name = lit(name);
            quote!(ValueSource::argument(#name))
        }
        ValueSource::Argument {
            name,
            default: Some(default),
        } => {
            let name = lit(name);
            let default = lit(&default.to_string());
            quote!(ValueSource::Argument { name: #name, default: Some(#default) })
        }
        ValueSource::Fixed(value) => {
            let json = lit(&value.to_string());
            quote!(ValueSource::Fixed { json: #json })
        }
        ValueSource::Env { var, .. } => {
            let var = lit(var.as_str());
            quote!(ValueSource::Env { var: #var })
        }
    }
}

/// `Some("text")` or `None`, for a module that uses the prelude.
fn opt_lit(text: Option<&str>) -> TokenStream {
    match text {
        Some(t) => {
            let t = lit(t);
            quote!(Some(#t))
        }
        None => quote!(None),
    }
}

/// `tests/tools.rs`: one test per tool, each running its fixture.
pub fn tests_rs(ir: &ServerIr) -> TokenStream {
    let lib = ident(&ir.crate_name.lib_name());
    let tests = ir.tools.iter().map(|t| {
        let test = ident(t.module.as_str());
        let name = lit(t.name.as_str());
        quote! { tool_test!(#test, #name); }
    });
    quote! {
        //! Each tool called by an in-process MCP client against a mock upstream: the request that
        //! goes out, the shaped result that comes back, and invalid arguments refused without an
        //! upstream call. Fixtures are in `tests/cases.json`, by tool name.

        /// Every tool's fixture.
        const CASES: &str = include_str!("cases.json");

        /// Runs the fixture of the tool named `name`.
        fn run(name: &str) {
            ::mcpgen_runtime::testing::run_fixture(
                &#lib::SERVER,
                &::mcpgen_runtime::testing::case(CASES, name),
            );
        }

        /// One tool's test: request sent, result shaped, invalid arguments refused.
        macro_rules! tool_test {
            ($test:ident, $name:literal) => {
                #[test]
                fn $test() {
                    run($name)
                }
            };
        }

        #(#tests)*
    }
}

/// `tests/auth.rs`: the HTTP transport's authorization, proven with real tokens on one tool.
///
/// The tool is the first (by name) that acts under the server's own identity, requires scopes and
/// only reads, so the scope checks and a successful call can both be shown; failing that, the
/// first such read-only tool, then the first tool.
pub fn auth_tests_rs(ir: &ServerIr) -> TokenStream {
    let lib = ident(&ir.crate_name.lib_name());
    // The call's expected request must not depend on the caller's token, so tools that forward
    // or exchange it are chosen last.
    let own_identity = |t: &&ToolIr| {
        matches!(
            t.identity,
            Identity::ServiceAccount | Identity::ClientCredentials
        )
    };
    let chosen = ir
        .tools
        .iter()
        .filter(own_identity)
        .find(|t| !t.scopes.is_empty() && t.hints.read_only && !t.confirm)
        .or_else(|| {
            ir.tools
                .iter()
                .filter(own_identity)
                .find(|t| t.hints.read_only && !t.confirm)
        })
        .or_else(|| ir.tools.first());
    let Some(tool) = chosen else { return quote!() };
    let name = lit(tool.name.as_str());
    let doc = lit(&format!(
        " Over streamable HTTP with tokens signed by a test key served from a local JWKS: no token, a bad signature, another audience or an expired token get 401; a token without the scopes of `{}` cannot see or call it and the upstream is never reached; a valid token calls it.",
        tool.name
    ));
    quote! {
        //! Who may call: OAuth 2.1 protected-resource behaviour of the HTTP transport.

        #[doc = #doc]
        #[test]
        fn tokens_are_checked_over_http() {
            ::mcpgen_runtime::testing::run_auth_checks(
                &#lib::SERVER,
                &::mcpgen_runtime::testing::case(include_str!("cases.json"), #name),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_text_has_no_invisible_or_control_characters() {
        assert_eq!(doc_safe("a\u{202E}b\u{0007}c\td"), "a\\u{202e}b\\u{7}c\td");
        assert_eq!(doc_safe("plain 🦀"), "plain 🦀");
    }

    #[test]
    fn hostile_text_stays_inside_literals() {
        let tokens = doc_lines("line one */ \"#] }\nfn evil() {}");
        let file: syn::File = syn::parse2(quote!(#tokens struct X;)).expect("doc attributes parse");
        assert_eq!(file.items.len(), 1, "the text did not become an item");
        let printed = prettyplease::unparse(&file);
        assert!(printed.contains("/// line one */ \"#] }"), "{printed}");
        assert!(printed.contains("/// fn evil() {}"), "{printed}");
    }
}
