//! Naming: every name mcpgen invents or accepts, in one place.
//!
//! Tool names (MCP rules and a length budget), Rust identifiers (keywords, collisions),
//! argument names, crate names and environment variable names are validated or derived
//! here, and only here, so an unchecked string from a spec can never become an identifier.
//! Derived names are deterministic: the same input always gives the same name. Suggested tool
//! names are shortened by meaning ([`suggest_tool_names`]); names cut to fit carry a stable hash of the
//! full name.

mod suggest;

pub use suggest::{Operation, suggest_tool_names};

use heck::{ToShoutySnakeCase, ToSnakeCase};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;

/// Longest tool name MCP allows.
pub const TOOL_NAME_MAX: usize = 128;

/// Length budget for tool names mcpgen suggests: clients prefix tool names (e.g.
/// `mcp__<server>__`) and many cap the result at 64 characters.
pub const SUGGESTED_TOOL_NAME_MAX: usize = 48;

/// Longest argument name (the strictest common client limit for property names).
pub const ARGUMENT_NAME_MAX: usize = 64;

/// A tool name that satisfies MCP's rule: 1–128 characters of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ToolName(String);

impl ToolName {
    /// Accepts a name as written by the architect, or says why not.
    pub fn parse(name: &str) -> Result<ToolName, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.chars().count() > TOOL_NAME_MAX {
            return Err(NameError::TooLong {
                max: TOOL_NAME_MAX,
                len: name.chars().count(),
            });
        }
        if let Some(c) = name.chars().find(|c| !is_tool_name_char(*c)) {
            return Err(NameError::InvalidChar(c));
        }
        Ok(ToolName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than allowed.
    TooLong {
        /// The limit.
        max: usize,
        /// The name's length in characters.
        len: usize,
    },
    /// The name contains a character that is not allowed.
    InvalidChar(char),
    /// The name does not start the way it must.
    InvalidStart,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "the name is empty"),
            NameError::TooLong { max, len } => {
                write!(f, "the name has {len} characters, more than {max}")
            }
            NameError::InvalidChar(c) => write!(f, "the name contains {c:?}, which is not allowed"),
            NameError::InvalidStart => {
                write!(f, "the name does not start with an allowed character")
            }
        }
    }
}

fn is_tool_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// A short, stable hash of a text: the first `len` hex digits of its SHA-256.
pub fn short_hash(text: &str, len: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len.min(hex.len())].to_owned()
}

/// Snake case restricted to `[a-z0-9_]`, with runs of other characters folded into `_`.
fn ascii_snake(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    cleaned.to_snake_case()
}

/// Cuts `name` to `max` characters, replacing the tail by `_<hash>` of the full name so two
/// long names that share a prefix stay distinct.
fn fit_with_hash(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let hash = short_hash(name, 8);
    let keep = max.saturating_sub(hash.len() + 1);
    let mut head: String = name.chars().take(keep).collect();
    while head.ends_with(['_', '-', '.']) {
        head.pop();
    }
    format!("{head}_{hash}")
}

/// A Rust identifier that is not a keyword and cannot collide with the names generated code
/// defines itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RustIdent(String);

impl RustIdent {
    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RustIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Rust keywords of every edition (strict, reserved and weak ones that matter for items).
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Module names the generated crate uses itself.
const RESERVED_MODULES: &[&str] = &["tools", "mcpgen_runtime", "std", "core", "alloc", "tests"];

/// Assigns snake-case module identifiers to tool names, unique within one crate.
///
/// Identifiers are assigned in sorted order of the tool names, so the result does not depend on
/// the order tools were declared in; a clash (e.g. `get.pet` and `get_pet`) gets a numeric suffix.
pub fn module_idents<'a>(
    tool_names: impl IntoIterator<Item = &'a ToolName>,
) -> Vec<(ToolName, RustIdent)> {
    let mut names: Vec<&ToolName> = tool_names.into_iter().collect();
    names.sort();
    names.dedup();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let mut base = ascii_snake(name.as_str());
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base = format!("tool_{base}");
        }
        if RUST_KEYWORDS.contains(&base.as_str()) || RESERVED_MODULES.contains(&base.as_str()) {
            base.push('_');
        }
        let mut ident = base.clone();
        let mut n = 2;
        while !used.insert(ident.clone()) {
            ident = format!("{base}_{n}");
            n += 1;
        }
        out.push((name.clone(), RustIdent(ident)));
    }
    out
}

