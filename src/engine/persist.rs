//! Index ⇄ file: which section holds what, and the consistency checks that
//! stand between a file that merely has valid checksums and one we trust.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use super::dense::{Codes, Dense};
use super::doctable::DocTable;
use super::migrate;
use super::parts::{Corpus, Origin, Vectors, Weighting};
use super::passages::{PassageRecord, PassageTable, StagedTable};
use super::paths;
use super::staged::{StagedDense, StagedRows};
use super::types::{DocMeta, IndexConfig, IndexKind, SectionBytes};
use super::update::UpdateState;
use super::Index;
use crate::embed::{Bridge, Embedder, Idf};
use crate::error::{Error, Result};
use crate::index::{BitIndex, FlatIndex, Hnsw, HnswParams, HnswParts, SparseVectors};
use crate::store::{codec, FileWriter, Header, MappedFile, SectionId, SectionSource, Verify};
use crate::vector::BlockSum;

/// Block size of the per-block checksums of sections read front to back
/// (vectors, codes): a scan verifies each block once per process, just
/// before it scores it, while the block is in cache.
const SCAN_BLOCK: usize = 64 << 10;
/// Block size for sections read a row at a time (sparse rows, passage
/// text): a re-score of thousands of candidates verifies about 1 KiB per
/// row read rather than whole pages; the sums cost 0.8% of the section.
const RANDOM_BLOCK: usize = 1 << 10;
/// Block size of the codes and links of an HNSW index over codes: a walk
/// visits thousands of scattered nodes and verifies the blocks of each.
const GRAPH_CODE_BLOCK: usize = 256;

/// The scalars of the graph; its arrays are raw sections beside it.
#[derive(serde::Serialize, serde::Deserialize)]
struct HnswMeta {
    n: u32,
    m: u32,
    max_level: u32,
    entry_point: u32,
    seed: u64,
    ef_construction: u32,
}

pub(super) fn save(index: &Index, path: &Path) -> Result<u64> {
    let sparse = index.vectors.sparse.packed();
    let (offsets, words) = sparse.parts().expect("packed rows");
    let rows = Rows {
        dense: DenseRows::Held(&index.vectors.dense),
        offsets: RawSection::Held(bytemuck::cast_slice(offsets)),
        words: RawSection::Held(bytemuck::cast_slice(words)),
        graph: index.vectors.graph.as_ref(),
    };
    write(
        &index.config,
        &index.corpus.docs,
        Passages::Held(&index.corpus.passages, &index.corpus.deleted),
        &index.weighting,
        rows,
        path,
    )
}

/// Writes a fresh build whose bulk rows are in scratch files: the file is
/// byte for byte the one [`save`] writes for the same index held whole.
pub(super) fn save_staged(
    config: &IndexConfig,
    docs: &[DocMeta],
    weighting: &Weighting,
    (passages, staged): (&StagedTable, &StagedRows),
    graph: Option<&(Hnsw, HnswParams)>,
    path: &Path,
) -> Result<u64> {
    let rows = Rows {
        dense: match &staged.dense {
            StagedDense::Held(d) => DenseRows::Held(d),
            StagedDense::Scratch(codes, s) => DenseRows::Streamed(*codes, s),
        },
        offsets: RawSection::Streamed(&staged.offsets),
        words: RawSection::Streamed(&staged.words),
        graph,
    };
    write(
        config,
        docs,
        Passages::Staged(passages),
        weighting,
        rows,
        path,
    )
}

/// The passage table and tombstones an index file holds, wherever they
/// are (a fresh build's have no tombstones).
enum Passages<'a> {
    Held(&'a PassageTable, &'a [bool]),
    Staged(&'a StagedTable),
}

/// The rows an index file holds, wherever they are.
struct Rows<'a> {
    dense: DenseRows<'a>,
    /// The packed sparse rows' offsets and words.
    offsets: RawSection<'a>,
    words: RawSection<'a>,
    graph: Option<&'a (Hnsw, HnswParams)>,
}

