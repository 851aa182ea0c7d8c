//! Data-only Rust laid out as text straight from its tokens.
//!
//! A tool module is data: doc comments, a `use`, and one `static` built from struct literals,
//! arrays, `Some(…)`, paths and literals. Parsing such tokens back into a syntax tree only to
//! pretty-print them cost as much as the rest of emitting a tool, so this printer lays them out
//! directly: one item, field or element per line, braces and brackets indented, trailing commas,
//! `///` for doc attributes. Every token is printed as the token prints itself (a string stays
//! the escaped literal `quote` made of it), so the text means exactly what the tokens mean.
//! Each group's tokens are taken out of it once and then read in place (a group's stream is
//! shared, so every walk over one copies its tokens).

use std::fmt::Write as _;

use proc_macro2::{Delimiter, Group, Spacing, TokenStream, TokenTree};

/// Indentation of one level.
const INDENT: &str = "    ";

/// `tokens` (data-only items, as above) as formatted Rust text.
pub fn print(tokens: TokenStream) -> String {
    let mut printer = Printer {
        out: String::new(),
        depth: 0,
        line_start: true,
        previous: Previous::LineStart,
    };
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    printer.block(&tokens);
    printer.newline();
    printer.out
}

/// What was printed last, as far as spacing goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Previous {
    /// Nothing yet on this line.
    LineStart,
    /// An identifier: `use` is the one keyword followed by a path starting with `::`.
    Ident { is_use: bool },
    /// A literal or a closed group.
    Operand,
    /// A punctuation mark glued to what follows (`::`, `&`, the first `:` of `::`, an open `(`).
    Glue,
    /// Any other punctuation mark (followed by a space).
    Punct,
    /// A lone `&`: glued to an operand, not to another mark.
    LoneAmp,
}

struct Printer {
    out: String,
    depth: usize,
    line_start: bool,
    previous: Previous,
}

