//! Feeds arbitrary bytes to the index opener, a search and `verify`:
//! nothing may panic or read out of bounds. Run with
//! `cargo +nightly fuzz run open_index` from the repository root; seed the
//! corpus with real index files (see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vecsearch::{Index, SearchOptions};

thread_local! {
    static DIR: tempfile::TempDir = tempfile::tempdir().expect("temp dir");
}

fuzz_target!(|data: &[u8]| {
    DIR.with(|dir| {
        let path = dir.path().join("f.vsx");
        std::fs::write(&path, data).expect("write");
        if let Ok(index) = Index::open(&path) {
            let opts = SearchOptions::default();
            let _ = index.search("vector database", &opts);
            let _ = index.search("ベクトル検索", &opts);
            let _ = index.info();
        }
        let _ = Index::verify(&path);
    });
});