/// A Cargo package name: starts with a letter, then `[a-z0-9_-]`, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrateName(String);

impl CrateName {
    /// Accepts a crate name, or says why not.
    pub fn parse(name: &str) -> Result<CrateName, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > 64 {
            return Err(NameError::TooLong {
                max: 64,
                len: name.chars().count(),
            });
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(NameError::InvalidStart);
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_')))
        {
            return Err(NameError::InvalidChar(c));
        }
        if RUST_KEYWORDS.contains(&name.replace('-', "_").as_str())
            || matches!(name, "test" | "mcpgen-runtime" | "mcpgen_runtime")
        {
            return Err(NameError::InvalidStart);
        }
        Ok(CrateName(name.to_owned()))
    }

    /// The crate name suggested for a spec title: kebab case plus `-mcp`.
    pub fn suggest(title: &str) -> CrateName {
        let mut base = ascii_snake(title).replace('_', "-");
        if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
            base = format!("api-{base}");
        }
        let base = base.trim_end_matches('-');
        let name = fit_with_hash(&format!("{base}-mcp"), 60).replace('_', "-");
        CrateName::parse(&name).unwrap_or_else(|_| CrateName("api-mcp".to_owned()))
    }

    /// The package name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The library name Rust code uses (`-` becomes `_`).
    pub fn lib_name(&self) -> String {
        self.0.replace('-', "_")
    }

    /// The prefix for environment variables the server reads (`PETSTORE_MCP`).
    pub fn env_prefix(&self) -> String {
        self.0.to_shouty_snake_case()
    }
}

