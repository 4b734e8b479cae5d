//! The vector file formats of ANN benchmarks (TEXMEX `.fvecs`, `.ivecs`,
//! `.bvecs`) and `.npy` export, so vecsearch can be measured on the same data
//! as its peers.
//!
//! TEXMEX files have no header: every row is a little-endian `i32` dimension
//! followed by that many values (`f32`, `i32` or `u8`). Because nothing
//! describes the file as a whole, every row is checked and bad input comes
//! back as an [`AnnFileError`] naming the file and the row, never a panic.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::vector::AlignedVec;

/// Largest dimension accepted when reading. A garbage first word would
/// otherwise make a small file claim rows of gigabytes.
pub const MAX_DIM: usize = 1 << 20;

/// Element type of a TEXMEX file, taken from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VecsKind {
    /// `.fvecs`: `f32` values.
    F32,
    /// `.ivecs`: `i32` values (usually ground-truth neighbour ids).
    I32,
    /// `.bvecs`: `u8` values (e.g. SIFT1B).
    U8,
}

impl VecsKind {
    /// The kind named by `path`'s extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Self, AnnFileError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("fvecs") => Ok(VecsKind::F32),
            Some("ivecs") => Ok(VecsKind::I32),
            Some("bvecs") => Ok(VecsKind::U8),
            _ => Err(AnnFileError::UnknownExtension {
                path: path.to_path_buf(),
            }),
        }
    }

    fn elem_bytes(self) -> usize {
        match self {
            VecsKind::F32 | VecsKind::I32 => 4,
            VecsKind::U8 => 1,
        }
    }
}

/// What is wrong with an ANN vector file; each variant names the file
/// (and the row). Fields are self-describing.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum AnnFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: unknown extension, expected .fvecs, .ivecs or .bvecs", path.display())]
    UnknownExtension { path: PathBuf },
    #[error("{}: expected a .{expected} file", path.display())]
    WrongKind {
        path: PathBuf,
        expected: &'static str,
    },
    #[error(
        "{}: row {row} is truncated: needs {needed} bytes at offset {offset}, file has {available}",
        path.display()
    )]
    TruncatedRow {
        path: PathBuf,
        row: usize,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("{}: row {row} has dimension {dim}, must be 1..={MAX_DIM}", path.display())]
    BadDim { path: PathBuf, row: usize, dim: i64 },
    #[error(
        "{}: row {row} has dimension {found}, earlier rows have {expected}",
        path.display()
    )]
    InconsistentDim {
        path: PathBuf,
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error(
        "{}: cannot write {len} values as rows of dimension {dim}",
        path.display()
    )]
    BadShape {
        path: PathBuf,
        len: usize,
        dim: usize,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> AnnFileError + '_ {
    move |source| AnnFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Walks the rows of a TEXMEX file, checking each header, and hands every
/// row's value bytes to `row`. Returns `(n, dim)`; an empty file is `(0, 0)`.
fn parse_rows(
    path: &Path,
    bytes: &[u8],
    kind: VecsKind,
    mut row: impl FnMut(&[u8]),
) -> Result<(usize, usize), AnnFileError> {
    let elem = kind.elem_bytes();
    let mut offset = 0;
    let mut n = 0;
    let mut dim = 0;
    while offset < bytes.len() {
        let truncated = |needed: usize| AnnFileError::TruncatedRow {
            path: path.to_path_buf(),
            row: n,
            offset,
            needed,
            available: bytes.len() - offset,
        };
        let head: [u8; 4] = bytes
            .get(offset..offset + 4)
            .ok_or_else(|| truncated(4))?
            .try_into()
            .expect("slice of 4");
        let d = i32::from_le_bytes(head) as i64;
        if d < 1 || d as usize > MAX_DIM {
            return Err(AnnFileError::BadDim {
                path: path.to_path_buf(),
                row: n,
                dim: d,
            });
        }
        let d = d as usize;
        if n == 0 {
            dim = d;
        } else if d != dim {
            return Err(AnnFileError::InconsistentDim {
                path: path.to_path_buf(),
                row: n,
                expected: dim,
                found: d,
            });
        }
        let len = 4 + d * elem;
        let body = bytes
            .get(offset + 4..offset + len)
            .ok_or_else(|| truncated(len))?;
        row(body);
        offset += len;
        n += 1;
    }
    Ok((n, dim))
}

fn read_file(path: &Path) -> Result<Vec<u8>, AnnFileError> {
    std::fs::read(path).map_err(io_err(path))
}

/// Reads any TEXMEX file (kind chosen by extension) as `f32` rows into an
/// aligned arena: `(data, n, dim)` with `data.len() == n * dim`.
pub fn read_vectors(path: impl AsRef<Path>) -> Result<(AlignedVec, usize, usize), AnnFileError> {
    let path = path.as_ref();
    let kind = VecsKind::from_path(path)?;
    let bytes = read_file(path)?;
    let mut data = AlignedVec::new();
    let mut buf: Vec<f32> = Vec::new();
    let (n, dim) = parse_rows(path, &bytes, kind, |body| {
        buf.clear();
        match kind {
            VecsKind::F32 => buf.extend(
                body.chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
            ),
            VecsKind::I32 => buf.extend(
                body.chunks_exact(4)
                    .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32),
            ),
            VecsKind::U8 => buf.extend(body.iter().map(|&b| b as f32)),
        }
        if data.is_empty() {
            // One row tells us the row size, so reserve the whole file once.
            data.reserve(bytes.len() / (4 + body.len()) * buf.len());
        }
        data.extend_from_slice(&buf);
    })?;
    Ok((data, n, dim))
}

