//! Search filters by document path, and finding the passage nearest a
//! line (`similar` on a blank line). Kept apart from the search code: the
//! search only asks [`Index::doc_mask`] which documents may answer.

use super::{Index, SearchOptions};
use crate::error::{Error, Result};

/// Globs over indexed document paths (`--path`). A document passes when
/// any glob matches its whole path, a part of it that starts after a `/`,
/// or a folder on its path: `*.md`, `docs/**`, `docs` and `a/b.txt` all
/// match `notes/docs/a/b.txt`'s parts as a user would expect.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    globs: Vec<Glob>,
}

/// A glob and the literal runs any string it matches must contain: on a
/// large index most paths lack them, and a glob is tried on every run of
/// a path's components (tens a path), which cost most of a filtered
/// search's time at 40,000 documents.
#[derive(Debug, Clone)]
struct Glob {
    pattern: glob::Pattern,
    literals: Vec<String>,
}

impl Glob {
    fn new(pattern: glob::Pattern) -> Glob {
        let literals = literal_runs(pattern.as_str());
        Glob { pattern, literals }
    }

    /// Whether `s` holds every literal run (necessary for a match).
    fn may_match(&self, s: &str) -> bool {
        self.literals.iter().all(|l| s.contains(l.as_str()))
    }
}

/// The runs of plain characters of a glob: between `*` and `?`, and
/// around any `[...]` class except a one-character one (which is how
/// `glob::Pattern::escape` writes a special character, and matches only
/// it). Returns fewer runs, never a wrong one, for what it cannot read.
fn literal_runs(glob: &str) -> Vec<String> {
    let chars: Vec<char> = glob.chars().collect();
    let mut runs = Vec::new();
    let mut run = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '?' => {
                runs.push(std::mem::take(&mut run));
                i += 1;
            }
            '*' => {
                runs.push(std::mem::take(&mut run));
                let stars = chars[i..].iter().take_while(|&&c| c == '*').count();
                i += stars;
                // `**/` is one token: it matches no folder at all, and the
                // separator with it.
                if stars == 2 && matches!(chars.get(i), Some('/' | '\\')) {
                    i += 1;
                }
            }
            '[' => {
                // The first character of a class (after `!`) is a member
                // even if it is `]`.
                let negated = chars.get(i + 1) == Some(&'!');
                let first = i + 1 + usize::from(negated);
                let close = (first + 1..chars.len()).find(|&j| chars[j] == ']');
                match close {
                    Some(j) if !negated && j == first + 1 => run.push(match chars[first] {
                        '\\' => '/',
                        c => c,
                    }),
                    Some(_) => runs.push(std::mem::take(&mut run)),
                    None => {
                        runs.push(std::mem::take(&mut run));
                        break;
                    }
                }
                i = close.map_or(chars.len(), |j| j + 1);
            }
            // On Windows a separator in a glob matches either separator,
            // and paths are matched with `/`.
            '\\' => {
                run.push('/');
                i += 1;
            }
            c => {
                run.push(c);
                i += 1;
            }
        }
    }
    runs.push(run);
    runs.retain(|r| !r.is_empty());
    runs
}

