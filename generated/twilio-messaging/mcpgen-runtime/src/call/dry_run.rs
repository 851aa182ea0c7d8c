//! What a human is shown before a tool marked `confirm: true` runs: the dry-run description
//! of its request (method, URL with query, header names only, body with hidden and secret
//! values masked), the dry-run result that carries the confirmation token, and the
//! elicitation message.

use crate::identity::confirm::{TTL_SECS, TokenProblem};
use crate::request::body::OutgoingBody;
use crate::request::outgoing::OutgoingRequest;
use crate::response::result::truncate;
use crate::spec::CONFIRMATION_ARGUMENT;
use crate::support::media;
use crate::support::secret::MASK;

/// Longest body shown in a dry run, in bytes.
pub const MAX_SHOWN_BODY: usize = 2048;

fn shown(text: &str) -> String {
    let masked = text.replace(MASK, "****");
    truncate(&masked, MAX_SHOWN_BODY)
}

/// The dry-run description of a request built with hidden and secret values set to [`MASK`].
pub fn describe(request: &OutgoingRequest, base_url: &str) -> String {
    let mut out = format!(
        "{} {}",
        request.method.as_str(),
        shown(&request.url(base_url))
    );
    let mut names: Vec<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    out.push_str(&format!(
        "\nheaders (values not shown): {}",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    ));
    match &request.body {
        None => out.push_str("\nbody: none"),
        Some(OutgoingBody::Bytes {
            content_type,
            bytes,
        }) => {
            if media::is_textual(content_type)
                && let Ok(text) = std::str::from_utf8(bytes)
            {
                out.push_str(&format!("\nbody ({content_type}): {}", shown(text)));
            } else {
                out.push_str(&format!(
                    "\nbody ({content_type}): {} bytes of binary data",
                    bytes.len()
                ));
            }
        }
        Some(OutgoingBody::Multipart(parts)) => {
            out.push_str("\nbody (multipart/form-data):");
            for part in parts {
                let what = match (&part.filename, std::str::from_utf8(&part.data)) {
                    (None, Ok(text)) => shown(text),
                    _ => format!("{} bytes", part.data.len()),
                };
                out.push_str(&format!("\n  part `{}`: {what}", part.name));
            }
        }
    }
    out
}

/// The text of a dry-run result: what would be sent, the token, and what to do with it.
pub fn dry_run_text(
    tool: &str,
    description: &str,
    token: &str,
    problem: Option<TokenProblem>,
) -> String {
    let mut text = String::new();
    if let Some(problem) = problem {
        text.push_str(&format!("Not executed: {}.\n\n", problem.describe()));
    }
    text.push_str(&format!(
        "DRY RUN: nothing was sent. The tool `{tool}` needs a human's confirmation before it \
         runs. It would send this request:\n\n{description}\n\nShow this to the user and ask \
         whether to proceed. Only if they explicitly agree, call `{tool}` again with exactly \
         the same arguments plus \"{CONFIRMATION_ARGUMENT}\": \"{token}\". The token is valid \
         for {} minutes, for these arguments only, and once.\n\n{CONFIRMATION_ARGUMENT}: {token}",
        TTL_SECS / 60
    ));
    text
}

/// The message of the elicitation that asks the human.
pub fn elicitation_message(tool: &str, description: &str) -> String {
    format!(
        "The assistant wants to run `{tool}`, which needs your confirmation. It will send:\n\n\
         {description}\n\nConfirm to run it, or decline."
    )
}

/// The confirmation token in a dry-run text (the line `confirmation_token: …`).
pub fn token_in(text: &str) -> Option<&str> {
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix(&format!("{CONFIRMATION_ARGUMENT}: ")))
        .map(str::trim)
}
