//! A vocabulary of any size without a word list: word `k` is derived from its rank `k`.
//!
//! * The first ranks (about 400, [`CURATED_WORDS`]) are real words: English function words, contractions
//!   (`don't`, `l'homme`) and a few non-ASCII words (`café`, `Straße`, `русский`, `日本語`), so the head of
//!   the distribution looks like a real text.
//! * Higher ranks are spelled from `k` in bijective base-`B` numeration over a syllabary (onset + nucleus),
//!   plus a final consonant for Latin words: `tobean`, `shoukeng`. About 2% of them use another syllabary
//!   (accented Latin, Cyrillic, Greek, kana, Han).
//!
//! Distinct ranks give distinct words: a syllabary's words parse back uniquely (consonant and vowel runs
//! alternate, each run is exactly one onset, nucleus or coda), different syllabaries use disjoint letters,
//! and the rare generated word equal to a curated word gets a `q` appended (no generated word contains
//! `q` and no curated word ends with one).

use std::collections::HashSet;

/// The most frequent words, most frequent first, separated by white space. Lower case; sentence case is
/// applied when writing.
const CURATED_WORDS: &str = "\
    the of and to a in is it you that he was for on are with as i his they be at one have this from \
    or had by not but what some we can out other were all there when up use your how said an each \
    she which do their don't time if will way about many then them it's would like so these her café \
    long make thing see him two has can't look more day could go come did number sound no most \
    people my l'homme over know water than call first who may down side been now find naïve won't \
    any new work part take get place made i'm live where after back straße little only round man \
    year came show every good me give our under name didn't very through just form sentence great \
    think say help русский low line differ turn cause much mean before move right boy old too same \
    tell 日本語 does set three want air well also play small end put you're home read hand port large \
    spell add even land here résumé must big high such follow act why ask men change went light kind \
    off need house picture try us again animal point mother world near build self earth father über \
    head stand own page should country found answer school grow study still learn plant cover food \
    sun four between state keep eye never last aujourd'hui let thought city tree cross farm hard \
    start might story saw far sea draw left late run isn't while press close 中文 night real life few \
    north open seem together next white children begin got walk example ease paper group always \
    music façade those both mark often letter until mile river car feet care second book carry took \
    science eat room friend began idea ελληνικά fish mountain stop once base hear horse cut sure \
    watch color face wood main enough plain girl usual young ready above jalapeño ever red list \
    though feel talk bird soon body dog family direct pose leave song measure door product black \
    short o'clock numeral class wind question happen complete ship area half rock order fire south \
    problem piece told knew pass since top smörgåsbord whole king space heard best hour better true \
    during hundred five remember step early hold west ground interest reach";

/// Ranks whose words are kept in memory (the head carries most of the mass): 65,536 words.
const WORD_CACHE_RANKS: u64 = 1 << 16;

/// Out of this many generated ranks, [`FOREIGN_PER_MILLE`] use a non-Latin syllabary.
const PER_MILLE: u64 = 1000;
/// Generated ranks that use a non-Latin syllabary, per thousand.
const FOREIGN_PER_MILLE: u64 = 20;

/// Appended to a generated word that happens to equal a curated word.
const COLLISION_MARK: char = 'q';

/// Onset + nucleus syllables (an empty onset makes each nucleus a syllable by itself).
struct Syllabary {
    onsets: &'static [&'static str],
    nuclei: &'static [&'static str],
}

/// Plain Latin syllables. No `q` and no `y` (which could be read as a vowel).
const LATIN: Syllabary = Syllabary {
    onsets: &[
        "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
        "ch", "sh", "th", "br", "tr", "st", "pl", "gr",
    ],
    nuclei: &["a", "e", "i", "o", "u", "ai", "ea", "ou", "oo", "ie"],
};

/// Final consonants of Latin words; distinct, and `""` only once.
const LATIN_CODAS: &[&str] = &["", "n", "s", "r", "l", "t", "m", "ng", "x", "ck"];