impl Printer {
    /// Items or fields, one per line: a line ends after `;` and `,` at this level, and after an
    /// attribute.
    fn block(&mut self, tokens: &[TokenTree]) {
        let mut i = 0;
        while let Some(token) = tokens.get(i) {
            let next = tokens.get(i + 1);
            i += 1;
            if let TokenTree::Punct(p) = token
                && p.as_char() == '#'
                && let Some(TokenTree::Group(attribute)) = next
                && attribute.delimiter() == Delimiter::Bracket
            {
                i += 1;
                self.attribute(attribute);
                continue;
            }
            // A line ends after a separator, and after a braced item (`mod m { … }`).
            let separator = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if matches!(p.as_char(), ';' | ','));
            let ends_line = separator(token)
                || (matches!(token, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace)
                    && !next.is_some_and(separator));
            self.token(token);
            if ends_line {
                self.newline();
            }
        }
    }

    /// `#[doc = "…"]` as a `///` line when its text is plain; any other attribute as written.
    fn attribute(&mut self, attribute: &Group) {
        let parts: Vec<TokenTree> = attribute.stream().into_iter().collect();
        if let [
            TokenTree::Ident(name),
            TokenTree::Punct(eq),
            TokenTree::Literal(text),
        ] = parts.as_slice()
            && name == "doc"
            && eq.as_char() == '='
            && let Some(text) = plain_string(&text.to_string())
        {
            self.start_line();
            self.out.push_str("///");
            self.out.push_str(&text);
            self.newline();
            return;
        }
        self.start_line();
        self.out.push_str("#[");
        self.inline(&parts);
        self.out.push(']');
        self.newline();
    }

    /// Tokens on the current line (inside parentheses or an attribute).
    fn inline(&mut self, tokens: &[TokenTree]) {
        self.previous = Previous::Glue;
        for token in tokens {
            self.token(token);
        }
    }

    fn token(&mut self, token: &TokenTree) {
        match token {
            TokenTree::Group(group) => self.group(group),
            TokenTree::Ident(ident) => {
                self.space_before(self.glues_to_previous(false));
                let _ = write!(self.out, "{ident}");
                self.previous = Previous::Ident {
                    is_use: *ident == "use",
                };
            }
            TokenTree::Literal(literal) => {
                self.space_before(self.glues_to_previous(false));
                let _ = write!(self.out, "{literal}");
                self.previous = Previous::Operand;
            }
            TokenTree::Punct(punct) => {
                let c = punct.as_char();
                let joint = punct.spacing() == Spacing::Joint;
                let glued_before = match c {
                    ',' | ';' => true,
                    // The first `:` of `::` is glued to an identifier (`HttpMethod::Get`), not
                    // to `use`; a lone `:` (a field or a type) always is.
                    ':' if joint => !matches!(
                        self.previous,
                        Previous::Ident { is_use: true } | Previous::Punct
                    ),
                    ':' => true,
                    _ => false,
                };
                self.space_before(glued_before || self.glues_to_previous(true));
                self.out.push(c);
                // What follows `&`, `#`, `..`, a joint mark or a closing `::` is glued to it.
                let closes_path = c == ':' && self.out.ends_with("::");
                self.previous = if c == '&' && !joint {
                    Previous::LoneAmp
                } else if joint || closes_path || matches!(c, '#' | '.') {
                    Previous::Glue
                } else {
                    Previous::Punct
                };
            }
        }
    }

    fn group(&mut self, group: &Group) {
        let (open, close) = match group.delimiter() {
            Delimiter::Brace => ('{', '}'),
            Delimiter::Bracket => ('[', ']'),
            Delimiter::Parenthesis => ('(', ')'),
            // An invisible group keeps its grouping as parentheses.
            Delimiter::None => ('(', ')'),
        };
        // A call's parentheses are glued to its name: `Some(…)`.
        let glued = group.delimiter() == Delimiter::Parenthesis
            && matches!(self.previous, Previous::Ident { .. });
        self.space_before(glued || self.glues_to_previous(false));
        self.out.push(open);
        let tokens: Vec<TokenTree> = group.stream().into_iter().collect();
        if tokens.is_empty() {
            self.out.push(close);
        } else if open == '(' {
            self.inline(&tokens);
            self.out.push(close);
        } else if let Some(text) = short(&tokens) {
            // A short flat list or struct stays on its line: `&["a", "b"]`, `Mask { keep_last: 4 }`.
            if open == '{' {
                self.out.push(' ');
                self.out.push_str(&text);
                self.out.push(' ');
            } else {
                self.out.push_str(&text);
            }
            self.out.push(close);
        } else {
            // A trailing comma only ends a list (elements, or fields: the first is `name:`),
            // never items, `[x; n]` or `..base`.
            let mark = |t: &TokenTree, marks: &str| matches!(t, TokenTree::Punct(p) if marks.contains(p.as_char()));
            let field_first =
                matches!(tokens.as_slice(), [TokenTree::Ident(_), colon, ..] if mark(colon, ":"));
            let list = !tokens.iter().any(|t| mark(t, ";."))
                && (open == '[' || field_first || tokens.iter().any(|t| mark(t, ",")));
            let ends_with_separator = tokens.last().is_some_and(|t| mark(t, ",;"));
            self.depth += 1;
            self.newline();
            self.block(&tokens);
            if list && !ends_with_separator {
                // After a braced last element, the comma goes back onto its line.
                if self.line_start && self.out.ends_with('\n') {
                    self.out.pop();
                    self.line_start = false;
                }
                self.out.push(',');
            }
            self.newline();
            self.depth -= 1;
            self.start_line();
            self.out.push(close);
        }
        self.previous = Previous::Operand;
    }

    /// Whether the next token (a mark, or not) is glued to what was printed last: `& &x` is
    /// not `&&x`, so a lone `&` glues only to what is not a mark.
    fn glues_to_previous(&self, mark: bool) -> bool {
        match self.previous {
            Previous::Glue => true,
            Previous::LoneAmp => !mark,
            _ => false,
        }
    }

    /// A space before the next token unless it is `glued` or opens a line.
    fn space_before(&mut self, glued: bool) {
        if self.line_start {
            self.start_line();
        } else if !glued {
            self.out.push(' ');
        }
    }

    /// The indentation of a new line (once per line).
    fn start_line(&mut self) {
        if self.line_start {
            for _ in 0..self.depth {
                self.out.push_str(INDENT);
            }
            self.line_start = false;
        }
    }

    fn newline(&mut self) {
        if !self.line_start {
            self.out.push('\n');
            self.line_start = true;
            self.previous = Previous::LineStart;
        }
    }
}

/// Longest flat group kept on one line.
const SHORT: usize = 60;

/// `tokens` on one line, when they hold no group, item or attribute and take at most
/// [`SHORT`] characters.
fn short(tokens: &[TokenTree]) -> Option<String> {
    let flat = tokens.iter().all(|t| match t {
        TokenTree::Group(_) => false,
        TokenTree::Punct(p) => !matches!(p.as_char(), ';' | '#'),
        _ => true,
    });
    if !flat {
        return None;
    }
    let mut line = Printer {
        out: String::new(),
        depth: 0,
        line_start: false,
        previous: Previous::Glue,
    };
    line.inline(tokens);
    (line.out.len() <= SHORT && !line.out.contains('\n')).then_some(line.out)
}

