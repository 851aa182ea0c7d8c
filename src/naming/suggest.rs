//! The tool names `init` suggests: what an operation does, in words a model reads, within the
//! budget clients leave ([`SUGGESTED_TOOL_NAME_MAX`]), unique within the spec.
//!
//! A name is the operationId in snake case, or the method and path where there is none
//! (`get_pets_by_pet_id`). A name that fits is kept as it is. A longer one is shortened a step at
//! a time, each step losing less meaning than the next, until it fits:
//!
//! 1. a word repeated right after itself once (`export_export` → `export`), version words dropped
//!    (`v1`, `v2010`, `v1beta1`);
//! 2. predictable words abbreviated (`authenticated` → `auth`, `organization` → `org`);
//! 3. the words every operation's name starts with after its first (method or verb), mostly the
//!    path they all share (`/cms/v3/hubdb/tables/…`): the server's name says it;
//! 4. path parameters: `by_pet_id` in a name made from the path, `{objectId}` in a path-like
//!    operationId (`get-/crm/v3/objects/{objectId}_getById`), `ByOrganizationid` in an
//!    operationId spelled from the path;
//! 5. filler words (`for`, `the`, `of` …);
//! 6. in a path-like operationId, everything but its last segment (`actions/get-…` → `get_…`).
//!
//! A step is taken only if its result is no other operation's name, and no name another
//! operation keeps whole. Only a name still too long after every step is cut and ends with a
//! hash of its full form (`_1a2b3c4d`): `lint` warns where two names differ only by that.

use super::{SUGGESTED_TOOL_NAME_MAX, ToolName, ascii_snake, short_hash};
use std::collections::BTreeSet;

/// What names an operation: its operationId, method and path.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// The operationId, if the spec gives one.
    pub id: Option<&'a str>,
    /// The HTTP method, any case.
    pub method: &'a str,
    /// The path template.
    pub path: &'a str,
}

/// A suggested tool name for each operation, in order: unique, each within
/// [`SUGGESTED_TOOL_NAME_MAX`] characters.
pub fn suggest_tool_names(operations: &[Operation<'_>]) -> Vec<ToolName> {
    let parsed: Vec<Words> = operations.iter().map(Words::of).collect();
    let common = common_prefix(&parsed);
    // Names that fit as they are: no other operation's shortened name may take one.
    let whole: BTreeSet<String> = parsed
        .iter()
        .map(Words::joined)
        .filter(|name| fits(name))
        .collect();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    parsed
        .iter()
        .map(|words| {
            let name = shortest_needed(words, common, &whole, &taken);
            unique(name, &mut taken)
        })
        .collect()
}

/// The name an operation gets before any other is considered: whole if it fits, else the first
/// shortening step that fits and is free, else cut with a hash.
fn shortest_needed(
    words: &Words,
    common: usize,
    whole: &BTreeSet<String>,
    taken: &BTreeSet<String>,
) -> String {
    let name = words.joined();
    if fits(&name) {
        return name;
    }
    let free = |name: &String| !whole.contains(name) && !taken.contains(name);
    let mut current = words.clone();
    for step in STEPS {
        step(&mut current, common);
        let candidate = current.joined();
        if candidate.is_empty() {
            break;
        }
        if fits(&candidate) && free(&candidate) {
            return candidate;
        }
    }
    // Cut from the most shortened form that still names something, with a hash of the whole.
    let shortest = Some(current.joined())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| name.clone());
    cut_with_hash(&shortest, &name)
}

/// `shortest` cut to leave room for `_` and a hash of `whole`, within the budget.
fn cut_with_hash(shortest: &str, whole: &str) -> String {
    let hash = short_hash(whole, 8);
    let keep = SUGGESTED_TOOL_NAME_MAX.saturating_sub(hash.len() + 1);
    // ASCII: any byte index is a character boundary.
    let head = shortest.get(..keep.min(shortest.len())).unwrap_or(shortest);
    format!("{}_{hash}", head.trim_end_matches('_'))
}

