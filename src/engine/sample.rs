//! The built-in sample corpus (data/sample), compiled into the binary.

use crate::corpus::Document;

include!(concat!(env!("OUT_DIR"), "/sample.rs"));

/// The sample documents, named by their path in the repository.
pub fn documents() -> Vec<Document> {
    SAMPLE
        .iter()
        .map(|(path, text)| Document::new(*path, *text, 0))
        .collect()
}
