//! Which bytes of a hit's text to light up: the spans of terms the query
//! shares with it, as the index's analyzer sees them. Presentation, kept
//! out of the search path: only a printer asks for it.

use super::Index;
use crate::text;

impl Index {
    /// Byte ranges of `text` whose terms occur in `query`, merged.
    pub fn highlight(&self, query: &str, text: &str) -> Vec<(usize, usize)> {
        let analyzer = self.weighting.embedder.analyzer();
        let terms: std::collections::HashSet<String> = analyzer
            .analyze(query)
            .into_iter()
            .map(|t| t.term)
            .collect();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        analyzer.for_each_token(text, |term, s, e| {
            // Unigrams of a CJK query only light up inside a matched bigram.
            let cjk_single = term.chars().count() == 1
                && term
                    .chars()
                    .next()
                    .is_some_and(|c| text::script_of(c).is_cjk());
            if terms.contains(term) && !cjk_single {
                ranges.push((s, e));
            }
        });
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}