/// `name`, or `name_2`, `name_3` … if taken (two operations with one operationId); recorded.
fn unique(name: String, taken: &mut BTreeSet<String>) -> ToolName {
    let mut candidate = name.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        let suffix = format!("_{n}");
        let keep = SUGGESTED_TOOL_NAME_MAX.saturating_sub(suffix.len());
        candidate = format!("{}{suffix}", name.get(..keep).unwrap_or(&name));
        n += 1;
    }
    taken.insert(candidate.clone());
    // Snake case of ASCII words and digits: always a valid tool name.
    ToolName(candidate)
}

fn fits(name: &str) -> bool {
    name.len() <= SUGGESTED_TOOL_NAME_MAX
}

/// The shortening steps, in order; each works on the result of the ones before.
const STEPS: [fn(&mut Words, usize); 6] = [
    |w, _| w.drop_repeats_and_versions(),
    |w, _| w.abbreviate(),
    |w, common| w.drop_common_prefix(common),
    |w, _| w.drop_path_parameters(),
    |w, _| w.drop_fillers(),
    |w, _| w.keep_last_segment(),
];

/// What a word of a name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The HTTP method that starts a name made from the method and path, or a path-like id.
    Method,
    /// A path parameter's name.
    Parameter,
    /// Any other word.
    Plain,
}

/// One word of a name: lower-case ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    text: String,
    kind: Kind,
    /// Which `/`-separated segment of a path-like operationId it comes from (0 otherwise).
    segment: usize,
}

/// A name as words.
#[derive(Debug, Clone)]
struct Words {
    words: Vec<Word>,
    /// The operationId has `/`-separated segments.
    path_like: bool,
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Words a name loses last; mostly joining words whose meaning the rest keeps.
/// (`in`, `on` and `up` are left: they are parts of verbs, as in `add_on`, `sign_in`.)
const FILLERS: &[&str] = &["a", "an", "the", "for", "of", "to", "from", "with"];

/// Predictable abbreviations: each is how the word is commonly written short.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("administrator", "admin"),
    ("administrators", "admins"),
    ("application", "app"),
    ("applications", "apps"),
    ("attribute", "attr"),
    ("attributes", "attrs"),
    ("authenticated", "auth"),
    ("authentication", "auth"),
    ("authorization", "authz"),
    ("configuration", "config"),
    ("configurations", "configs"),
    ("database", "db"),
    ("definition", "def"),
    ("definitions", "defs"),
    ("description", "desc"),
    ("development", "dev"),
    ("directories", "dirs"),
    ("directory", "dir"),
    ("environment", "env"),
    ("environments", "envs"),
    ("identifier", "id"),
    ("identifiers", "ids"),
    ("information", "info"),
    ("maximum", "max"),
    ("message", "msg"),
    ("messages", "msgs"),
    ("minimum", "min"),
    ("organization", "org"),
    ("organizations", "orgs"),
    ("parameter", "param"),
    ("parameters", "params"),
    ("permission", "perm"),
    ("permissions", "perms"),
    ("production", "prod"),
    ("reference", "ref"),
    ("references", "refs"),
    ("repositories", "repos"),
    ("repository", "repo"),
    ("specification", "spec"),
    ("specifications", "specs"),
    ("statistics", "stats"),
    ("temporary", "temp"),
];

impl Words {
    /// The words of an operation's name: its operationId's, or its method's and path's.
    fn of(operation: &Operation<'_>) -> Words {
        let id = operation.id.filter(|id| !ascii_snake(id).is_empty());
        let (words, path_like) = match id {
            Some(id) if id.contains('/') => (path_like_words(id), true),
            Some(id) => (
                mark_parameters(plain_words(id, Kind::Plain, 0), operation.path),
                false,
            ),
            None => (
                method_and_path_words(operation.method, operation.path),
                false,
            ),
        };
        let words = if words.is_empty() {
            // Nothing in the method or path is a word: a stable name from the path.
            plain_words(
                &format!("operation {}", short_hash(operation.path, 8)),
                Kind::Plain,
                0,
            )
        } else {
            words
        };
        Words { words, path_like }
    }