enum DenseRows<'a> {
    Held(&'a Dense),
    Streamed(Codes, &'a dyn SectionSource),
}

/// A raw section's bytes, held or in a build's scratch.
#[derive(Clone, Copy)]
enum RawSection<'a> {
    Held(&'a [u8]),
    Streamed(&'a dyn SectionSource),
}

impl<'a> RawSection<'a> {
    /// Adds the section, with XXH3 block sums of `RANDOM_BLOCK` bytes.
    fn add(self, w: &mut FileWriter<'a>, id: SectionId) {
        match self {
            RawSection::Held(bytes) => w.add_blocked(id, bytes, RANDOM_BLOCK, BlockSum::Xxh3),
            RawSection::Streamed(source) => {
                w.add_streamed(id, source, Some((RANDOM_BLOCK, BlockSum::Xxh3)))
            }
        }
    }
}

fn write(
    config: &IndexConfig,
    docs: &[DocMeta],
    passages: Passages,
    weighting: &Weighting,
    rows: Rows,
    path: &Path,
) -> Result<u64> {
    let mut w = FileWriter::new(Header {
        kind: match config.kind {
            IndexKind::Flat => 0,
            IndexKind::Hnsw => 1,
        },
        dim: config.embedder.dim,
        n_passages: match passages {
            Passages::Held(p, _) => p.len(),
            Passages::Staged(p) => p.len,
        } as u64,
        n_docs: docs.len() as u64,
        seed: config.embedder.seed,
        ..Default::default()
    });
    w.add(SectionId::Config, codec::encode(config));
    let (stored, typed_absolute) = paths::to_stored(docs, path);
    w.add(SectionId::Docs, codec::encode(&stored));
    w.add(SectionId::DocPaths, codec::encode(&typed_absolute));
    let pages: Vec<(u32, &[u64])> = docs
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.pages.is_empty())
        .map(|(i, d)| (i as u32, d.pages.as_slice()))
        .collect();
    if !pages.is_empty() {
        w.add(SectionId::DocPages, codec::encode(&pages));
    }
    let deleted = add_passages(&mut w, &passages);
    add_idf(&mut w, &weighting.idf, IDF_SECTIONS);
    add_vectors(&mut w, &rows);
    add_idf(&mut w, &weighting.live_df, LIVE_DF_SECTIONS);
    w.add(SectionId::UpdateState, codec::encode(&weighting.state));
    w.add(SectionId::Deleted, deleted);
    let parts = rows.graph.map(|(g, p)| (g.to_parts(), p));
    if let Some((parts, params)) = &parts {
        let codes = match rows.dense {
            DenseRows::Held(d) => d.codes(),
            DenseRows::Streamed(c, _) => c,
        };
        add_graph(&mut w, parts, params, codes);
    }
    let bridge = weighting.embedder.bridge().map(|b| &**b);
    w.add(
        SectionId::Crosslang,
        codec::encode(&migrate::Crosslang::of(config, bridge)),
    );
    if let Some(b) = bridge {
        add_bridge(&mut w, b);
    }
    w.save(path)
}

/// The passage records and their text; returns the tombstone section.
fn add_passages<'a>(w: &mut FileWriter<'a>, passages: &Passages<'a>) -> Vec<u8> {
    match passages {
        Passages::Held(table, deleted) => {
            let (records, text) = table.parts();
            w.add_blocked(
                SectionId::Passages,
                bytemuck::cast_slice::<PassageRecord, u8>(records),
                SCAN_BLOCK,
                BlockSum::Fletcher,
            );
            w.add_blocked(
                SectionId::PassageText,
                text.data,
                RANDOM_BLOCK,
                BlockSum::Xxh3,
            );
            w.add(
                SectionId::TextFrames,
                match text.ends {
                    Cow::Borrowed(e) => Cow::Borrowed(bytemuck::cast_slice::<u64, u8>(e)),
                    Cow::Owned(e) => Cow::Owned(bytemuck::cast_slice::<u64, u8>(&e).to_vec()),
                },
            );
            deleted.iter().map(|&d| d as u8).collect()
        }
        Passages::Staged(t) => {
            let blocks = Some((SCAN_BLOCK, BlockSum::Fletcher));
            w.add_streamed(SectionId::Passages, &t.records, blocks);
            let blocks = Some((RANDOM_BLOCK, BlockSum::Xxh3));
            w.add_streamed(SectionId::PassageText, &t.text, blocks);
            w.add(
                SectionId::TextFrames,
                bytemuck::cast_slice::<u64, u8>(&t.frame_ends),
            );
            vec![0; t.len]
        }
    }
}

