//! The library's errors in the CLI's words: the library never names a flag
//! or a command, so the hints that do ("pass --wait", "rebuild it with
//! `vecsearch index`") are added here, where the flags live.

use vecsearch::Error as E;

/// How the CLI prints a library error (one line, with its hint).
pub fn describe(e: &E) -> String {
    match e {
        E::NoFiles { paths } => format!(
            "no indexable files in {paths} (vecsearch reads .txt, .md and .markdown; add --include GLOB for others)"
        ),
        E::Truncated { .. } | E::Checksum { .. } => {
            format!("{e} with `vecsearch index`")
        }
        E::OlderVersion { path, .. } => format!(
            "{e} with `vecsearch index <PATH>... --index {}`",
            path.display()
        ),
        E::Locked { .. } => format!("{e}; wait for it or pass --wait"),
        E::ZeroK => "-k must be at least 1".into(),
        E::InvalidDimension { max, .. } => format!("--dim must be between 1 and {max}"),
        E::BadLanguageTag { .. } => format!("--lang {e}"),
        E::BadFileGlob { glob, detail } => format!("--glob {glob:?} is not a valid glob: {detail}"),
        E::QueryFailed {
            number,
            query,
            source,
        } => format!("query {number} ({query:?}): {}", describe(source)),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_flags() {
        assert_eq!(describe(&E::ZeroK), "-k must be at least 1");
        let e = E::BadLanguageTag { tag: "x!".into() };
        assert!(describe(&e).starts_with("--lang \"x!\" is not a language tag"));
        let e = E::Checksum {
            path: "a.vsx".into(),
            section: "vectors".into(),
        };
        assert!(describe(&e).ends_with("rebuild it with `vecsearch index`"));
    }
}