    fn joined(&self) -> String {
        let texts: Vec<&str> = self.words.iter().map(|w| w.text.as_str()).collect();
        texts.join("_")
    }

    fn drop_repeats_and_versions(&mut self) {
        self.words
            .dedup_by(|next, previous| next.text == previous.text);
        self.words.retain(|w| !is_version(&w.text));
    }

    fn abbreviate(&mut self) {
        for word in &mut self.words {
            if let Ok(i) = ABBREVIATIONS.binary_search_by(|(long, _)| (*long).cmp(&word.text)) {
                word.text = ABBREVIATIONS[i].1.to_owned();
            }
        }
    }

    /// Drops the `count` words after the first.
    fn drop_common_prefix(&mut self, count: usize) {
        let end = (1 + count).min(self.words.len());
        if end > 1 {
            self.words.drain(1..end);
        }
        self.words
            .dedup_by(|next, previous| next.text == previous.text);
    }

    fn drop_path_parameters(&mut self) {
        self.words.retain(|w| w.kind != Kind::Parameter);
    }

    fn drop_fillers(&mut self) {
        let before = self.words.clone();
        self.words
            .retain(|w| w.kind != Kind::Plain || !FILLERS.contains(&w.text.as_str()));
        if self.words.iter().all(|w| w.kind == Kind::Method) {
            self.words = before;
        }
    }

    fn keep_last_segment(&mut self) {
        let Some(last) = self.words.last().map(|w| w.segment) else {
            return;
        };
        if self.path_like && last > 0 {
            self.words.retain(|w| w.segment == last);
        }
    }

    /// The words after the first (a method, or the verb an operationId starts with).
    fn after_first(&self) -> &[Word] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// How many words every operation's name starts with after its first word (a method, or the
/// verb an operationId starts with), version words and repeats left out: mostly the path every
/// operation shares. None for a spec of fewer than three operations; never every word of a name.
fn common_prefix(names: &[Words]) -> usize {
    if names.len() < 3 {
        // Two names that share their words are more likely to mean them.
        return 0;
    }
    let cleaned: Vec<Words> = names
        .iter()
        .map(|words| {
            let mut words = words.clone();
            words.drop_repeats_and_versions();
            words
        })
        .collect();
    let Some((first, rest)) = cleaned.split_first() else {
        return 0;
    };
    let mut count = 0;
    while let Some(word) = first.after_first().get(count) {
        let shared = rest
            .iter()
            .all(|other| other.after_first().get(count) == Some(word));
        if !shared {
            break;
        }
        count += 1;
    }
    // A name must keep a word besides its method.
    let shortest = cleaned
        .iter()
        .map(|w| w.after_first().len())
        .min()
        .unwrap_or(0);
    count.min(shortest.saturating_sub(1))
}

/// Marks `by` and the words after it that spell one of `path`'s parameters, as an operationId
/// made from the path has them (`getOrganizationsByOrganizationidPrivatespaces`).
fn mark_parameters(mut words: Vec<Word>, path: &str) -> Vec<Word> {
    let parameters: Vec<String> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|p| ascii_snake(p).replace('_', ""))
        .filter(|p| !p.is_empty())
        .collect();
    let mut i = 0;
    while i < words.len() {
        if words[i].text == "by" {
            let mut spelled = String::new();
            let found = (i + 1..words.len()).find(|&j| {
                spelled.push_str(&words[j].text);
                parameters.contains(&spelled)
            });
            if let Some(last) = found {
                for word in &mut words[i..=last] {
                    word.kind = Kind::Parameter;
                }
                i = last;
            }
        }
        i += 1;
    }
    words
}

/// `v1`, `v2010`, `v1beta1`, `v3alpha`: a `v`, digits, then letters and digits.
fn is_version(word: &str) -> bool {
    let Some(rest) = word.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Snake-case words of `text`, all of one kind and segment.
fn plain_words(text: &str, kind: Kind, segment: usize) -> Vec<Word> {
    ascii_snake(text)
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| Word {
            text: w.to_owned(),
            kind,
            segment,
        })
        .collect()
}

