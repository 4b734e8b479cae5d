//! `--lang` takes BCP 47 tags as users write them: a region (fr-FR, en-US,
//! zh-TW) selects the language or script the passages carry, and a tag
//! that no passage of the index can match is one line naming the index's
//! languages, not a silent empty answer.

mod common;

use common::*;

#[test]
fn region_tags_select_their_language_and_unknown_tags_list_the_index_languages() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(dir.path());
    let r = run_in(
        dir.path(),
        &["index", corpus.to_str().unwrap(), "--index", "n.vsx", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let langs = |tag: &str| {
        let r = run_in(
            dir.path(),
            &[
                "search",
                "vector database",
                "--index",
                "n.vsx",
                "--lang",
                tag,
                "--json",
            ],
        );
        assert_eq!(r.code, 0, "--lang {tag}: {}", r.stderr);
        json_lines(&r.stdout)
            .iter()
            .map(|h| h["lang"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    for (tag, want) in [
        ("fr-FR", "fr"),
        ("fr_CA", "fr"),
        ("ja-JP", "ja"),
        ("zh-CN", "zh-Hans"),
    ] {
        let got = langs(tag);
        assert!(!got.is_empty(), "--lang {tag} found nothing");
        assert!(got.iter().all(|l| l == want), "--lang {tag}: {got:?}");
    }
    let line = assert_error(&run_in(
        dir.path(),
        &["search", "vector", "--index", "n.vsx", "--lang", "ko"],
    ));
    assert!(
        line.contains("\"ko\" matches no passage") && line.contains("fr") && line.contains("ja"),
        "{line}"
    );
}
