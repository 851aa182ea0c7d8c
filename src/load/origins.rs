//! Where converted values came from: a map from pointers in an upgraded (Swagger 2.0 → 3.0)
//! document to pointers in the file as written, or in an overlaid document to the overlay that
//! wrote them.
//!
//! Owns recording and looking up origins. Must not convert anything itself.

use std::collections::BTreeMap;

use super::paths::DocKey;

/// A place in a loaded document as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The document.
    pub doc: DocKey,
    /// The pointer in it.
    pub pointer: String,
}

/// Converted pointer → where it came from. A pointer with no entry takes its nearest recorded
/// ancestor's origin with the rest of the path appended; with none at all it is its own origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    map: BTreeMap<String, Origin>,
}

impl Origins {
    /// Records that the value at `converted` came from `origin`.
    pub fn record(
        &mut self,
        converted: impl Into<String>,
        doc: &DocKey,
        pointer: impl Into<String>,
    ) {
        self.map.insert(
            converted.into(),
            Origin {
                doc: doc.clone(),
                pointer: pointer.into(),
            },
        );
    }

    /// Forgets what was recorded at `pointer` and below it (the value is gone).
    pub fn forget(&mut self, pointer: &str) {
        let below = format!("{pointer}/");
        self.map
            .retain(|recorded, _| recorded != pointer && !recorded.starts_with(&below));
    }

    /// Where the value at `converted` came from, if any part of its path was recorded.
    pub fn find(&self, converted: &str) -> Option<Origin> {
        let mut prefix = converted;
        loop {
            if let Some(origin) = self.map.get(prefix) {
                let rest = converted.get(prefix.len()..).unwrap_or_default();
                return Some(Origin {
                    doc: origin.doc.clone(),
                    pointer: format!("{}{rest}", origin.pointer),
                });
            }
            prefix = super::pointer::parent(prefix)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_recorded_ancestor_with_the_rest_appended() {
        let key = DocKey::new("swagger.yaml");
        let mut origins = Origins::default();
        origins.record(
            "/paths/~1pet/post/requestBody",
            &key,
            "/paths/~1pet/post/parameters/0",
        );
        origins.record("/servers", &key, "/host");
        assert_eq!(
            origins
                .find("/paths/~1pet/post/requestBody/description")
                .unwrap()
                .pointer,
            "/paths/~1pet/post/parameters/0/description"
        );
        assert_eq!(
            origins.find("/servers/0/url").unwrap().pointer,
            "/host/0/url"
        );
        assert_eq!(origins.find("/info"), None);
        assert_eq!(origins.find(""), None);
    }
}
