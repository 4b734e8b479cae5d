//! Text analysis shared by documents and queries: normalization with an
//! offset map back to the original text, script classification, language
//! tags and the token stream the embedder hashes.

mod analyzer;
mod fasthash;
mod hanfold;
mod lang;
mod normalize;
mod script;
mod words;

pub use analyzer::{Analyzer, AnalyzerSettings, Scratch, Token};
pub use hanfold::fold_han;
pub use lang::{detect_lang, detect_lang_counted, is_valid_tag, lang_matches, settle_short_tags};
pub use normalize::{normalize, normalize_into, Normalized};
pub use script::{script_of, Script};
pub use words::for_each_word;
