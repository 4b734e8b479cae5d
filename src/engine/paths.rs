//! Document paths that do not depend on the current folder (format 7).
//!
//! In memory a document's path is its *shown* form: as the user typed it
//! (tidied), relative to the process's current folder, or absolute when it
//! was typed absolute. On disk it is stored relative to the *root*, the
//! folder the index file is in (physically: symlinks resolved), or
//! absolute when the file lies outside that folder; one flag per document
//! (`SectionId::DocPaths`) remembers whether it was typed absolute.
//!
//! Why the index file's folder: it is the one place every command already
//! names (`--index`, or `./vecsearch.vsx` by default), it needs no extra
//! state, and an index kept beside its documents (in a repository, say)
//! keeps working when the whole tree is moved or reached by another path.
//! Opening turns the stored form back into a shown one relative to the
//! current folder, so a search from the folder the index was built in
//! prints exactly what was typed, and one from elsewhere prints paths that
//! open from there.
//!
//! Files of versions 3 to 6 keep their paths as typed: they are shown as
//! stored, and an update matches them relative to its own current folder,
//! as before; saving such an index writes version 7.

use std::path::{Component, Path, PathBuf};

use super::types::DocMeta;
use crate::corpus::{key_path, path_key};

/// The root of the index file opened at `index`: the folder the file
/// really is in (a symlink to it resolved), so every spelling of the index
/// path gives the same root.
pub(crate) fn root_of(index: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(index) {
        if let Some(dir) = real.parent() {
            return dir.to_path_buf();
        }
    }
    root_for_write(index)
}

/// The root of an index file about to be written at `index`: the folder
/// named, symlinks resolved. A symlink at `index` itself is replaced by the
/// write (the rename puts the file where the link was), so it is not
/// followed; once written, [`root_of`] gives the same folder.
pub(crate) fn root_for_write(index: &Path) -> PathBuf {
    let dir = match index.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(&dir).unwrap_or_else(|_| absolute(&dir, &current_dir()))
}

/// The process's current folder, or `/` when it is gone (paths are then
/// shown absolute).
pub(crate) fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
}

/// `p` made absolute against `cwd`, without `.` components. A `..` is
/// resolved as the kernel would: the folder before it has its symlinks
/// resolved first (so `link/../x` is the folder above the link's target),
/// and names after the last `..` are kept as spelt.
pub(crate) fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    let mut out = if p.is_absolute() {
        PathBuf::new()
    } else {
        cwd.to_path_buf()
    };
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if let Ok(real) = std::fs::canonicalize(&out) {
                    out = real;
                }
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `abs` relative to `base` (both absolute, without `.` or `..`), going up
/// with `..` where needed; `None` when `base` would have to be left up to
/// the filesystem root, where the absolute path reads better.
pub(crate) fn relative_to(abs: &Path, base: &Path) -> Option<PathBuf> {
    let a: Vec<Component> = abs.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let only_root = a
        .iter()
        .take(common)
        .all(|c| matches!(c, Component::RootDir | Component::Prefix(_)));
    if common == a.len() || (only_root && common < b.len()) {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &a[common..] {
        out.push(c);
    }
    Some(out)
}

/// The stored form of the shown path `shown` (relative to `cwd`) for an
/// index whose root is `root`, and whether it is shown absolute.
pub(crate) fn stored_form(shown: &str, cwd: &Path, root: &Path) -> (String, bool) {
    let p = key_path(shown);
    let typed_absolute = p.is_absolute();
    let abs = absolute(&p, cwd);
    // Spelt through a symlink from outside the root (a linked folder), a
    // file may still lie below it: stored relative, it moves with the index.
    let below = |p: &Path| {
        p.strip_prefix(root)
            .ok()
            .filter(|r| !r.as_os_str().is_empty())
            .map(Path::to_path_buf)
    };
    let stored = below(&abs)
        .or_else(|| std::fs::canonicalize(&abs).ok().and_then(|r| below(&r)))
        .unwrap_or(abs);
    (path_key(&stored), typed_absolute)
}

/// The shown form of a stored path: absolute when it was typed so (or
/// lies apart from `cwd`), else relative to `cwd`.
pub(crate) fn shown_form(stored: &str, typed_absolute: bool, root: &Path, cwd: &Path) -> String {
    let p = key_path(stored);
    let abs = if p.is_absolute() { p } else { root.join(p) };
    if typed_absolute {
        return path_key(&abs);
    }
    path_key(&relative_to(&abs, cwd).unwrap_or(abs))
}

/// The documents as stored in a file written at `index`, and the flags of
/// the `DocPaths` section.
pub(crate) fn to_stored(docs: &[DocMeta], index: &Path) -> (Vec<DocMeta>, Vec<bool>) {
    let (cwd, root) = (current_dir(), root_for_write(index));
    docs.iter()
        .map(|d| {
            let (path, typed_absolute) = stored_form(&d.path, &cwd, &root);
            (DocMeta { path, ..d.clone() }, typed_absolute)
        })
        .unzip()
}

/// What identifies a file across spellings, for `--update`: the path with
/// every symlink resolved when it exists, else its absolute form.
pub(crate) fn identity(p: &Path, cwd: &Path) -> PathBuf {
    let abs = absolute(p, cwd);
    std::fs::canonicalize(&abs).unwrap_or(abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_go_up_only_below_a_shared_folder() {
        let r = |a: &str, b: &str| relative_to(Path::new(a), Path::new(b));
        assert_eq!(r("/w/p/a.md", "/w/p"), Some("a.md".into()));
        assert_eq!(r("/w/p/d/a.md", "/w/q"), Some("../p/d/a.md".into()));
        assert_eq!(r("/tmp/a.md", "/home/u"), None);
        assert_eq!(r("/w/p/a.md", "/"), Some("w/p/a.md".into()));
    }

    #[test]
    fn stored_and_shown_forms_round_trip() {
        let root = Path::new("/w/idx");
        let cwd = Path::new("/w/idx/sub");
        for (shown, stored, abs) in [
            ("a.md", "sub/a.md", false),
            ("../b/c.md", "b/c.md", false),
            ("/w/idx/sub/a.md", "sub/a.md", true),
            ("/elsewhere/x.md", "/elsewhere/x.md", true),
            ("../../other/x.md", "/w/other/x.md", false),
        ] {
            assert_eq!(stored_form(shown, cwd, root), (stored.into(), abs));
            assert_eq!(shown_form(stored, abs, root, cwd), shown);
        }
        // From another folder the same stored paths open from there.
        assert_eq!(
            shown_form("sub/a.md", false, root, Path::new("/w")),
            "idx/sub/a.md"
        );
        assert_eq!(
            shown_form("sub/a.md", false, root, Path::new("/")),
            "w/idx/sub/a.md"
        );
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_survive() {
        let key = path_key(&key_path("d/x\\xff.txt"));
        assert_eq!(key, "d/x\\xff.txt");
        // A UTF-8 name that merely contains a backslash-x is itself.
        assert_eq!(key_path("a\\x41.md"), PathBuf::from("a\\x41.md"));
    }
}
