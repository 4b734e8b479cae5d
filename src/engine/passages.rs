//! The passage table as two raw sections: fixed 48-byte records and one
//! UTF-8 text blob. Opening an index maps both and validates only the
//! records (O(passages) of 48-byte reads, no allocation per passage); a
//! passage's text is sliced out of the blob when it is shown.

use std::sync::{Arc, OnceLock};

use bytemuck::{Pod, Zeroable};

use super::PassageMeta;
use crate::vector::Slab;

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct PassageRecord {
    pub doc: u32,
    pub lang: u16,
    pub _pad: u16,
    pub line_start: u32,
    pub line_end: u32,
    pub byte_start: u64,
    pub byte_end: u64,
    /// Where the passage's text lies in the blob.
    pub text_start: u64,
    pub text_len: u64,
}

/// The passage records and their text. A table read from a file with block
/// checksums (format 5) is checked lazily: [`PassageTable::get`] verifies
/// and validates the one record a query reads, so opening is O(1) in the
/// passages; [`PassageTable::records`] checks all of them once, for the
/// whole-table readers (updates, `info`, evaluation).
#[derive(Debug, Clone, Default)]
pub struct PassageTable {
    records: Slab<PassageRecord>,
    text: Slab<u8>,
    /// Documents and languages the records may name.
    bounds: (usize, usize),
    /// Whether the records still need checking (lazily, as read).
    lazy: bool,
    /// The outcome of checking every record, once.
    checked_all: Arc<OnceLock<Result<(), String>>>,
}

/// Stands in for a record that failed its check, once the failure is
/// latched for the engine to report: it names document 0 and language 0,
/// which a table with passages always has, and no text.
const DAMAGED: PassageRecord = PassageRecord {
    doc: 0,
    lang: 0,
    _pad: 0,
    line_start: 1,
    line_end: 1,
    byte_start: 0,
    byte_end: 0,
    text_start: 0,
    text_len: 0,
};

impl PassageTable {
    pub fn build(metas: impl IntoIterator<Item = PassageMeta>) -> Self {
        let mut records = Vec::new();
        let mut text = Vec::new();
        let (mut docs, mut langs) = (0, 0);
        for m in metas {
            docs = docs.max(m.doc as usize + 1);
            langs = langs.max(m.lang as usize + 1);
            records.push(PassageRecord {
                doc: m.doc,
                lang: m.lang,
                _pad: 0,
                line_start: m.line_start,
                line_end: m.line_end,
                byte_start: m.byte_start,
                byte_end: m.byte_end,
                text_start: text.len() as u64,
                text_len: m.text.len() as u64,
            });
            text.extend_from_slice(m.text.as_bytes());
        }
        PassageTable {
            records: Slab::from_vec(records),
            text: Slab::from_vec(text),
            bounds: (docs, langs),
            lazy: false,
            checked_all: Arc::default(),
        }
    }

    /// Takes what a file supplied. Records with block checksums are
    /// checked as they are read; others (older files) are checked here:
    /// ids in range, line and byte ranges in order, text ranges inside the
    /// blob. The blob's UTF-8 is checked per passage when it is read, and
    /// in full by `verify`.
    pub fn from_parts(
        records: Slab<PassageRecord>,
        text: Slab<u8>,
        docs: usize,
        langs: usize,
    ) -> Result<Self, String> {
        if !records.is_empty() && (docs == 0 || langs == 0) {
            return Err("passages without documents or languages".into());
        }
        let table = PassageTable {
            lazy: records.has_blocks(),
            records,
            text,
            bounds: (docs, langs),
            checked_all: Arc::default(),
        };
        if !table.lazy {
            table.check_all()?;
        }
        Ok(table)
    }