/// Reads an `.ivecs` file exactly (ids do not survive a trip through `f32`
/// above 2^24): `(data, n, dim)`.
pub fn read_ivecs(path: impl AsRef<Path>) -> Result<(Vec<i32>, usize, usize), AnnFileError> {
    let path = path.as_ref();
    if VecsKind::from_path(path)? != VecsKind::I32 {
        return Err(AnnFileError::WrongKind {
            path: path.to_path_buf(),
            expected: "ivecs",
        });
    }
    let bytes = read_file(path)?;
    let mut data = Vec::with_capacity(bytes.len() / 4);
    let (n, dim) = parse_rows(path, &bytes, VecsKind::I32, |body| {
        data.extend(
            body.chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap())),
        )
    })?;
    Ok((data, n, dim))
}

fn check_shape(path: &Path, len: usize, dim: usize) -> Result<usize, AnnFileError> {
    let bad = || AnnFileError::BadShape {
        path: path.to_path_buf(),
        len,
        dim,
    };
    if dim == 0 {
        return if len == 0 { Ok(0) } else { Err(bad()) };
    }
    if !len.is_multiple_of(dim) || dim > i32::MAX as usize {
        return Err(bad());
    }
    Ok(len / dim)
}

fn write_rows<T: Copy, const B: usize>(
    path: &Path,
    data: &[T],
    dim: usize,
    to_le: impl Fn(T) -> [u8; B],
) -> Result<(), AnnFileError> {
    check_shape(path, data.len(), dim)?;
    let err = io_err(path);
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err(path))?);
    let head = (dim as i32).to_le_bytes();
    let mut line = Vec::with_capacity(4 + dim * B);
    let result = (|| {
        for row in data.chunks_exact(dim.max(1)) {
            line.clear();
            line.extend_from_slice(&head);
            row.iter().for_each(|&x| line.extend_from_slice(&to_le(x)));
            w.write_all(&line)?;
        }
        w.flush()
    })();
    result.map_err(err)
}

/// Writes `data` as `.fvecs` rows of `dim` values.
pub fn write_fvecs(path: impl AsRef<Path>, data: &[f32], dim: usize) -> Result<(), AnnFileError> {
    write_rows(path.as_ref(), data, dim, f32::to_le_bytes)
}

