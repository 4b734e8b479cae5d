//! The built-in sample corpus (data/sample), compiled into the binary.

use crate::corpus::Document;

include!(concat!(env!("OUT_DIR"), "/sample.rs"));

/// The sample documents, named by their path in the repository.
pub fn documents() -> Vec<Document> {
    SAMPLE
        .iter()
        .map(|(path, text)| Document {
            path: path.to_string(),
            text: text.to_string(),
            mtime_ns: 0,
        })
        .collect()
}