/// The words of a path-like operationId: `repos/list-for-org`, or
/// `get-/crm/v3/objects/{objectId}_getById` (a method, a path with parameters in braces, a verb).
fn path_like_words(id: &str) -> Vec<Word> {
    let mut words = Vec::new();
    for (segment, text) in id.split('/').enumerate() {
        let mut rest = text;
        while !rest.is_empty() {
            let (before, parameter, after) = match rest.find('{') {
                Some(open) => {
                    let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
                    let inner = rest.get(open + 1..close).unwrap_or("");
                    (&rest[..open], inner, rest.get(close + 1..).unwrap_or(""))
                }
                None => (rest, "", ""),
            };
            let mut plain = plain_words(before, Kind::Plain, segment);
            if segment == 0
                && words.is_empty()
                && plain.len() == 1
                && parameter.is_empty()
                && METHODS.contains(&plain[0].text.as_str())
            {
                // `get-/path…`: a first segment that is only a method is the method of a path,
                // as in a name made from one.
                plain[0].kind = Kind::Method;
            }
            words.extend(plain);
            words.extend(plain_words(parameter, Kind::Parameter, segment));
            rest = after;
        }
    }
    words
}

/// The words of a name made from the method and path: `get pets by pet id photos`.
fn method_and_path_words(method: &str, path: &str) -> Vec<Word> {
    let mut words = plain_words(method, Kind::Method, 0);
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(parameter) => {
                let mut by = plain_words(&format!("by {parameter}"), Kind::Parameter, 0);
                words.append(&mut by);
            }
            None => words.extend(plain_words(segment, Kind::Plain, 0)),
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(operations: &[(Option<&str>, &str, &str)]) -> Vec<String> {
        let operations: Vec<Operation<'_>> = operations
            .iter()
            .map(|&(id, method, path)| Operation { id, method, path })
            .collect();
        suggest_tool_names(&operations)
            .into_iter()
            .map(|n| n.as_str().to_owned())
            .collect()
    }

    #[test]
    fn names_that_fit_are_snake_case_as_they_are() {
        assert_eq!(
            names(&[
                (Some("listPets"), "GET", "/pets"),
                (Some("get-HTTPResponse.v2"), "GET", "/x"),
                (None, "GET", "/pets/{petId}/photos"),
                (Some("🦀"), "DELETE", "/"),
                (Some("repos/list-for-org"), "GET", "/orgs/{org}/repos"),
            ]),
            [
                "list_pets",
                "get_http_response_v2",
                "get_pets_by_pet_id_photos",
                "delete",
                "repos_list_for_org"
            ]
        );
    }

    #[test]
    fn long_names_are_shortened_by_meaning_not_cut() {
        let got = names(&[
            // GitHub-style: abbreviation is enough.
            (
                Some("users/list-public-ssh-keys-for-authenticated-user"),
                "GET",
                "/user/keys",
            ),
            // Fillers go, then the namespace; or an abbreviation and the fillers suffice.
            (
                Some("actions/get-actions-cache-retention-limit-for-enterprise"),
                "GET",
                "/a",
            ),
            (
                Some("actions/get-actions-cache-retention-limit-for-organization"),
                "GET",
                "/b",
            ),
        ]);
        assert_eq!(
            got,
            [
                "users_list_public_ssh_keys_for_auth_user",
                "get_actions_cache_retention_limit_enterprise",
                "actions_get_actions_cache_retention_limit_org",
            ]
        );
    }

    #[test]
    fn path_like_ids_lose_versions_repeats_and_the_spec_wide_prefix() {
        let got = names(&[
            (
                Some("get-/cms/v3/hubdb/tables/{tableIdOrName}/draft/export_exportDraftTable"),
                "GET",
                "/cms/v3/hubdb/tables/{tableIdOrName}/draft/export",
            ),
            (
                Some(
                    "post-/cms/v3/hubdb/tables/{tableIdOrName}/rows/{rowId}/draft/clone_cloneDraftTableRow",
                ),
                "POST",
                "/cms/v3/hubdb/tables/{tableIdOrName}/rows/{rowId}/draft/clone",
            ),
            (
                Some("get-/cms/v3/hubdb/tables_getAllTables"),
                "GET",
                "/cms/v3/hubdb/tables",
            ),
        ]);
        assert_eq!(
            got,
            [
                "get_table_id_or_name_draft_export_draft_table",
                "post_rows_draft_clone_draft_table_row",
                "get_cms_v3_hubdb_tables_get_all_tables",
            ]
        );
    }

    #[test]
    fn ids_spelled_from_the_path_lose_the_shared_path_and_its_parameters() {
        let got = names(&[
            (
                Some("getOrganizationsByOrganizationidPrivatespacesByPrivatespaceidAssociations"),
                "GET",
                "/organizations/{organizationId}/privatespaces/{privateSpaceId}/associations",
            ),
            (
                Some("createOrganizationsByOrganizationidPrivatespaces"),
                "POST",
                "/organizations/{organizationId}/privatespaces",
            ),
            (
                Some("deleteOrganizationsByOrganizationidPrivatespacesByPrivatespaceid"),
                "DELETE",
                "/organizations/{organizationId}/privatespaces/{privateSpaceId}",
            ),
        ]);
        assert_eq!(
            got,
            [
                "get_privatespaces_by_privatespaceid_associations",
                "create_orgs_by_organizationid_privatespaces",
                "delete_privatespaces_by_privatespaceid",
            ]
        );
        // `by` followed by words that spell no parameter is a plain word.
        let words = mark_parameters(plain_words("listByStatus", Kind::Plain, 0), "/x/{id}");
        assert!(words.iter().all(|w| w.kind == Kind::Plain));
    }

    #[test]
    fn a_step_that_would_take_another_operations_name_is_skipped() {
        let long = "list_every_public_ssh_key_of_a_user_in_the_organization";
        let got = names(&[
            // Dropping the fillers of the first gives the second's name, which it keeps.
            (Some(long), "GET", "/a"),
            (
                Some("list_every_public_ssh_key_user_organization"),
                "GET",
                "/b",
            ),
        ]);
        assert_eq!(got[1], "list_every_public_ssh_key_user_organization");
        assert_ne!(got[0], got[1]);
        assert!(got[0].len() <= SUGGESTED_TOOL_NAME_MAX, "{got:?}");
    }

    #[test]
    fn a_hash_is_the_last_resort_and_keeps_names_apart() {
        let long = "CreateOrUpdateTheVeryLongResourceNameForTheOrganizationEnvironmentAndTenant";
        let got = names(&[
            (Some(long), "POST", "/"),
            (Some(&format!("{long}X")), "POST", "/"),
        ]);
        assert_ne!(
            got[0], got[1],
            "names that share a long prefix stay distinct"
        );
        for name in &got {
            assert_eq!(name.len(), SUGGESTED_TOOL_NAME_MAX);
            assert!(
                name.starts_with("create_or_update_very_long_resource_"),
                "{name}"
            );
            assert!(ToolName::parse(name).is_ok());
        }
        assert_eq!(
            got,
            names(&[
                (Some(long), "POST", "/"),
                (Some(&format!("{long}X")), "POST", "/")
            ]),
            "stable"
        );
    }

    #[test]
    fn repeated_operation_ids_are_numbered() {
        assert_eq!(
            names(&[
                (Some("getPet"), "GET", "/a"),
                (Some("getPet"), "GET", "/b"),
                (Some("get_pet"), "GET", "/c"),
            ]),
            ["get_pet", "get_pet_2", "get_pet_3"]
        );
    }

    #[test]
    fn versions_are_words_of_their_own() {
        for word in ["v1", "v2010", "v1beta1", "v3alpha"] {
            assert!(is_version(word), "{word}");
        }
        for word in ["v", "view", "vat", "values", "1"] {
            assert!(!is_version(word), "{word}");
        }
    }

    #[test]
    fn abbreviations_are_sorted_for_the_lookup() {
        assert!(ABBREVIATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
