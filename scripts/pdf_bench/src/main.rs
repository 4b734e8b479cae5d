//! Measures PDF text extraction candidates on real files: lopdf's own
//! `extract_text` per page, and pdf-extract's per-page extraction.
//! `cargo run --release -- lopdf|pdfextract OUT_DIR FILE...` prints one
//! line per file (bytes, pages, characters, alphanumerics, seconds) and a
//! total; each file's text goes to OUT_DIR for spot checks.
use std::time::Instant;

fn lopdf_pages(b: &[u8]) -> Result<Vec<String>, String> {
    let doc = lopdf::Document::load_mem(b).map_err(|e| e.to_string())?;
    if doc.is_encrypted() {
        return Err("encrypted".into());
    }
    let pages = doc.get_pages();
    let mut out = Vec::new();
    for (&n, _) in pages.iter() {
        out.push(doc.extract_text(&[n]).unwrap_or_default());
    }
    Ok(out)
}

fn pdfextract_pages(b: &[u8]) -> Result<Vec<String>, String> {
    pdf_extract::extract_text_from_mem_by_pages(b).map_err(|e| e.to_string())
}

fn main() {
    let which = std::env::args().nth(1).expect("lopdf or pdfextract");
    let out_dir = std::env::args().nth(2).expect("an output folder");
    let files: Vec<String> = std::env::args().skip(3).collect();
    let (mut bytes, mut secs, mut fails, mut chars, mut pages) = (0usize, 0f64, 0, 0usize, 0usize);
    std::fs::create_dir_all(&out_dir).unwrap();
    for f in &files {
        let b = std::fs::read(f).unwrap();
        let t = Instant::now();
        let r = std::panic::catch_unwind(|| match which.as_str() {
            "lopdf" => lopdf_pages(&b),
            _ => pdfextract_pages(&b),
        });
        let dt = t.elapsed().as_secs_f64();
        bytes += b.len();
        secs += dt;
        let name = std::path::Path::new(f)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        match r {
            Ok(Ok(p)) => {
                let c: usize = p.iter().map(|s| s.chars().count()).sum();
                let alnum: usize = p
                    .iter()
                    .map(|s| s.chars().filter(|c| c.is_alphanumeric()).count())
                    .sum();
                println!(
                    "{which}\t{name}\t{}\t{}\t{c}\t{alnum}\t{dt:.3}",
                    b.len(),
                    p.len()
                );
                chars += c;
                pages += p.len();
                std::fs::write(format!("{out_dir}/{name}.txt"), p.join("\n\x0c\n")).unwrap();
            }
            Ok(Err(e)) => {
                fails += 1;
                println!("{which}\t{name}\tERROR {e}\t{dt:.3}");
            }
            Err(_) => {
                fails += 1;
                println!("{which}\t{name}\tPANIC\t{dt:.3}");
            }
        }
    }
    println!("TOTAL {which}: {} files, {bytes} bytes, {pages} pages, {chars} chars, {fails} failures, {secs:.2} s, {:.2} MB/s",
        files.len(), bytes as f64 / 1e6 / secs.max(1e-9), );
}
