//! Reading what older files and older settings left behind, in one place.
//!
//! The format version of the file is the version of everything in it,
//! config included. The config section was frozen at version 3; settings
//! added since (three analyzer switches and the lexicon bridge) live in the
//! `Crosslang` section beside it, which [`config`] folds in. Versions
//! before 6 keep sparse rows unpacked, version 3 as whole term hashes with
//! f32 weights ([`sparse_rows`] reads them all), and versions before 5
//! keep the idf tables as one bincode section ([`idf_v4`]).

use serde::{Deserialize, Serialize};

use super::types::IndexConfig;
use crate::embed::{Bridge, Idf, IdfV4};
use crate::error::{Error, Malformed, Result};
use crate::index::{sort_and_sum, SparseBuilder, SparseVectors, TermRows, TermRowsV5};
use crate::store::{MappedFile, SectionId};

/// The settings added after the config section was frozen, and whether
/// there is a lexicon bridge (its arrays are raw sections of their own,
/// mapped on open), so a query is expanded exactly as the documents were.
/// A file without this section predates all of them: switches off, no
/// lexicon.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Crosslang {
    fold_han: bool,
    latin_subwords: bool,
    whole_katakana: bool,
    /// The bridge's seed and its Katakana words (for compound splitting).
    bridge: Option<(u64, Vec<String>)>,
}

impl Crosslang {
    pub(super) fn of(config: &IndexConfig, bridge: Option<&Bridge>) -> Self {
        let a = &config.embedder.analyzer;
        Crosslang {
            fold_han: a.fold_han,
            latin_subwords: a.latin_subwords,
            whole_katakana: a.whole_katakana,
            bridge: bridge.map(|b| {
                let (seed, _, _, katakana) = b.parts();
                (seed, katakana.to_vec())
            }),
        }
    }
}

/// The bridge's seed and Katakana words, when the file has a bridge.
pub(super) type BridgeMeta = Option<(u64, Vec<String>)>;

/// The index's settings, whole: the frozen config section with the later
/// settings folded in.
pub(super) fn config(file: &MappedFile) -> Result<(IndexConfig, BridgeMeta)> {
    let mut config: IndexConfig = file.decode(SectionId::Config)?;
    if !file.has_section(SectionId::Crosslang) {
        return Ok((config, None));
    }
    let x: Crosslang = file.decode(SectionId::Crosslang)?;
    let a = &mut config.embedder.analyzer;
    a.fold_han = x.fold_han;
    a.latin_subwords = x.latin_subwords;
    a.whole_katakana = x.whole_katakana;
    Ok((config, x.bridge))
}

/// The sparse rows: packed from version 6 on; versions 4 and 5 kept u32
/// keys with u16 weights, read as they are so old files answer exactly as
/// they did; version 3 kept whole term hashes with f32 weights, re-keyed
/// into the version-5 form here (one pass over every term, for files of
/// that version only).
pub(super) fn sparse_rows(file: &MappedFile, rows: usize, full: bool) -> Result<TermRows> {
    let corrupt = |detail: Malformed| Error::Corrupt {
        path: file.path().to_path_buf(),
        detail: detail.to_string(),
    };
    if file.header.version >= 6 {
        return TermRows::from_parts_checked(
            rows,
            file.slab(SectionId::SparseOffsets)?,
            file.slab(SectionId::TermWords)?,
            full,
        )
        .map_err(corrupt);
    }
    if file.header.version >= 4 {
        return Ok(TermRows::Wide(
            TermRowsV5::from_parts_checked(
                rows,
                file.slab(SectionId::SparseOffsets)?,
                file.slab(SectionId::SparseKeys)?,
                file.slab(SectionId::SparseWeights)?,
                full,
            )
            .map_err(corrupt)?,
        ));
    }
    let v3 = SparseVectors::<u64, f32>::from_parts_checked(
        rows,
        file.slab(SectionId::SparseOffsets)?,
        file.slab(SectionId::SparseKeys)?,
        file.slab(SectionId::SparseWeights)?,
        full,
    )
    .map_err(corrupt)?;
    let mut b = SparseBuilder::<u32, u16>::new();
    for i in 0..v3.rows() as u32 {
        let (k, w) = v3.row(i);
        let mut row: Vec<(u32, f32)> = k
            .iter()
            .zip(w)
            .map(|(&h, &w)| ((h >> 32) as u32, w))
            .collect();
        sort_and_sum(&mut row);
        b.push(row);
    }
    Ok(TermRows::Wide(b.finish()))
}

/// A document-frequency table from the one bincode section versions 3 and
/// 4 kept it in.
pub(super) fn idf_v4(file: &MappedFile, section: SectionId) -> Result<Idf> {
    Ok(file.decode::<IdfV4>(section)?.into())
}
