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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::body::Part;
    use crate::spec::HttpMethod;

    #[test]
    fn dry_run_descriptions_mask_hidden_values_and_show_header_names_only() {
        let request = OutgoingRequest {
            method: HttpMethod::Post,
            path: "/v1/pets".into(),
            query: vec![format!("key={MASK}"), "limit=2".into()],
            query_credentials: vec![format!("key={MASK}")],
            headers: vec![
                ("x-request-id".into(), "r-1".into()),
                ("authorization".into(), format!("Bearer {MASK}")),
                ("accept".into(), "application/json".into()),
            ],
            body: Some(OutgoingBody::Bytes {
                content_type: "application/json".into(),
                bytes: format!(r#"{{"name":"Rex","source":"{MASK}"}}"#).into_bytes(),
            }),
        };
        let text = describe(&request, "https://api.example.com");
        assert_eq!(
            text,
            "POST https://api.example.com/v1/pets?key=****&limit=2\n\
             headers (values not shown): accept, authorization, x-request-id\n\
             body (application/json): {\"name\":\"Rex\",\"source\":\"****\"}"
        );
        assert!(!text.contains("r-1") && !text.contains("Bearer"));
        let binary = OutgoingRequest {
            body: Some(OutgoingBody::Bytes {
                content_type: "application/octet-stream".into(),
                bytes: vec![0, 159, 146, 150],
            }),
            ..request.clone()
        };
        assert!(describe(&binary, "http://x").ends_with("4 bytes of binary data"));
        let multipart = OutgoingRequest {
            body: Some(OutgoingBody::Multipart(vec![
                Part {
                    name: "photo".into(),
                    filename: Some("p.png".into()),
                    content_type: Some("image/png".into()),
                    data: vec![1, 2, 3],
                },
                Part {
                    name: "caption".into(),
                    filename: None,
                    content_type: None,
                    data: MASK.as_bytes().to_vec(),
                },
            ])),
            ..request
        };
        let text = describe(&multipart, "http://x");
        assert!(
            text.contains("part `photo`: 3 bytes") && text.contains("part `caption`: ****"),
            "{text}"
        );
    }

    #[test]
    fn dry_run_text_carries_the_token_on_its_own_line() {
        let text = dry_run_text(
            "delete_pet",
            "DELETE http://x/pets/1",
            "mcpc1.5.abc",
            Some(TokenProblem::Expired),
        );
        assert!(text.starts_with("Not executed: the confirmation token given has expired."));
        assert!(text.contains("DRY RUN") && text.contains("DELETE http://x/pets/1"));
        assert_eq!(token_in(&text), Some("mcpc1.5.abc"));
        assert_eq!(token_in("nothing here"), None);
    }
}