/// The dense rows (f32 or codes) and the packed sparse rows.
fn add_vectors<'a>(w: &mut FileWriter<'a>, rows: &Rows<'a>) {
    match rows.dense {
        // A graph walk reads single rows: their blocks are one row long, so
        // verifying a visited node hashes just its vector.
        DenseRows::Held(Dense::F32(flat)) => w.add_blocked(
            SectionId::Vectors,
            bytemuck::cast_slice::<f32, u8>(flat.vectors()),
            match rows.graph {
                Some(_) => (flat.dim() * 4).next_power_of_two().max(RANDOM_BLOCK),
                None => SCAN_BLOCK,
            },
            BlockSum::Fletcher,
        ),
        // Likewise a walk over codes verifies small blocks around the codes
        // it visits, not 64 KiB each.
        DenseRows::Held(Dense::Bits(b)) => w.add_blocked(
            SectionId::Codes,
            bytemuck::cast_slice::<u64, u8>(b.codes()),
            match rows.graph {
                Some(_) => GRAPH_CODE_BLOCK,
                None => SCAN_BLOCK,
            },
            BlockSum::Fletcher,
        ),
        DenseRows::Streamed(codes, source) => {
            debug_assert!(rows.graph.is_none(), "a graph's rows are held");
            let id = match codes {
                Codes::F32 => SectionId::Vectors,
                Codes::Bits => SectionId::Codes,
            };
            w.add_streamed(id, source, Some((SCAN_BLOCK, BlockSum::Fletcher)));
        }
    }
    rows.offsets.add(w, SectionId::SparseOffsets);
    rows.words.add(w, SectionId::TermWords);
}

/// The graph's scalars and its link arrays.
fn add_graph<'a>(w: &mut FileWriter<'a>, parts: &'a HnswParts, params: &HnswParams, codes: Codes) {
    // A walk over codes visits tens of thousands of nodes: a 1 KiB block
    // of links hashed per visit was a quarter of its time.
    let link_block = match codes {
        Codes::F32 => RANDOM_BLOCK,
        Codes::Bits => GRAPH_CODE_BLOCK,
    };
    let meta = HnswMeta {
        n: parts.n,
        m: parts.m,
        max_level: parts.max_level,
        entry_point: parts.entry_point,
        seed: parts.seed,
        ef_construction: params.ef_construction as u32,
    };
    w.add(SectionId::HnswMeta, codec::encode(&meta));
    w.add_blocked(
        SectionId::HnswLayer0,
        bytemuck::cast_slice::<u32, u8>(&parts.layer0),
        link_block,
        BlockSum::Xxh3,
    );
    w.add(
        SectionId::HnswUpperOffsets,
        bytemuck::cast_slice::<u32, u8>(&parts.upper_offsets),
    );
    w.add(
        SectionId::HnswUpperIds,
        bytemuck::cast_slice::<u32, u8>(&parts.upper_ids),
    );
    w.add(
        SectionId::HnswUpper,
        bytemuck::cast_slice::<u32, u8>(&parts.upper_links),
    );
}

/// The lexicon bridge's arrays.
fn add_bridge<'a>(w: &mut FileWriter<'a>, b: &'a Bridge) {
    let (_, sources, rows, _) = b.parts();
    let (offsets, keys, weights) = rows.parts();
    w.add(
        SectionId::LexiconSources,
        bytemuck::cast_slice::<u64, u8>(sources),
    );
    w.add(
        SectionId::LexiconOffsets,
        bytemuck::cast_slice::<u64, u8>(offsets),
    );
    w.add(
        SectionId::LexiconTargets,
        bytemuck::cast_slice::<u64, u8>(keys),
    );
    w.add(
        SectionId::LexiconWeights,
        bytemuck::cast_slice::<f32, u8>(weights),
    );
}

/// Opens an index. With `full`, every checksum and every invariant is
/// checked (what `vecsearch verify` does: it reads the whole file). Without
/// it, the open is O(1) in the vectors: header, section table and footer are
/// checked, the small metadata sections (config, documents, passages, idf,
/// graph header, live df, update state, tombstones, lexicon) are
/// checksummed, and every section's size and bounds are validated so a
/// corrupt file can give wrong answers but never an out-of-bounds read; the
/// big raw sections (vectors, sparse vectors, passage text, graph) are not
/// checksummed.
pub(super) fn open(path: &Path, full: bool) -> Result<Index> {
    let file = MappedFile::open(
        path,
        if full {
            Verify::Full
        } else {
            Verify::Structure
        },
    )?;
    from_file(&file, full)
}

