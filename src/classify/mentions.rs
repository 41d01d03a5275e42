//! Which MP a message names: "Jane Smith MP", "on behalf of Jane Smith",
//! "Member of Parliament for <constituency>", one pattern per MP of the
//! directory, built when the directory is loaded.

use regex::Regex;

use super::directory::Directory;

/// Builds, for each MP of the directory, a pattern that finds the MP named in
/// the way letters and emails written for an MP name them: "Jane Smith MP",
/// "on behalf of Jane Smith", "Member of Parliament for <constituency>".
pub fn mp_mention_patterns(directory: &Directory) -> Vec<(usize, Regex)> {
    directory
        .mps()
        .iter()
        .enumerate()
        .filter_map(|(i, mp)| {
            let name = flexible(&mp.name);
            let place = flexible(&mp.constituency);
            let titles = r"(?:(?:the\s+)?(?:rt\.?\s+)?(?:hon\.?\s+)?(?:dr\.?\s+|mr\.?\s+|mrs\.?\s+|ms\.?\s+|miss\s+|sir\s+|dame\s+)?)";
            let mut alternatives = vec![
                format!(r"\b{name}\s+(?:mp|m\.p\.)\b"),
                format!(r"\bon\s+behalf\s+of\s+{titles}{name}\b"),
            ];
            if !mp.constituency.is_empty() {
                alternatives.push(format!(r"\b(?:member\s+of\s+parliament|mp)\s+for\s+{place}\b"));
            }
            let pattern = format!("(?i)(?:{})", alternatives.join("|"));
            Regex::new(&pattern).ok().map(|re| (i, re))
        })
        .collect()
}

/// A name as a pattern that tolerates any white space and accents typed or
/// not ("Siobhán" or "Siobhan").
fn flexible(name: &str) -> String {
    name.split_whitespace()
        .map(|word| {
            word.chars()
                .map(|c| match fold_accent(c) {
                    Some(base) if base != c => format!("[{c}{base}]"),
                    _ => regex::escape(&c.to_string()),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(r"\s+")
}

fn fold_accent(c: char) -> Option<char> {
    let base = match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        'ł' => 'l',
        'ś' => 's',
        'ź' | 'ż' => 'z',
        'ć' => 'c',
        'ń' => 'n',
        'ý' | 'ÿ' => 'y',
        _ => return None,
    };
    Some(base)
}

/// The directory index of the first MP named in `text`, if any.
pub fn mentioned_mp(text: &str, patterns: &[(usize, Regex)]) -> Option<usize> {
    patterns
        .iter()
        .filter_map(|(i, re)| re.find(text).map(|m| (m.start(), *i)))
        .min()
        .map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp_mentions_tolerate_accents_and_titles() {
        let d = Directory::parse("mps.csv", "name,constituency,email,role\nSiobhán Gallagher,Fenley and Ashcombe,s@parliament.uk,mp\n").unwrap();
        let p = mp_mention_patterns(&d);
        assert_eq!(
            mentioned_mp("writing on behalf of Siobhan Gallagher", &p),
            Some(0)
        );
        assert_eq!(mentioned_mp("Yours,\nSiobhán Gallagher MP", &p), Some(0));
        assert_eq!(
            mentioned_mp("Member of Parliament for Fenley and Ashcombe", &p),
            Some(0)
        );
        assert_eq!(
            mentioned_mp("I met Siobhan Gallagher at the shop", &p),
            None
        );
    }
}
