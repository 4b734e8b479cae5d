//! Index ⇄ file: which section holds what, and the consistency checks that
//! stand between a file that merely has valid checksums and one we trust.

use std::path::Path;

use super::{DocMeta, Index, IndexConfig, IndexKind, PassageMeta};
use std::sync::Arc;

use crate::embed::{Bridge, Embedder, Idf};
use crate::error::{Error, Result};
use crate::index::{FlatIndex, SparseVectors};
use crate::store::{codec, FileWriter, Header, MappedFile, SectionId, Verify};

pub(super) fn save(index: &Index, path: &Path) -> Result<u64> {
    let mut w = FileWriter::new(Header {
        kind: match index.config.kind {
            IndexKind::Flat => 0,
            IndexKind::Hnsw => 1,
        },
        dim: index.config.embedder.dim,
        n_passages: index.passages.len() as u64,
        n_docs: index.docs.len() as u64,
        seed: index.config.embedder.seed,
        ..Default::default()
    });
    w.add(SectionId::Config, codec::encode(&index.config));
    w.add(SectionId::Docs, codec::encode(&index.docs));
    w.add(SectionId::Passages, codec::encode(&index.passages));
    w.add(SectionId::Idf, codec::encode(&index.idf));
    w.add(
        SectionId::Vectors,
        bytemuck::cast_slice::<f32, u8>(index.flat.vectors()),
    );
    let (offsets, keys, weights) = index.sparse.parts();
    w.add(
        SectionId::SparseOffsets,
        bytemuck::cast_slice::<u64, u8>(offsets),
    );
    w.add(SectionId::SparseKeys, bytemuck::cast_slice::<u64, u8>(keys));
    w.add(
        SectionId::SparseWeights,
        bytemuck::cast_slice::<f32, u8>(weights),
    );
    let bridge = index.embedder.bridge().map(|b| &**b);
    w.add(
        SectionId::Crosslang,
        codec::encode(&super::crosslang::Section::of(&index.config, bridge)),
    );
    if let Some(b) = bridge {
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
    w.save(path)
}

pub(super) fn open(path: &Path) -> Result<Index> {
    let file = MappedFile::open(path, Verify::Full)?;
    let corrupt = |detail: String| Error::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let mut config: IndexConfig = file.decode(SectionId::Config)?;
    let mut bridge_meta = None;
    if file.has_section(SectionId::Crosslang) {
        let x: super::crosslang::Section = file.decode(SectionId::Crosslang)?;
        bridge_meta = x.apply(&mut config);
    }
    let docs: Vec<DocMeta> = file.decode(SectionId::Docs)?;
    let passages: Vec<PassageMeta> = file.decode(SectionId::Passages)?;
    let idf: Idf = file.decode(SectionId::Idf)?;
    idf.validate().map_err(corrupt)?;
    let h = file.header;
    let dim = config.embedder.dim as usize;
    if h.dim != config.embedder.dim
        || h.n_passages != passages.len() as u64
        || h.n_docs != docs.len() as u64
        || h.seed != config.embedder.seed
    {
        return Err(corrupt(
            "the header disagrees with the config section".into(),
        ));
    }
    if dim == 0 || dim > crate::embed::MAX_DIM as usize {
        return Err(corrupt(format!("dimension {dim} is out of range")));
    }
    for (i, p) in passages.iter().enumerate() {
        if p.doc as usize >= docs.len()
            || p.lang as usize >= config.langs.len()
            || p.line_start == 0
            || p.line_end < p.line_start
            || p.byte_end < p.byte_start
        {
            return Err(corrupt(format!("passage {i} has impossible fields")));
        }
    }
    let vectors = file.slab::<f32>(SectionId::Vectors)?;
    if vectors.len() != passages.len() * dim {
        return Err(corrupt(format!(
            "{} floats for {} passages of dimension {dim}",
            vectors.len(),
            passages.len()
        )));
    }
    let flat = FlatIndex::new(dim, vectors).map_err(corrupt)?;
    let sparse = SparseVectors::from_parts(
        passages.len(),
        file.slab(SectionId::SparseOffsets)?,
        file.slab(SectionId::SparseKeys)?,
        file.slab(SectionId::SparseWeights)?,
    )
    .map_err(corrupt)?;
    let bridge = match bridge_meta {
        None => None,
        Some((seed, katakana)) => {
            let sources = file.slab::<u64>(SectionId::LexiconSources)?;
            let rows = SparseVectors::from_parts(
                sources.len(),
                file.slab(SectionId::LexiconOffsets)?,
                file.slab(SectionId::LexiconTargets)?,
                file.slab(SectionId::LexiconWeights)?,
            )
            .map_err(|e| corrupt(format!("lexicon: {e}")))?;
            if seed != config.embedder.seed {
                return Err(corrupt("the lexicon's seed is not the index's".into()));
            }
            Some(Arc::new(
                Bridge::from_parts(seed, sources, rows, katakana).map_err(corrupt)?,
            ))
        }
    };
    let embedder = Embedder::with_bridge(config.embedder.clone(), bridge);
    Ok(Index {
        config,
        docs,
        passages,
        idf,
        embedder,
        flat,
        sparse,
        file_bytes: Some(file.len()),
    })
}