pub(super) fn from_file(file: &MappedFile, full: bool) -> Result<Index> {
    // Checksumming and decoding the metadata is most of a plain open, and
    // a search command opens once per query: the independent parts run on
    // both cores. Errors are still reported in this fixed order.
    let ((small, config), (docs, (idf, live_df))) = rayon::join(
        || {
            let small = if full {
                Ok(())
            } else {
                verify_small_sections(file)
            };
            (small, migrate::config(file))
        },
        || {
            rayon::join(
                || open_docs(file),
                || {
                    rayon::join(
                        || open_idf(file, IDF_SECTIONS),
                        || open_idf(file, LIVE_DF_SECTIONS),
                    )
                },
            )
        },
    );
    small?;
    let (config, bridge_meta) = config?;
    let docs = docs?;
    let records = file.slab::<PassageRecord>(SectionId::Passages)?;
    let idf = idf?;
    check_header(file, &config, records.len(), docs.len())?;
    let dim = config.embedder.dim as usize;
    let frame_ends = match file.has_section(SectionId::TextFrames) {
        true => Some(file.slab(SectionId::TextFrames)?),
        false => None,
    };
    let passages = PassageTable::from_parts(
        records,
        file.slab(SectionId::PassageText)?,
        frame_ends,
        docs.len(),
        config.langs.len(),
    )
    .map_err(|e| latched_or(file, e))?;
    if full {
        passages.verify_text().map_err(|e| corrupt(file, e))?;
    }
    let dense = open_dense(file, dim, passages.len())?;
    if full && !dense.check_all() {
        return Err(latched_or(file, String::new()));
    }
    let sparse = migrate::sparse_rows(file, passages.len(), full)?;
    if full && !sparse.check_all() {
        return Err(latched_or(file, String::new()));
    }
    let graph = match config.kind {
        IndexKind::Flat => None,
        IndexKind::Hnsw => Some(open_graph(file, passages.len(), full)?),
    };
    let live_df = live_df?;
    let state: UpdateState = file.decode(SectionId::UpdateState)?;
    let deleted: Vec<bool> = file
        .section(SectionId::Deleted)?
        .iter()
        .map(|&b| b != 0)
        .collect();
    // A version 3 file also holds the pre-idf term weights (TermFreqs);
    // they are not needed since re-weighting re-analyzes the stored text.
    if deleted.len() != passages.len() {
        return Err(corrupt(file, "the tombstone section has the wrong length"));
    }
    let bridge = match bridge_meta {
        None => None,
        Some((seed, katakana)) => Some(open_bridge(file, seed, katakana, &config, full)?),
    };
    let embedder = Embedder::with_bridge(config.embedder.clone(), bridge);
    Ok(Index::assemble(
        config,
        Corpus {
            docs,
            passages,
            deleted,
        },
        Weighting {
            embedder,
            idf,
            live_df,
            state,
        },
        Vectors {
            dense,
            sparse,
            graph,
        },
        origin_of(file),
    ))
}

/// The document table, paths shown from the current folder (version 7
/// on; see `paths.rs`) and pages attached to paged documents. Its entries
/// are checked here and decoded when they are read (see `doctable.rs`).
fn open_docs(file: &MappedFile) -> Result<DocTable> {
    file.verify_section(SectionId::Docs)?;
    let mut docs = DocTable::stored(file.slab::<u8>(SectionId::Docs)?).map_err(|e| {
        corrupt(
            file,
            format!("the {} does not decode: {e}", SectionId::Docs.name()),
        )
    })?;
    if file.header.version >= 7 {
        let typed_absolute: Vec<bool> = file.decode(SectionId::DocPaths)?;
        if typed_absolute.len() != docs.len() {
            return Err(corrupt(
                file,
                "the document path section has the wrong length",
            ));
        }
        docs.show_from(typed_absolute, paths::root_of(file.path()));
    }
    if file.has_section(SectionId::DocPages) {
        let pages: Vec<(u32, Vec<u64>)> = file.decode(SectionId::DocPages)?;
        let mut by_doc = vec![Vec::new(); docs.len()];
        for (d, p) in pages {
            let doc = by_doc
                .get_mut(d as usize)
                .filter(|_| !p.is_empty() && p.is_sorted())
                .ok_or_else(|| {
                    corrupt(
                        file,
                        "the page section is not one of its documents' page lists",
                    )
                })?;
            *doc = p;
        }
        docs.set_pages(by_doc);
    }
    Ok(docs)
}