    /// One pass over every record, in parallel: each run is checked against
    /// its block sums (when there are any) while in cache, then validated.
    fn check_all(&self) -> Result<(), String> {
        use rayon::prelude::*;
        const RUN: usize = 8192;
        let records = &self.records;
        let bad = (0..records.len().div_ceil(RUN))
            .into_par_iter()
            .find_map_first(|c| {
                let (start, end) = (c * RUN, ((c + 1) * RUN).min(records.len()));
                if !records.check(start, end - start) {
                    return Some(format!("passages {start}..{end} fail their checksum"));
                }
                records[start..end]
                    .iter()
                    .position(|r| !self.valid(r))
                    .map(|i| format!("passage {} has impossible fields", start + i))
            });
        match bad {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn valid(&self, r: &PassageRecord) -> bool {
        let text_ok = r
            .text_start
            .checked_add(r.text_len)
            .is_some_and(|end| end <= self.text.len() as u64);
        (r.doc as usize) < self.bounds.0
            && (r.lang as usize) < self.bounds.1
            && r.line_start != 0
            && r.line_end >= r.line_start
            && r.byte_end >= r.byte_start
            && text_ok
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Record `id` (< `len()`), checked if the table is lazy. A record that
    /// fails is latched in the file's slabs (the engine then refuses the
    /// answer) and replaced by a harmless stand-in.
    #[inline]
    pub fn get(&self, id: u32) -> PassageRecord {
        let i = id as usize;
        let r = self.records[i];
        if self.lazy && !(self.records.check(i, 1) && self.valid(&r)) {
            self.records.fail(i);
            return DAMAGED;
        }
        r
    }

    /// Every record, all checked (once per table).
    pub fn records(&self) -> Result<&[PassageRecord], String> {
        if self.lazy {
            self.checked_all.get_or_init(|| self.check_all()).clone()?;
        }
        Ok(&self.records)
    }

    /// Full check of the records and the text blob, for `verify`.
    pub fn verify_text(&self) -> Result<(), String> {
        self.records()?;
        if !self.text.check_all() {
            return Err("a block of the passage text fails its checksum".into());
        }
        for i in 0..self.records.len() {
            std::str::from_utf8(self.text_bytes(i as u32))
                .map_err(|_| format!("passage {i}'s text is not UTF-8"))?;
        }
        Ok(())
    }

    fn text_bytes(&self, id: u32) -> &[u8] {
        let r = self.get(id);
        // Verifies the blocks under the text once per process; a failure is
        // latched for the engine to report before the text is shown.
        self.text.check(r.text_start as usize, r.text_len as usize);
        &self.text[r.text_start as usize..(r.text_start + r.text_len) as usize]
    }

    /// The passage's text; empty if a damaged file made it invalid UTF-8
    /// (which `verify` reports).
    pub fn text(&self, id: u32) -> &str {
        std::str::from_utf8(self.text_bytes(id)).unwrap_or("")
    }

    /// An owned copy of passage `id`, to rebuild a table from.
    pub fn meta(&self, id: u32) -> PassageMeta {
        let r = self.get(id);
        PassageMeta {
            doc: r.doc,
            lang: r.lang,
            line_start: r.line_start,
            line_end: r.line_end,
            byte_start: r.byte_start,
            byte_end: r.byte_end,
            text: self.text(id).to_string(),
        }
    }

    pub fn parts(&self) -> (&[PassageRecord], &[u8]) {
        (&self.records, &self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_validation() {
        let metas = vec![
            PassageMeta {
                doc: 0,
                lang: 1,
                line_start: 1,
                line_end: 2,
                byte_start: 0,
                byte_end: 5,
                text: "héllo".into(),
            },
            PassageMeta {
                doc: 1,
                lang: 0,
                line_start: 4,
                line_end: 4,
                byte_start: 9,
                byte_end: 12,
                text: "向量".into(),
            },
        ];
        let t = PassageTable::build(metas.clone());
        assert_eq!(t.len(), 2);
        assert_eq!(t.text(1), "向量");
        assert_eq!(t.meta(0), metas[0]);
        assert_eq!(t.get(1).line_start, 4);
        let (r, x) = t.parts();
        let ok =
            PassageTable::from_parts(Slab::from_vec(r.to_vec()), Slab::from_vec(x.to_vec()), 2, 2);
        assert!(ok.is_ok());
        let bad = PassageTable::from_parts(
            Slab::from_vec(r.to_vec()),
            Slab::from_vec(x[..4].to_vec()),
            2,
            2,
        );
        assert!(bad.is_err());
        let bad =
            PassageTable::from_parts(Slab::from_vec(r.to_vec()), Slab::from_vec(x.to_vec()), 1, 2);
        assert!(bad.is_err());
    }
}