/// The other syllabaries, chosen for about 2% of the generated ranks.
const FOREIGN: [Syllabary; 5] = [
    Syllabary {
        onsets: &["b", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v"],
        nuclei: &[
            "é", "è", "ê", "à", "â", "ï", "î", "ô", "ö", "ü", "û", "å", "ø", "æ", "ë",
        ],
    },
    Syllabary {
        onsets: &[
            "б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ф", "х", "ч",
            "ш",
        ],
        nuclei: &["а", "е", "и", "о", "у", "ы", "я", "ю", "ё", "э"],
    },
    Syllabary {
        onsets: &[
            "β", "γ", "δ", "θ", "κ", "λ", "μ", "ν", "ξ", "π", "ρ", "σ", "τ", "φ", "χ",
        ],
        nuclei: &["α", "ε", "η", "ι", "ο", "υ", "ω", "ου", "αι"],
    },
    Syllabary {
        onsets: &[""],
        nuclei: &[
            "か", "き", "く", "け", "こ", "さ", "し", "す", "せ", "そ", "た", "ち", "つ", "て",
            "と", "な", "に", "ぬ", "ね", "の", "は", "ひ", "ふ", "へ", "ほ", "ま", "み", "む",
            "め", "も", "や", "ゆ", "よ", "ら", "り", "る", "れ", "ろ", "わ", "を", "ん",
        ],
    },
    Syllabary {
        onsets: &[""],
        nuclei: &[
            "日", "本", "語", "中", "文", "人", "大", "学", "生", "国", "年", "時", "行", "出",
            "見", "分", "上", "下", "山", "川", "水", "火", "木", "金", "土", "月", "電", "話",
            "書", "読",
        ],
    },
];

/// The vocabulary `1..=size`; see the module docs for how words are derived.
pub(crate) struct Vocabulary {
    /// The words of [`CURATED_WORDS`], by rank - 1.
    curated: Vec<&'static str>,
    /// The same, to detect generated words that equal one of them.
    curated_set: HashSet<&'static str>,
    /// Words of the first [`WORD_CACHE_RANKS`] ranks, by rank - 1.
    cache: Vec<Box<str>>,
}

impl Vocabulary {
    /// A vocabulary of `size` distinct words (at least 1). Keeps the first 65,536 in memory.
    pub(crate) fn new(size: u64) -> Self {
        let size = size.max(1);
        let curated: Vec<&'static str> = CURATED_WORDS.split_whitespace().collect();
        let mut vocab = Vocabulary {
            curated_set: curated.iter().copied().collect(),
            curated,
            cache: Vec::new(),
        };
        let mut word = String::new();
        for rank in 1..=size.min(WORD_CACHE_RANKS) {
            word.clear();
            vocab.spell(rank, &mut word);
            vocab.cache.push(word.as_str().into());
        }
        vocab
    }

    /// True if word `rank` is a real word (the only ones with apostrophes).
    pub(crate) fn is_curated(&self, rank: u64) -> bool {
        rank <= self.curated.len() as u64
    }

    /// Appends word `rank` (`1..=size`) to `out`.
    pub(crate) fn push_word(&self, rank: u64, out: &mut String) {
        match self.cache.get((rank as usize).wrapping_sub(1)) {
            Some(word) => out.push_str(word),
            None => self.spell(rank, out),
        }
    }

    /// Derives word `rank` from scratch.
    fn spell(&self, rank: u64, out: &mut String) {
        if let Some(word) = self.curated.get((rank as usize).wrapping_sub(1)) {
            out.push_str(word);
            return;
        }
        let start = out.len();
        let hash = splitmix64(rank);
        if hash % PER_MILLE < FOREIGN_PER_MILLE {
            let syllabary = &FOREIGN[((hash >> 32) % FOREIGN.len() as u64) as usize];
            spell_syllables(rank, syllabary, out);
        } else {
            let codas = LATIN_CODAS.len() as u64;
            spell_syllables(rank / codas + 1, &LATIN, out);
            out.push_str(LATIN_CODAS[(rank % codas) as usize]);
        }
        if self.curated_set.contains(&out[start..]) {
            out.push(COLLISION_MARK);
        }
    }
}

/// Spells `n >= 1` in bijective base `B = onsets * nuclei`, one syllable per digit, least significant
/// first (so that words of similar rank start differently). Each digit goes through a fixed affine
/// permutation that depends on its position, so that neighbouring ranks do not look alike.
fn spell_syllables(n: u64, syllabary: &Syllabary, out: &mut String) {
    let nuclei = syllabary.nuclei.len() as u64;
    let base = syllabary.onsets.len() as u64 * nuclei;
    let multiplier = scramble_multiplier(base);
    let mut m = n;
    let mut position = 0;
    while m > 0 {
        m -= 1;
        let d = (m % base * multiplier + SCRAMBLE_OFFSET + position * SCRAMBLE_STEP) % base;
        out.push_str(syllabary.onsets[(d / nuclei) as usize]);
        out.push_str(syllabary.nuclei[(d % nuclei) as usize]);
        m /= base;
        position += 1;
    }
}

/// Offset of the digit permutation.
const SCRAMBLE_OFFSET: u64 = 7;
/// Added to the offset for each further digit.
const SCRAMBLE_STEP: u64 = 131;

/// A multiplier coprime with `base`, so that `d -> d * multiplier + 7 (mod base)` is a permutation.
fn scramble_multiplier(base: u64) -> u64 {
    [97, 101, 103, 107, 109, 113]
        .into_iter()
        .find(|&p| !base.is_multiple_of(p))
        .unwrap_or(1)
}

/// The SplitMix64 finaliser: a fixed, well-mixed hash of a `u64`.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curated_words_are_distinct_and_never_end_with_the_mark() {
        let vocab = Vocabulary::new(1);
        assert_eq!(vocab.curated_set.len(), vocab.curated.len());
        assert!(vocab.curated.len() > 300);
        for word in &vocab.curated {
            assert!(!word.ends_with(COLLISION_MARK), "{word}");
            assert_eq!(word.to_lowercase(), *word);
        }
    }

    #[test]
    fn generated_words_never_contain_the_mark() {
        for s in std::iter::once(&LATIN).chain(FOREIGN.iter()) {
            for part in s.onsets.iter().chain(s.nuclei) {
                assert!(!part.contains(COLLISION_MARK));
            }
        }
        assert!(LATIN_CODAS.iter().all(|c| !c.contains(COLLISION_MARK)));
    }

    #[test]
    fn first_300k_words_are_distinct() {
        let size = 300_000;
        let vocab = Vocabulary::new(size);
        let mut seen = HashSet::new();
        let mut non_ascii = 0;
        for rank in 1..=size {
            let mut w = String::new();
            vocab.push_word(rank, &mut w);
            assert!(!w.is_empty());
            assert!(!w.contains(char::is_whitespace), "{w:?}");
            non_ascii += usize::from(!w.is_ascii());
            assert!(seen.insert(w.clone()), "rank {rank}: duplicate word {w:?}");
        }
        // About 2% of generated ranks are non-ASCII.
        assert!((4_000..8_000).contains(&non_ascii), "{non_ascii}");
    }

    #[test]
    fn huge_vocabulary_words_are_derived() {
        let vocab = Vocabulary::new(50_000_000);
        let mut a = String::new();
        let mut b = String::new();
        vocab.push_word(49_999_999, &mut a);
        vocab.push_word(50_000_000, &mut b);
        assert!(!a.is_empty() && !b.is_empty() && a != b);
        let mut again = String::new();
        Vocabulary::new(60_000_000).push_word(49_999_999, &mut again);
        assert_eq!(a, again, "a word depends on its rank only");
    }
}
