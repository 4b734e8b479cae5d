//! Han variant folding: traditional and Japanese shinjitai characters map to
//! their simplified form, so 資料庫, 资料库 and a Japanese 図 meet on one term.
//! The table is generated from OpenCC by scripts/gen_han_variants.py; it is
//! compiled in, so every build folds alike.

use std::sync::OnceLock;

use super::fasthash::FastMap;

const HAN_VARIANTS_TSV: &str = include_str!("../../data/han_variants.tsv");

/// A fast-hashed map: every CJK character of every passage is folded.
fn table() -> &'static FastMap<char, char> {
    static TABLE: OnceLock<FastMap<char, char>> = OnceLock::new();
    TABLE.get_or_init(|| {
        HAN_VARIANTS_TSV
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t');
                let v = single_char(f.next()?)?;
                let s = single_char(f.next()?)?;
                Some((v, s))
            })
            .collect()
    })
}

fn single_char(s: &str) -> Option<char> {
    let mut it = s.chars();
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

/// The simplified form of a Han character, or the character itself.
pub fn fold_han(c: char) -> char {
    if (c as u32) < 0x3400 {
        return c;
    }
    table().get(&c).copied().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_and_shinjitai_fold_to_simplified() {
        let fold = |s: &str| s.chars().map(fold_han).collect::<String>();
        assert_eq!(fold("資料庫"), "资料库");
        assert_eq!(fold("軟體"), "软体");
        assert_eq!(fold("図"), "图");
        assert_eq!(fold("变量"), "变量");
        assert_eq!(fold("ベクトル"), "ベクトル");
    }
}