/// What the index keeps of its file.
fn origin_of(file: &MappedFile) -> Origin {
    Origin {
        file_bytes: Some(file.len()),
        sections: file
            .section_ranges()
            .into_iter()
            .map(|(id, _, len)| SectionBytes {
                name: crate::store::section_name(id),
                bytes: len,
            })
            .collect(),
        failure: Some((file.path().to_path_buf(), file.failure())),
        format_version: file.header.version,
        pages: Some(file.pages()),
    }
}

/// The header's counts and settings must be the config's and the tables'.
fn check_header(
    file: &MappedFile,
    config: &IndexConfig,
    passages: usize,
    docs: usize,
) -> Result<()> {
    let h = file.header;
    if h.dim != config.embedder.dim
        || h.n_passages != passages as u64
        || h.n_docs != docs as u64
        || h.seed != config.embedder.seed
    {
        return Err(corrupt(
            file,
            "the header disagrees with the config section",
        ));
    }
    let dim = config.embedder.dim as usize;
    if dim == 0 || dim > crate::embed::MAX_DIM as usize {
        return Err(corrupt(file, format!("dimension {dim} is out of range")));
    }
    Ok(())
}

/// What a plain open checksums whole. Structured sections are checked by
/// `decode` itself. Of the raw ones, the tombstones are checksummed here,
/// and the passage records as they are validated (block sums from version
/// 5, lazily; older files, here); the other bulk sections are verified
/// block by block as queries read them.
fn verify_small_sections(file: &MappedFile) -> Result<()> {
    file.verify_section(SectionId::Deleted)?;
    if file.has_section(SectionId::TextFrames) {
        file.verify_section(SectionId::TextFrames)?;
    }
    if !file.has_section_sums(SectionId::Passages) {
        file.verify_section(SectionId::Passages)?;
    }
    // The lexicon bridge expands every query: a bad byte there changes
    // answers. It is pruned to the corpus's terms, a few MB at most.
    for id in [
        SectionId::LexiconSources,
        SectionId::LexiconOffsets,
        SectionId::LexiconTargets,
        SectionId::LexiconWeights,
    ] {
        file.verify_section(id)?;
    }
    Ok(())
}

/// `detail` (a message or a part's [`Malformed`](crate::error::Malformed))
/// as corruption of `file`.
fn corrupt(file: &MappedFile, detail: impl std::fmt::Display) -> Error {
    Error::Corrupt {
        path: file.path().to_path_buf(),
        detail: detail.to_string(),
    }
}

/// The checksum failure the file's slabs latched, if any, else `detail`
/// as corruption.
fn latched_or(file: &MappedFile, detail: impl std::fmt::Display) -> Error {
    MappedFile::failure_error(file.path(), &file.failure()).unwrap_or_else(|| corrupt(file, detail))
}

/// The graph of an HNSW index and the parameters it was built with.
fn open_graph(file: &MappedFile, passages: usize, full: bool) -> Result<(Hnsw, HnswParams)> {
    let meta: HnswMeta = file.decode(SectionId::HnswMeta)?;
    if !full && file.has_section_sums(SectionId::HnswLayer0) {
        // Layer 0 is verified per block as walks read it; the upper
        // layers hold about one node in M and every walk starts there,
        // so they are checked whole.
        for id in [
            SectionId::HnswUpperOffsets,
            SectionId::HnswUpperIds,
            SectionId::HnswUpper,
        ] {
            file.verify_section(id)?;
        }
    }
    if meta.n as usize != passages {
        return Err(corrupt(file, "the graph and the passage table disagree"));
    }
    let parts = HnswParts {
        n: meta.n,
        m: meta.m,
        max_level: meta.max_level,
        entry_point: meta.entry_point,
        seed: meta.seed,
        layer0: file.slab(SectionId::HnswLayer0)?,
        upper_offsets: file.slab(SectionId::HnswUpperOffsets)?,
        upper_ids: file.slab(SectionId::HnswUpperIds)?,
        upper_links: file.slab(SectionId::HnswUpper)?,
    };
    // With block sums, layer 0's records are checked as walks read them
    // (and their blocks verified after each walk) instead of all at open.
    let graph = match !full && file.has_section_sums(SectionId::HnswLayer0) {
        true => Hnsw::from_parts_lazy(parts),
        false => Hnsw::from_parts(parts),
    }
    .map_err(|e| corrupt(file, e))?;
    let params = HnswParams {
        m: meta.m as usize,
        ef_construction: meta.ef_construction as usize,
        seed: meta.seed,
    };
    Ok((graph, params))
}

