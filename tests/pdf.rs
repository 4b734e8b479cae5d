//! PDF documents: text per page, hits carry their page, and a bad PDF is
//! warned about and skipped without stopping the run. The PDFs are written
//! by the test itself: a minimal multi-page file with Helvetica text
//! objects and an exact cross-reference table.

mod common;

use std::fs;
use std::path::Path;

use common::*;

/// A valid PDF of one page per entry of `pages`, each line of a page a
/// text object of its own.
fn pdf(pages: &[&[&str]]) -> Vec<u8> {
    pdf_with(pages, false)
}

/// The same, optionally encrypted with the standard handler under a
/// password that is not empty (its O and U entries match no empty
/// password), so a reader without the password gets nothing.
fn pdf_with(pages: &[&[&str]], encrypted: bool) -> Vec<u8> {
    let n = pages.len();
    let mut objs: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n)
                .map(|i| format!("{} 0 R", 4 + 2 * i))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
    ];
    for (i, lines) in pages.iter().enumerate() {
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        let mut stream = String::new();
        for (j, line) in lines.iter().enumerate() {
            let esc = line
                .replace('\\', "\\\\")
                .replace('(', "\\(")
                .replace(')', "\\)");
            stream.push_str(&format!(
                "BT /F1 12 Tf 72 {} Td ({esc}) Tj ET\n",
                720 - 30 * j as i32
            ));
        }
        objs.push(format!(
            "<< /Length {} >>\nstream\n{stream}endstream",
            stream.len()
        ));
    }
    if encrypted {
        objs.push(format!(
            "<< /Filter /Standard /V 1 /R 2 /O <{}> /U <{}> /P -4 >>",
            "a5".repeat(32),
            "5a".repeat(32)
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R {}>>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1,
            if encrypted {
                format!(
                    "/Encrypt {} 0 R /ID [<{}> <{}>] ",
                    objs.len(),
                    "01".repeat(16),
                    "01".repeat(16)
                )
            } else {
                String::new()
            }
        )
        .as_bytes(),
    );
    out
}

fn write_docs(dir: &Path) {
    fs::create_dir_all(dir.join("docs")).unwrap();
    fs::write(
        dir.join("docs/manual.pdf"),
        pdf(&[
            &[
                "Installing the widget",
                "Unpack the archive and run the installer.",
            ],
            &[
                "Calibrating the gyroscope",
                "Hold the gyroscope level while the calibration runs.",
            ],
            &[
                "Troubleshooting",
                "Restart the device when the light blinks.",
            ],
        ]),
    )
    .unwrap();
    fs::write(
        dir.join("docs/notes.md"),
        "# Notes\n\nThe widget ships with a quick start guide.\n",
    )
    .unwrap();
}

#[test]
fn pdf_hits_carry_their_page() {
    let t = tempfile::tempdir().unwrap();
    write_docs(t.path());
    let r = run_in(t.path(), &["index", "docs", "--index", "x.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("from 2 documents"), "{}", r.stderr);
    let r = run_in(
        t.path(),
        &[
            "search",
            "gyroscope calibration",
            "--index",
            "x.vsx",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hits = json_lines(&r.stdout);
    assert_hit_fields(&hits);
    assert_eq!(hits[0]["doc"], "docs/manual.pdf");
    assert_eq!(hits[0]["page"], 2, "{}", r.stdout);
    assert!(hits[0]["text"].as_str().unwrap().contains("gyroscope"));
    // Only PDF hits have a page.
    for h in &hits {
        assert_eq!(
            h.get("page").is_some(),
            h["doc"] == "docs/manual.pdf",
            "{h}"
        );
    }
    let r = run_in(
        t.path(),
        &["search", "blinks", "--index", "x.vsx", "-k", "1"],
    );
    assert!(
        r.stdout.contains("docs/manual.pdf:") && r.stdout.contains("(page 3)"),
        "{}",
        r.stdout
    );
    // `similar` takes the line the hit printed.
    let line = hits[0]["line_start"].as_u64().unwrap();
    let r = run_in(
        t.path(),
        &[
            "similar",
            &format!("docs/manual.pdf:{line}"),
            "--index",
            "x.vsx",
            "--json",
        ],
    );
    assert!(r.code <= 1, "{}", r.stderr);
    // Context lines come from the extracted text, not the PDF's bytes.
    let r = run_in(
        t.path(),
        &["search", "blinks", "--index", "x.vsx", "-C", "1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("endobj"), "{}", r.stdout);
}

#[test]
fn bad_pdfs_are_skipped_and_counted() {
    let t = tempfile::tempdir().unwrap();
    write_docs(t.path());
    let mut cut = pdf(&[&["A page that is cut short."]]);
    cut.truncate(cut.len() / 3);
    fs::write(t.path().join("docs/cut.pdf"), cut).unwrap();
    fs::write(t.path().join("docs/noise.pdf"), vec![0x25u8; 5000]).unwrap();
    // Pages without text (a scan would be images only).
    fs::write(t.path().join("docs/blank.pdf"), pdf(&[&[], &[]])).unwrap();
    fs::write(
        t.path().join("docs/locked.pdf"),
        pdf_with(&[&["A secret gyroscope page."]], true),
    )
    .unwrap();
    let r = run_in(t.path(), &["index", "docs", "--index", "x.vsx"]);
    assert_no_panic(&r);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for name in ["cut.pdf", "noise.pdf", "blank.pdf", "locked.pdf"] {
        assert!(
            r.stderr
                .lines()
                .any(|l| l.contains(name) && l.contains("skipped")),
            "{name}: {}",
            r.stderr
        );
    }
    assert!(r.stderr.contains("skipped 4 file(s)"), "{}", r.stderr);
    assert!(r.stderr.contains("1 PDF without text"), "{}", r.stderr);
    assert!(r.stderr.contains("1 encrypted PDF"), "{}", r.stderr);
    let r = run_in(
        t.path(),
        &["search", "gyroscope", "--index", "x.vsx", "--json"],
    );
    assert_eq!(json_lines(&r.stdout)[0]["page"], 2);
}

#[test]
fn pdf_updates_reread_only_changed_files() {
    let t = tempfile::tempdir().unwrap();
    write_docs(t.path());
    let r = run_in(t.path(), &["index", "docs", "--index", "x.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(t.path(), &["index", "docs", "--index", "x.vsx", "--update"]);
    assert!(
        r.stderr
            .contains("0 added, 0 changed, 0 removed, 2 unchanged"),
        "{}",
        r.stderr
    );
    fs::write(
        t.path().join("docs/manual.pdf"),
        pdf(&[
            &["Intro"],
            &["Nothing here"],
            &["Polishing the telescope mirror"],
        ]),
    )
    .unwrap();
    let r = run_in(t.path(), &["index", "docs", "--index", "x.vsx", "--update"]);
    assert!(
        r.stderr
            .contains("0 added, 1 changed, 0 removed, 1 unchanged"),
        "{}",
        r.stderr
    );
    let r = run_in(
        t.path(),
        &["search", "telescope mirror", "--index", "x.vsx", "--json"],
    );
    let hits = json_lines(&r.stdout);
    assert_eq!(hits[0]["page"], 3, "{}", r.stdout);
    let r = run_in(t.path(), &["verify", "--index", "x.vsx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
