//! The one way to change an index file: an [`IndexWriter`] takes the
//! file's writer lock when it is made and holds it until it drops, so
//! reading the input, building and renaming the new file in all happen
//! under it. Readers never lock: a writer only ever renames a complete
//! file over the old one.

use std::path::{Path, PathBuf};

use super::build::Built;
use super::types::{BuildOptions, BuildReport, IndexInfo, Reporter};
use super::update::UpdateReport;
use super::{persist, Index};
use crate::corpus::WalkOptions;
use crate::error::{Error, Result};
use crate::store::{self, WriterLock};

/// Holds the writer lock of one index file. See the module docs.
#[derive(Debug)]
pub struct IndexWriter {
    path: PathBuf,
    _lock: WriterLock,
}

impl IndexWriter {
    /// For a new build at `path`: checks that `path` may be replaced by an
    /// index (it is absent or is an index: never an input or some other
    /// file) before anything is read, then takes the lock as
    /// [`IndexWriter::open`] does.
    pub fn create(path: &Path, wait: bool, on_wait: impl FnOnce(&Error)) -> Result<IndexWriter> {
        store::ensure_replaceable(path, &store::MAGIC)?;
        Self::open(path, wait, on_wait)
    }

    /// For changing the index at `path`: takes its writer lock. When
    /// another writer holds it, fails with [`Error::Locked`], or with
    /// `wait` blocks until it is free, calling `on_wait` once first (e.g.
    /// to say so).
    pub fn open(path: &Path, wait: bool, on_wait: impl FnOnce(&Error)) -> Result<IndexWriter> {
        let lock = WriterLock::acquire_with(path, wait, on_wait)?;
        Ok(IndexWriter {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The index file this writer owns.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current index, with every checksum checked: its contents are
    /// about to be carried into a new file, and a new file would put fresh
    /// checksums over bad bytes.
    pub fn open_current(&self) -> Result<Index> {
        Index::open_verified(&self.path)
    }

    /// Saves `index` over the file atomically; on error the file is as it
    /// was. Returns the bytes written.
    pub fn save(&self, index: &mut Index) -> Result<u64> {
        // Checked again: the file may have changed since the lock was
        // taken by a process that does not lock.
        store::ensure_replaceable(&self.path, &store::MAGIC)?;
        let bytes = persist::save(index, &self.path)?;
        index.origin.file_bytes = Some(bytes);
        index.origin.format_version = store::FORMAT_VERSION;
        Ok(bytes)
    }

    /// Builds a fresh index of `paths` (see [`Index::build`]) straight
    /// into the file: the rows that grow with the corpus go to unlinked
    /// scratch files beside it as they are made and are copied into the
    /// file as it is written, so the build's memory does not grow with
    /// them. The file is the one [`IndexWriter::save`] would write for the
    /// index [`Index::build`] gives. Returns what the build did and the
    /// bytes written.
    pub fn build(
        &self,
        paths: &[PathBuf],
        opts: &BuildOptions,
        reporter: &dyn Reporter,
    ) -> Result<(BuildReport, u64)> {
        let started = std::time::Instant::now();
        let (built, mut report) = Built::from_paths(paths, opts, Some(&self.path), reporter)?;
        reporter.stage("writing index", 0);
        store::ensure_replaceable(&self.path, &store::MAGIC)?;
        let bytes = built.save(&self.path)?;
        // The time reported is the whole build's, the file written.
        report.seconds = started.elapsed().as_secs_f64();
        Ok((report, bytes))
    }

    /// Brings the file up to date with `paths` (see [`Index::update`]) and
    /// saves it.
    pub fn update(
        &self,
        paths: &[PathBuf],
        walk: &WalkOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Index, UpdateReport, u64)> {
        let old = self.open_current()?;
        let (mut index, report) = old.update(paths, walk, reporter)?;
        drop(old);
        let bytes = self.save(&mut index)?;
        Ok((index, report, bytes))
    }

    /// Compacts the file (see [`Index::compact`]) and saves it. Returns
    /// what [`Index::info`] said of the file before, the new index and the
    /// bytes written.
    pub fn compact(&self, reporter: &dyn Reporter) -> Result<(IndexInfo, Index, u64)> {
        let old = self.open_current()?;
        let before = old.info()?;
        let mut index = old.compact(reporter)?;
        drop(old);
        let bytes = self.save(&mut index)?;
        Ok((before, index, bytes))
    }
}
