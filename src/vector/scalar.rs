//! Portable kernels: the reference every SIMD kernel is tested against, and
//! the fallback on machines without AVX2 (or when `VECSEARCH_KERNEL=scalar`).

use super::{Kernels, PackedRows, QueryBounds, PANEL};

pub const KERNELS: Kernels = Kernels {
    name: "scalar",
    dot,
    dot_block,
    dot_tile,
    dot_tile_packed,
    dot_tile_bounded,
    bits_scores: super::bits::scores,
    hamming: super::bits::hamming,
    dot_u8: super::sq8::dot_u8,
    rotate: super::bits::rotate,
    sign_bits: super::bits::encode,
};

/// Four independent accumulators let the compiler overlap the adds even
/// without SIMD; the result differs from a naive sum only in rounding.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: length mismatch");
    let mut acc = [0.0f32; 4];
    let chunks = a.len() / 4;
    for i in 0..chunks {
        for l in 0..4 {
            acc[l] += a[4 * i + l] * b[4 * i + l];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

pub fn dot_block(query: &[f32], block: &[f32], out: &mut [f32]) {
    let dim = query.len();
    assert_eq!(
        block.len(),
        dim * out.len(),
        "dot_block: block size mismatch"
    );
    if dim == 0 {
        out.fill(0.0);
        return;
    }
    for (row, o) in block.chunks_exact(dim).zip(out.iter_mut()) {
        *o = dot(query, row);
    }
}

pub fn dot_tile(queries: &[f32], vectors: &[f32], dim: usize, out: &mut [f32]) {
    let Some((_, nv)) = super::tile_shape(queries, vectors, dim, out) else {
        return;
    };
    if nv == 0 {
        return;
    }
    for (q, out_row) in queries.chunks_exact(dim).zip(out.chunks_exact_mut(nv)) {
        dot_block(q, vectors, out_row);
    }
}

/// One query at a time against one panel at a time: a `PANEL`-wide
/// accumulator per panel, which the compiler keeps in vector registers.
pub fn dot_tile_packed(queries: &[f32], rows: &PackedRows, out: &mut [f32]) {
    let (nq, nv, dim) = super::packed_shape(queries, rows, out);
    if nq == 0 || nv == 0 {
        return;
    }
    for (q, out_row) in queries.chunks_exact(dim).zip(out.chunks_exact_mut(nv)) {
        for (p, scores) in out_row.chunks_mut(PANEL).enumerate() {
            let mut acc = [0.0f32; PANEL];
            add_lines(&mut acc, q, rows.panel(p));
            scores.copy_from_slice(&acc[..scores.len()]);
        }
    }
}

/// Adds `q[d] * line_d` to `acc` for every packed line, in order.
fn add_lines(acc: &mut [f32; PANEL], q: &[f32], lines: &[f32]) {
    for (&x, line) in q.iter().zip(lines.chunks_exact(PANEL)) {
        for (a, &y) in acc.iter_mut().zip(line) {
            *a += x * y;
        }
    }
}

/// `dot_tile_packed`'s sums, one query against one panel at a time, each
/// tested at the rows' checkpoints (the block is one query × one panel).
pub fn dot_tile_bounded(queries: &[f32], rows: &PackedRows, bounds: &QueryBounds, out: &mut [f32]) {
    let (nq, nv, dim) = super::bounded_shape(queries, rows, bounds, out);
    if nq == 0 || nv == 0 {
        return;
    }
    let checks = rows.checks();
    let nj = checks.len();
    for (i, (q, out_row)) in queries
        .chunks_exact(dim)
        .zip(out.chunks_exact_mut(nv))
        .enumerate()
    {
        let rq = &bounds.residual[i * nj..(i + 1) * nj];
        let (limit, margin) = (bounds.limit[i], bounds.margin[i]);
        for (p, scores) in out_row.chunks_mut(PANEL).enumerate() {
            let panel = rows.panel(p);
            let res = &rows.residuals()[p * nj * PANEL..(p + 1) * nj * PANEL];
            let mut acc = [0.0f32; PANEL];
            let mut d = 0;
            let mut live = true;
            for (j, &c) in checks.iter().enumerate() {
                add_lines(&mut acc, &q[d..c], &panel[d * PANEL..c * PANEL]);
                d = c;
                let rx = &res[j * PANEL..(j + 1) * PANEL];
                if acc
                    .iter()
                    .zip(rx)
                    .all(|(&a, &x)| (a + rq[j] * x) + margin < limit)
                {
                    live = false;
                    break;
                }
            }
            if live {
                add_lines(&mut acc, &q[d..], &panel[d * PANEL..]);
                scores.copy_from_slice(&acc[..scores.len()]);
            } else {
                scores.fill(f32::NEG_INFINITY);
            }
        }
    }
}