impl PathFilter {
    /// Parses the globs; a bad one is an error naming it.
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Result<PathFilter> {
        let globs = globs
            .iter()
            .map(|g| {
                let g = g.as_ref();
                let g = g.strip_prefix("./").unwrap_or(g).trim_end_matches('/');
                glob::Pattern::new(g)
                    .map(Glob::new)
                    .map_err(|e| Error::BadGlob {
                        glob: g.to_string(),
                        detail: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PathFilter { globs })
    }

    /// A filter passing exactly the document `path` (or a path ending
    /// with it at a `/`), with no glob characters.
    pub fn document(path: &str) -> PathFilter {
        let p = path.strip_prefix("./").unwrap_or(path);
        PathFilter {
            globs: vec![Glob::new(
                glob::Pattern::new(&glob::Pattern::escape(p)).expect("escaped"),
            )],
        }
    }

    /// Adds the globs of `other`.
    pub fn extend(&mut self, other: PathFilter) {
        self.globs.extend(other.globs);
    }

    /// Whether the filter has no glob (and so passes everything).
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    /// Whether `path` passes.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.replace('\\', "/");
        let globs: Vec<&Glob> = self.globs.iter().filter(|g| g.may_match(&path)).collect();
        if globs.is_empty() {
            return false;
        }
        // Every run of whole components (a suffix, a folder, or a folder
        // below the top) is a slice of the path: from a component's start
        // to a component's end.
        let starts: Vec<usize> = std::iter::once(0)
            .chain(path.match_indices('/').map(|(i, _)| i + 1))
            .collect();
        let ends: Vec<usize> = path
            .match_indices('/')
            .map(|(i, _)| i)
            .chain(std::iter::once(path.len()))
            .collect();
        for (first, &from) in starts.iter().enumerate() {
            for &to in ends[first..].iter().rev() {
                let piece = &path[from..to];
                if globs
                    .iter()
                    .any(|g| g.may_match(piece) && g.pattern.matches(piece))
                {
                    return true;
                }
            }
        }
        false
    }
}

impl Index {
    /// Which documents may answer under `opts`' path filter, by document
    /// id; `None` when every document may.
    pub(crate) fn doc_mask(&self, opts: &SearchOptions) -> Option<Vec<bool>> {
        let f = opts.paths.as_ref().filter(|f| !f.is_empty())?;
        Some(
            self.corpus
                .docs
                .iter()
                .map(|d| f.matches(&d.path))
                .collect(),
        )
    }

    /// The passages of the documents `mask` lets through that pass
    /// `filter`, in id order, when the documents hold at most `limit`
    /// passages in all; `None` otherwise (no mask, or too many). A
    /// document's passages are stored together, so this reads two binary
    /// searches of records a document: a search in one file (`--doc`)
    /// then scores that file's passages instead of scanning every code.
    pub(crate) fn few_passages(
        &self,
        mask: Option<&[bool]>,
        limit: usize,
        filter: &(dyn Fn(u32) -> bool + Sync),
    ) -> Option<Vec<u32>> {
        let mask = mask?;
        let docs: Vec<u32> = (0..mask.len() as u32)
            .filter(|&d| mask[d as usize])
            .take(limit + 1)
            .collect();
        // More documents than the limit: not counted (a document may hold
        // no passage, so there may be few; giving up only costs a scan).
        if docs.len() > limit {
            return None;
        }
        let mut ranges = Vec::with_capacity(docs.len());
        let mut total = 0usize;
        for d in docs {
            // An empty document's range is empty: both ends are the next
            // document's first passage (or the end of the table).
            let first = self.corpus.first_passage_of(d);
            let end = self.corpus.first_passage_of(d + 1);
            total += (end - first) as usize;
            if total > limit {
                return None;
            }
            ranges.push(first..end);
        }
        Some(
            ranges
                .into_iter()
                .flatten()
                .filter(|&id| filter(id))
                .collect(),
        )
    }

    /// Whether passage `id`'s document passes `mask` (see [`Index::doc_mask`]).
    pub(crate) fn doc_allowed(&self, mask: Option<&[bool]>, id: u32) -> bool {
        mask.is_none_or(|m| m[self.corpus.passages.get(id).doc as usize])
    }

    /// The passage covering line `line` of `doc`, or, when none does (a
    /// blank line, a fence, front matter), the nearest one: the one after
    /// the line, else the one before: its id, whether it covers the line,
    /// and its line range.
    pub fn passage_near(&self, doc: &str, line: u32) -> Result<(u32, bool, (u32, u32))> {
        let d = self.find_doc(doc)?;
        let first = self.corpus.first_passage_of(d);
        let mut best: Option<(u32, u32, (u32, u32))> = None; // (distance, id, lines)
        for i in first..self.corpus.passages.len() as u32 {
            let p = self.corpus.passages.get(i);
            if p.doc != d {
                break;
            }
            if p.line_start <= line && line <= p.line_end {
                self.intact()?;
                return Ok((i, true, (p.line_start, p.line_end)));
            }
            let dist = if line < p.line_start {
                p.line_start - line
            } else {
                line - p.line_end
            };
            // On a tie the passage after the line wins: it is what the
            // line introduces.
            if best.is_none_or(|(b, _, _)| dist < b || (dist == b && p.line_start > line)) {
                best = Some((dist, i, (p.line_start, p.line_end)));
            }
        }
        // The records read may have failed their checksums: say so before
        // anything is built on them.
        self.intact()?;
        best.map(|(_, i, lines)| (i, false, lines))
            .ok_or_else(|| Error::EmptyDocument {
                doc: self.corpus.docs.path(d).into_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every run of whole components, joined and tried: the definition
    /// that `PathFilter::matches` shortens.
    fn matches_by_definition(globs: &[&str], path: &str) -> bool {
        let globs: Vec<glob::Pattern> = globs
            .iter()
            .map(|g| glob::Pattern::new(g).unwrap())
            .collect();
        let path = path.replace('\\', "/");
        let parts: Vec<&str> = path.split('/').collect();
        (0..parts.len()).any(|start| {
            (start + 1..=parts.len()).any(|end| {
                let piece = parts[start..end].join("/");
                globs.iter().any(|g| g.matches(&piece))
            })
        })
    }

    fn glob_piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a", "b", "ab", ".", "/", "*", "?", "**/", "/**", "[a]", "[!a]", "[ab]", "[a-c]",
            "[*]", "[?]", "[[]", "[]]", "\\", "é", "文",
        ])
    }

    proptest! {
        // A fifth of the concatenations are not globs (`***`, `a**`).
        #![proptest_config(ProptestConfig { max_global_rejects: 1 << 20, ..ProptestConfig::default() })]
        #[test]
        fn literal_pruning_keeps_every_match(
            pieces in prop::collection::vec(glob_piece(), 1..7),
            path in "[ab./\\\\é文*?\\[\\]]{0,14}",
        ) {
            let glob: String = pieces.concat();
            let glob = glob.strip_prefix("./").unwrap_or(&glob).trim_end_matches('/');
            prop_assume!(glob::Pattern::new(glob).is_ok());
            let f = PathFilter::new(&[glob]).unwrap();
            prop_assert_eq!(f.matches(&path), matches_by_definition(&[glob], &path),
                "glob {:?} path {:?}", glob, path);
        }
    }

    #[test]
    fn literal_runs_of_common_globs() {
        assert_eq!(literal_runs("*/man2/*"), vec!["/man2/"]);
        assert_eq!(literal_runs("**/x.md"), vec!["x.md"]);
        assert_eq!(literal_runs("a/**/b"), vec!["a/", "b"]);
        assert_eq!(literal_runs("[!a]b[cd]e"), vec!["b", "e"]);
        let escaped = glob::Pattern::escape("a[1]*?.md");
        assert_eq!(literal_runs(&escaped), vec!["a[1]*?.md"]);
    }

    #[test]
    fn globs_match_parts_of_paths() {
        let f = |g: &str, p: &str| PathFilter::new(&[g]).unwrap().matches(p);
        assert!(f("*.md", "notes/a.md"));
        assert!(f("docs", "notes/docs/a.md"));
        assert!(f("docs/**", "notes/docs/x/a.md"));
        assert!(f("notes/docs/a.md", "notes/docs/a.md"));
        assert!(f("./notes/", "notes/docs/a.md"));
        assert!(!f("*.txt", "notes/a.md"));
        assert!(!f("doc", "notes/docs/a.md"));
        assert!(PathFilter::document("a[1].md").matches("x/a[1].md"));
        assert!(!PathFilter::document("a[1].md").matches("x/a1.md"));
    }
}