/// The text of a string literal as written by `quote` (`"…"` with escapes), when it is plain
/// enough for a `///` line: printable, one line. `None` otherwise (the attribute stays).
fn plain_string(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    // `////…` would be a plain comment, not documentation.
    if inner.starts_with('/') {
        return None;
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let c = if c == '\\' {
            match chars.next()? {
                '\\' => '\\',
                '"' => '"',
                '\'' => '\'',
                _ => return None,
            }
        } else {
            c
        };
        if c.is_control() {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// What the printer writes parses back to the same tokens, but for trailing commas: kinds,
    /// texts, groups and the spacing of marks that could merge, compared tree by tree.
    fn round_trips(tokens: TokenStream) -> String {
        let text = print(tokens.clone());
        let reparsed: TokenStream = text.parse().unwrap_or_else(|e| panic!("{e:?}:\n{text}"));
        syn::parse2::<syn::File>(reparsed.clone()).unwrap_or_else(|e| panic!("{e}:\n{text}"));
        assert_eq!(tree(reparsed), tree(tokens), "{text}");
        text
    }

    /// Each token as `kind text`, groups nested, a group's trailing comma left out.
    fn tree(tokens: TokenStream) -> Vec<String> {
        let mut out = Vec::new();
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(g) => {
                    out.push(format!("group {:?} (", g.delimiter()));
                    out.extend(tree(g.stream()));
                    out.push(")".to_owned());
                }
                TokenTree::Punct(p) if p.as_char() == ',' && i + 1 == tokens.len() => {}
                // Spacing matters where two marks would make one operator (`& &` is not `&&`).
                TokenTree::Punct(p) if "&|=<>-+!.".contains(p.as_char()) => {
                    out.push(format!("punct {} {:?}", p.as_char(), p.spacing()));
                }
                TokenTree::Punct(p) => out.push(format!("punct {}", p.as_char())),
                TokenTree::Ident(x) => out.push(format!("ident {x}")),
                TokenTree::Literal(x) => out.push(format!("literal {x}")),
            }
        }
        out
    }

    #[test]
    fn keeps_marks_apart_and_adds_commas_only_to_lists() {
        let text = round_trips(quote! {
            pub static A: &&u8 = & &1;
            pub static B: [u8; 40] = [0; 40];
            pub mod outer { pub mod inner { pub static C: u8 = 1; } }
        });
        assert!(text.contains("= & &1;"), "{text}");
    }

    #[test]
    fn lays_out_data_one_field_per_line() {
        let text = round_trips(quote! {
            #[doc = " `get` : calls GET /x."]
            pub mod get {
                use ::mcpgen_runtime::spec::*;
                #[doc = " The tool."]
                pub static TOOL: ToolSpec = ToolSpec {
                    name: "get",
                    title: Some("A \"quoted\" title"),
                    method: HttpMethod::Get,
                    allow: &[],
                    params: &[ParamSpec { name: "a", explode: false }, ParamSpec { name: "b", explode: true }],
                    mask: RedactAction::Mask { keep_last: 4 },
                    body: Some(BodySpec { value: BodyValue::Fields(&[BodyField { name: "f" }]) }),
                    long: &["a long list of words", "that does not fit on one line", "is written one per line"],
                    short_base: OutputSpec { wrap: None, ..OutputSpec::NONE },
                    long_base: OutputSpec { narrow_with: &["after"], ..OutputSpec::NONE },
                    call: ParamSpec::query("a", ValueSource::argument("a")),
                };
            }
        });
        assert_eq!(
            text,
            r#"/// `get` : calls GET /x.
pub mod get {
    use ::mcpgen_runtime::spec::*;
    /// The tool.
    pub static TOOL: ToolSpec = ToolSpec {
        name: "get",
        title: Some("A \"quoted\" title"),
        method: HttpMethod::Get,
        allow: &[],
        params: &[
            ParamSpec { name: "a", explode: false },
            ParamSpec { name: "b", explode: true },
        ],
        mask: RedactAction::Mask { keep_last: 4 },
        body: Some(BodySpec {
            value: BodyValue::Fields(&[
                BodyField { name: "f" },
            ]),
        }),
        long: &[
            "a long list of words",
            "that does not fit on one line",
            "is written one per line",
        ],
        short_base: OutputSpec { wrap: None, ..OutputSpec::NONE },
        long_base: OutputSpec {
            narrow_with: &["after"],
            ..OutputSpec::NONE
        },
        call: ParamSpec::query("a", ValueSource::argument("a")),
    };
}
"#
        );
    }

    #[test]
    fn doc_text_that_is_not_plain_stays_an_attribute() {
        let text = round_trips(quote! {
            #[doc = "line\nbreak"]
            pub static A: u8 = 1;
        });
        assert!(text.starts_with("#[doc = \"line\\nbreak\"]\n"), "{text}");
        let slash = round_trips(quote! {
            #[doc = "/ not a plain comment"]
            pub static C: u8 = 3;
        });
        assert!(slash.starts_with("#[doc = \"/ not"), "{slash}");
        let hostile = round_trips(quote! {
            #[doc = " */ fn main() {} /* \\u{202e}"]
            pub static B: u8 = 2;
        });
        assert!(
            hostile.starts_with("/// */ fn main() {} /* \\u{202e}\npub static B"),
            "{hostile}"
        );
    }
}
