//! "Did you mean ...?" suggestions for misspelled names.

/// The candidate closest to `input` by edit distance, if it is close enough to be a
/// plausible typo: at most a third of the longer word's length in edits, between 1 and 3.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input_lower = input.to_lowercase();
    let input_length = input.chars().count();
    candidates
        .into_iter()
        // The distance is at least the difference in length, and never more than 3 is
        // taken: skip what cannot be close before paying for the distance.
        .filter(|c| input_length.abs_diff(c.chars().count()) <= 3)
        .map(|c| (edit_distance(&input_lower, &c.to_lowercase()), c))
        .filter(|(d, c)| {
            let longest = input.chars().count().max(c.chars().count());
            *d <= (longest / 3).clamp(1, 3)
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, where swapping two adjacent characters costs one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    fn check(input: &str, candidates: &[&str], expected: Option<&str>) {
        assert_eq!(
            closest(input, candidates.iter().copied()),
            expected,
            "input {input}"
        );
    }

    #[test]
    fn suggestions() {
        check("tierr", &["tier", "rto", "owner"], Some("tier"));
        check(
            "dependson",
            &["depends_on", "description"],
            Some("depends_on"),
        );
        check("ower", &["owner", "name"], Some("owner"));
        check("rot", &["rto", "rpo"], Some("rto"));
        check("zzzzzz", &["tier", "rto"], None);
        check("TIER", &["tier"], Some("tier"));
        check("paymnets", &["payments", "checkout"], Some("payments"));
    }
}