/// The lexicon bridge, from its raw sections.
fn open_bridge(
    file: &MappedFile,
    seed: u64,
    katakana: Vec<String>,
    config: &IndexConfig,
    full: bool,
) -> Result<Arc<Bridge>> {
    let sources = file.slab::<u64>(SectionId::LexiconSources)?;
    let rows = SparseVectors::from_parts_checked(
        sources.len(),
        file.slab(SectionId::LexiconOffsets)?,
        file.slab(SectionId::LexiconTargets)?,
        file.slab(SectionId::LexiconWeights)?,
        full,
    )
    .map_err(|e| corrupt(file, format!("lexicon: {e}")))?;
    if seed != config.embedder.seed {
        return Err(corrupt(file, "the lexicon's seed is not the index's"));
    }
    Ok(Arc::new(
        Bridge::from_parts(seed, sources, rows, katakana).map_err(|e| corrupt(file, e))?,
    ))
}

/// The dense section: 1-bit codes when the file has them (version 5 on),
/// otherwise f32 vectors; either must hold exactly one row per passage.
fn open_dense(file: &MappedFile, dim: usize, passages: usize) -> Result<Dense> {
    let corrupt = |detail: &dyn std::fmt::Display| corrupt(file, detail);
    if file.has_section(SectionId::Codes) {
        let codes = file.slab::<u64>(SectionId::Codes)?;
        let words = crate::vector::bits::code_words(dim);
        if codes.len() != passages * words {
            return Err(corrupt(&format!(
                "{} code words for {passages} passages of {words} words",
                codes.len()
            )));
        }
        return Ok(Dense::Bits(
            BitIndex::new(dim, codes).map_err(|e| corrupt(&e))?,
        ));
    }
    let vectors = file.slab::<f32>(SectionId::Vectors)?;
    if vectors.len() != passages * dim {
        return Err(corrupt(&format!(
            "{} floats for {passages} passages of dimension {dim}",
            vectors.len()
        )));
    }
    Ok(Dense::F32(
        FlatIndex::new(dim, vectors).map_err(|e| corrupt(&e))?,
    ))
}

/// The sections of one document-frequency table: its passage count, its
/// term hashes and its counts.
type IdfSections = (SectionId, SectionId, SectionId);
const IDF_SECTIONS: IdfSections = (SectionId::Idf, SectionId::IdfHashes, SectionId::IdfDf);
const LIVE_DF_SECTIONS: IdfSections = (
    SectionId::LiveDf,
    SectionId::LiveDfHashes,
    SectionId::LiveDfDf,
);

fn add_idf<'a>(w: &mut FileWriter<'a>, idf: &'a Idf, (meta, hashes, df): IdfSections) {
    w.add(meta, codec::encode(&idf.n_docs));
    w.add(hashes, bytemuck::cast_slice::<u64, u8>(&idf.hashes));
    w.add(df, bytemuck::cast_slice::<u32, u8>(&idf.df));
}

/// A table zero-copy from its raw columns (version 5 on), or decoded from
/// the one bincode section of older versions. The columns are small next
/// to the passages, so they are checksummed and checked for order here.
fn open_idf(file: &MappedFile, (meta, hashes, df): IdfSections) -> Result<Idf> {
    let idf = if file.header.version >= 5 {
        file.verify_section(hashes)?;
        file.verify_section(df)?;
        Idf {
            n_docs: file.decode(meta)?,
            hashes: file.slab(hashes)?,
            df: file.slab(df)?,
        }
    } else {
        migrate::idf_v4(file, meta)?
    };
    idf.validate().map_err(|detail| corrupt(file, detail))?;
    Ok(idf)
}