impl fmt::Display for CrateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An environment variable name: `[A-Z_][A-Z0-9_]*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvVarName(String);

impl EnvVarName {
    /// Accepts an environment variable name, or says why not.
    pub fn parse(name: &str) -> Result<EnvVarName, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > 128 {
            return Err(NameError::TooLong {
                max: 128,
                len: name.chars().count(),
            });
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(NameError::InvalidStart);
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(NameError::InvalidChar(c));
        }
        Ok(EnvVarName(name.to_owned()))
    }

    /// The environment variable suggested for a prefix and a purpose (`PETSTORE_MCP` + `api key`).
    pub fn suggest(prefix: &str, purpose: &str) -> EnvVarName {
        let tail = purpose.to_shouty_snake_case();
        let tail: String = tail
            .chars()
            .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let joined = if tail.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}_{tail}")
        };
        EnvVarName::parse(&joined).unwrap_or_else(|_| {
            EnvVarName(format!("MCP_{}", short_hash(&joined, 8).to_uppercase()))
        })
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvVarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Assigns tool argument names, unique within one tool.
///
/// A wire name that already fits `[A-Za-z0-9_.-]{1,64}` is kept as is (the model sees the
/// API's own vocabulary); others are folded to snake case. A clash gets the parameter's
/// location as prefix (`body_id` beside the path's `id`), then a numeric suffix.
#[derive(Debug, Default)]
pub struct ArgumentNamer {
    used: BTreeSet<String>,
}

impl ArgumentNamer {
    /// A namer with no names taken.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves a name chosen by the architect; false when it is already taken or invalid.
    pub fn reserve(&mut self, name: &str) -> bool {
        is_valid_argument_name(name) && self.used.insert(name.to_owned())
    }

    /// The argument name for a wire name in a location (`path`, `query`, `header`, `cookie`, `body`).
    pub fn assign(&mut self, wire_name: &str, location: &str) -> String {
        let base = if is_valid_argument_name(wire_name) {
            wire_name.to_owned()
        } else {
            let snake = ascii_snake(wire_name);
            let snake = if snake.is_empty() {
                format!("arg_{}", short_hash(wire_name, 6))
            } else {
                snake
            };
            fit_with_hash(&snake, ARGUMENT_NAME_MAX)
        };
        if self.used.insert(base.clone()) {
            return base;
        }
        let prefixed = fit_with_hash(&format!("{location}_{base}"), ARGUMENT_NAME_MAX);
        if self.used.insert(prefixed.clone()) {
            return prefixed;
        }
        let mut n = 2;
        loop {
            let candidate = fit_with_hash(&format!("{prefixed}_{n}"), ARGUMENT_NAME_MAX);
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

/// Whether a name can be used as a tool argument as is.
pub fn is_valid_argument_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= ARGUMENT_NAME_MAX && name.chars().all(is_tool_name_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_the_mcp_rule() {
        assert!(ToolName::parse("list_pets").is_ok());
        assert!(ToolName::parse("a.b-c_D9").is_ok());
        assert_eq!(ToolName::parse(""), Err(NameError::Empty));
        assert_eq!(
            ToolName::parse("list pets"),
            Err(NameError::InvalidChar(' '))
        );
        assert_eq!(ToolName::parse("émoji"), Err(NameError::InvalidChar('é')));
        assert!(ToolName::parse(&"x".repeat(128)).is_ok());
        assert_eq!(
            ToolName::parse(&"x".repeat(129)),
            Err(NameError::TooLong { max: 128, len: 129 })
        );
    }

    #[test]
    fn module_idents_avoid_keywords_and_clashes_in_sorted_order() {
        let names: Vec<ToolName> = ["type", "get.pet", "get_pet", "9lives", "tools", "Self"]
            .iter()
            .map(|n| ToolName::parse(n).unwrap())
            .collect();
        let idents: Vec<(String, String)> = module_idents(&names)
            .into_iter()
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect();
        assert_eq!(
            idents,
            vec![
                ("9lives".into(), "tool_9lives".into()),
                ("Self".into(), "self_".into()),
                ("get.pet".into(), "get_pet".into()),
                ("get_pet".into(), "get_pet_2".into()),
                ("tools".into(), "tools_".into()),
                ("type".into(), "type_".into()),
            ]
        );
        let reversed: Vec<ToolName> = names.iter().rev().cloned().collect();
        assert_eq!(
            module_idents(&names),
            module_idents(&reversed),
            "declaration order does not matter"
        );
    }

    #[test]
    fn crate_names_are_cargo_package_names() {
        assert!(CrateName::parse("petstore-mcp").is_ok());
        assert_eq!(CrateName::parse("Petstore"), Err(NameError::InvalidStart));
        assert_eq!(
            CrateName::parse("pet store"),
            Err(NameError::InvalidChar(' '))
        );
        assert!(CrateName::parse("self").is_err());
        assert_eq!(
            CrateName::suggest("Swagger Petstore").as_str(),
            "swagger-petstore-mcp"
        );
        assert_eq!(CrateName::suggest("3D API").as_str(), "api-3d-api-mcp");
        assert_eq!(CrateName::suggest("").as_str(), "api-mcp");
        assert_eq!(
            CrateName::parse("petstore-mcp").unwrap().env_prefix(),
            "PETSTORE_MCP"
        );
    }

    #[test]
    fn env_var_names() {
        assert!(EnvVarName::parse("PETSTORE_API_KEY").is_ok());
        assert_eq!(
            EnvVarName::parse("api_key"),
            Err(NameError::InvalidChar('a'))
        );
        assert_eq!(EnvVarName::parse("1X"), Err(NameError::InvalidStart));
        assert_eq!(
            EnvVarName::suggest("PETSTORE_MCP", "api_key").as_str(),
            "PETSTORE_MCP_API_KEY"
        );
        assert_eq!(
            EnvVarName::suggest("PETSTORE_MCP", "petstore-auth").as_str(),
            "PETSTORE_MCP_PETSTORE_AUTH"
        );
    }

    #[test]
    fn argument_names_keep_wire_names_and_resolve_clashes() {
        let mut namer = ArgumentNamer::new();
        assert_eq!(namer.assign("id", "path"), "id");
        assert_eq!(namer.assign("X-Request-Id", "header"), "X-Request-Id");
        assert_eq!(namer.assign("filter[status]", "query"), "filter_status");
        assert_eq!(namer.assign("$top", "query"), "top");
        assert_eq!(namer.assign("id", "body"), "body_id");
        assert_eq!(namer.assign("id", "body"), "body_id_2");
        assert!(!namer.reserve("id"));
        assert!(namer.reserve("tenant"));
        assert!(!namer.reserve("bad name"));
    }
}
