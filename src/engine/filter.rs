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
    globs: Vec<glob::Pattern>,
}

impl PathFilter {
    /// Parses the globs; a bad one is an error naming it.
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Result<PathFilter> {
        let globs = globs
            .iter()
            .map(|g| {
                let g = g.as_ref();
                let g = g.strip_prefix("./").unwrap_or(g).trim_end_matches('/');
                glob::Pattern::new(g).map_err(|e| Error::BadGlob {
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
            globs: vec![glob::Pattern::new(&glob::Pattern::escape(p)).expect("escaped")],
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
        let parts: Vec<&str> = path.split('/').collect();
        // Every run of whole components: a suffix, a folder, or a folder
        // below the top.
        for start in 0..parts.len() {
            for end in (start + 1..=parts.len()).rev() {
                let piece = parts[start..end].join("/");
                if self.globs.iter().any(|g| g.matches(&piece)) {
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
                doc: self.corpus.docs[d as usize].path.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