/// Writes `data` as `.ivecs` rows of `dim` values.
pub fn write_ivecs(path: impl AsRef<Path>, data: &[i32], dim: usize) -> Result<(), AnnFileError> {
    write_rows(path.as_ref(), data, dim, i32::to_le_bytes)
}

/// Writes an `n × dim` matrix as NumPy `.npy` (format 1.0, `<f4`, C order),
/// which `numpy.load` reads without copying through Python lists.
pub fn write_npy(
    path: impl AsRef<Path>,
    data: &[f32],
    n: usize,
    dim: usize,
) -> Result<(), AnnFileError> {
    let path = path.as_ref();
    if n.checked_mul(dim) != Some(data.len()) {
        return Err(AnnFileError::BadShape {
            path: path.to_path_buf(),
            len: data.len(),
            dim,
        });
    }
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {dim}), }}");
    // Magic (6) + version (2) + length (2) + header must be a multiple of 64
    // (NumPy's own alignment), ending in a newline.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err(path))?);
    let result = (|| {
        w.write_all(b"\x93NUMPY\x01\x00")?;
        w.write_all(&(header.len() as u16).to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        for chunk in data.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|x| x.to_le_bytes()).collect();
            w.write_all(&bytes)?;
        }
        w.flush()
    })();
    result.map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn fvecs_round_trip() {
        let dir = tmp();
        let p = dir.path().join("a.fvecs");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
        write_fvecs(&p, &data, 4).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 3 * (4 + 16));
        let (got, n, dim) = read_vectors(&p).unwrap();
        assert_eq!((n, dim), (3, 4));
        assert_eq!(&got[..], &data[..]);
    }

    #[test]
    fn ivecs_round_trip_exact_and_as_f32() {
        let dir = tmp();
        let p = dir.path().join("gt.ivecs");
        let data = vec![0, 1, 2, 16_777_217, -5, i32::MAX];
        write_ivecs(&p, &data, 3).unwrap();
        let (got, n, dim) = read_ivecs(&p).unwrap();
        assert_eq!((n, dim), (2, 3));
        assert_eq!(got, data);
        let (f, _, _) = read_vectors(&p).unwrap();
        assert_eq!(f[4], -5.0);
    }

    #[test]
    fn bvecs_reads_bytes() {
        let dir = tmp();
        let p = dir.path().join("b.BVECS");
        let mut bytes = Vec::new();
        for row in [[0u8, 7, 255], [1, 2, 3]] {
            bytes.extend_from_slice(&3i32.to_le_bytes());
            bytes.extend_from_slice(&row);
        }
        std::fs::write(&p, bytes).unwrap();
        let (got, n, dim) = read_vectors(&p).unwrap();
        assert_eq!((n, dim), (2, 3));
        assert_eq!(&got[..], &[0.0, 7.0, 255.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn empty_file_is_zero_rows() {
        let dir = tmp();
        let p = dir.path().join("e.fvecs");
        write_fvecs(&p, &[], 0).unwrap();
        let (got, n, dim) = read_vectors(&p).unwrap();
        assert_eq!((got.len(), n, dim), (0, 0, 0));
    }

    #[test]
    fn truncated_rows_are_errors() {
        let dir = tmp();
        let p = dir.path().join("t.fvecs");
        write_fvecs(&p, &[1.0; 8], 4).unwrap();
        let full = std::fs::read(&p).unwrap();
        for cut in [1, 3, 4, 10, 19, 21, 39] {
            std::fs::write(&p, &full[..cut]).unwrap();
            let err = read_vectors(&p).unwrap_err();
            assert!(
                matches!(err, AnnFileError::TruncatedRow { .. }),
                "cut {cut}: {err}"
            );
            assert!(err.to_string().contains("t.fvecs"));
        }
    }

    #[test]
    fn inconsistent_and_bad_dims_are_errors() {
        let dir = tmp();
        let p = dir.path().join("d.ivecs");
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&2i32.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&3i32.to_le_bytes());
        bytes.extend_from_slice(&[0; 12]);
        std::fs::write(&p, &bytes).unwrap();
        match read_ivecs(&p).unwrap_err() {
            AnnFileError::InconsistentDim {
                row: 1,
                expected: 2,
                found: 3,
                ..
            } => {}
            e => panic!("{e}"),
        }
        for d in [0i32, -1, i32::MAX, (MAX_DIM + 1) as i32] {
            std::fs::write(&p, d.to_le_bytes()).unwrap();
            assert!(matches!(
                read_ivecs(&p).unwrap_err(),
                AnnFileError::BadDim { row: 0, .. }
            ));
        }
    }

    #[test]
    fn unknown_extension_and_missing_file() {
        let dir = tmp();
        assert!(matches!(
            read_vectors(dir.path().join("x.bin")).unwrap_err(),
            AnnFileError::UnknownExtension { .. }
        ));
        assert!(matches!(
            read_vectors(dir.path().join("noext")).unwrap_err(),
            AnnFileError::UnknownExtension { .. }
        ));
        assert!(matches!(
            read_ivecs(dir.path().join("x.fvecs")).unwrap_err(),
            AnnFileError::WrongKind { .. }
        ));
        assert!(matches!(
            read_vectors(dir.path().join("missing.fvecs")).unwrap_err(),
            AnnFileError::Io { .. }
        ));
    }

    #[test]
    fn writers_reject_bad_shapes() {
        let dir = tmp();
        let p = dir.path().join("w.fvecs");
        assert!(write_fvecs(&p, &[1.0; 5], 2).is_err());
        assert!(write_fvecs(&p, &[1.0; 5], 0).is_err());
        assert!(write_npy(dir.path().join("w.npy"), &[1.0; 5], 2, 2).is_err());
    }

    #[test]
    fn npy_header_is_valid_v1() {
        let dir = tmp();
        let p = dir.path().join("m.npy");
        let data: Vec<f32> = (0..6).map(|i| i as f32).collect();
        write_npy(&p, &data, 2, 3).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with('\n'));
        let body: Vec<f32> = bytes[10 + hlen..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(body, data);
    }

    fn matrix() -> impl Strategy<Value = (Vec<f32>, usize)> {
        (1usize..40, 0usize..20)
            .prop_flat_map(|(dim, n)| (prop::collection::vec(any::<f32>(), n * dim), Just(dim)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_fvecs_round_trip((data, dim) in matrix()) {
            let dir = tmp();
            let p = dir.path().join("p.fvecs");
            write_fvecs(&p, &data, dim).unwrap();
            let (got, n, d) = read_vectors(&p).unwrap();
            prop_assert_eq!(n, data.len() / dim);
            prop_assert_eq!(d, if n == 0 { 0 } else { dim });
            // Bitwise, so NaN payloads and -0.0 survive too.
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&got), bits(&data));
        }

        #[test]
        fn prop_ivecs_round_trip(dim in 1usize..30, data in prop::collection::vec(any::<i32>(), 0..300)) {
            let data = &data[..data.len() / dim * dim];
            let dir = tmp();
            let p = dir.path().join("p.ivecs");
            write_ivecs(&p, data, dim).unwrap();
            let (got, _, _) = read_ivecs(&p).unwrap();
            prop_assert_eq!(got, data);
        }

        #[test]
        fn prop_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let dir = tmp();
            for name in ["g.fvecs", "g.ivecs", "g.bvecs"] {
                let p = dir.path().join(name);
                std::fs::write(&p, &bytes).unwrap();
                let _ = read_vectors(&p);
            }
            let _ = read_ivecs(dir.path().join("g.ivecs"));
        }
    }
}
