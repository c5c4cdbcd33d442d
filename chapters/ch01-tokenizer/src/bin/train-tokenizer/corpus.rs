//! A training corpus this project writes itself: no copied text, and the same bytes on every
//! machine for a given seed.
//!
//! A tokenizer learns from text, so we need text. Instead of downloading some, we *generate*
//! it: English-like sentences composed from small word lists written for this book, plus
//!
//! - **invented words** (syllables glued together: "brauntelk", "quoostiex"), drawn with
//!   Zipf-like frequencies like real words: a few are everywhere, most are rare. They give
//!   byte-pair encoding enough distinct, repeated pairs to learn a GPT-2 sized vocabulary;
//! - **multi-byte text**: accented letters, CJK, kana, Hangul, Cyrillic, Greek, emoji and
//!   symbols, so the tokenizer learns tokens made of, or cut inside, multi-byte characters;
//! - numbers, dialogue with quotes and contractions, lists, and a little Rust-like code, so
//!   digits, punctuation, newlines and indentation get tokens too.
//!
//! The randomness comes from a tiny seeded generator written in this project ([`shared::Rng`]),
//! not from a crate, so the corpus (and the tokenizer trained on it) cannot change under us with
//! a dependency update.

use shared::Rng;

/// Draws `i` in `0..n` with probability proportional to `1 / (i + 1)`: Zipf's law, the shape
/// of word frequencies in real language.
pub struct Zipf {
    /// `cumulative[i]` = 1/1 + 1/2 + ... + 1/(i+1).
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|i| {
                total += 1.0 / i as f64;
                total
            })
            .collect();
        Zipf { cumulative }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit() * self.cumulative[self.cumulative.len() - 1];
        // the first i whose cumulative weight reaches u
        self.cumulative.partition_point(|&c| c < u).min(self.cumulative.len() - 1)
    }
}

// --- word lists written for this corpus -------------------------------------------------

const DETERMINERS: &[&str] =
    &["the", "the", "the", "a", "every", "each", "one", "this", "that", "our", "my", "your", "no"];
const ADJECTIVES: &[&str] = &[
    "small", "large", "quiet", "fast", "slow", "old", "new", "bright", "careful", "hidden", "tiny",
    "heavy", "simple", "strange", "patient", "curious", "noisy", "empty", "full", "warm", "cold",
    "early", "late", "clever", "lazy", "green", "blue", "red", "golden", "wooden", "broken",
    "shiny", "ancient", "modern", "gentle", "busy", "lonely", "happy", "tired", "hungry", "open",
    "secret", "narrow", "wide", "deep", "random", "greedy", "cached", "hungry", "sleepy", "brave",
];
/// Nouns whose plural is regular (see [`add_s`]).
const NOUNS: &[&str] = &[
    "model", "token", "cache", "layer", "head", "key", "value", "query", "vector", "matrix",
    "prompt", "sentence", "word", "story", "river", "garden", "city", "window", "teacher",
    "student", "robot", "cat", "dog", "bird", "tree", "book", "letter", "machine", "engine",
    "library", "market", "kitchen", "mountain", "island", "lamp", "door", "clock", "song", "idea",
    "question", "answer", "number", "table", "program", "compiler", "function", "loop", "bug",
    "test", "bridge", "train", "boat", "map", "friend", "neighbor", "baker", "farmer", "pilot",
    "painter", "lantern", "bottle", "basket", "apple", "orange", "cloud", "storm", "field", "road",
    "tower", "castle", "village", "forest", "planet", "star", "candle", "mirror", "puzzle", "box",
    "bus", "fox", "dish", "branch", "memory", "battery", "factory", "diary", "berry", "penny",
];
/// Regular verbs, base form: the third person (`-s`) and the past (`-ed`) are built by rules.
const VERBS: &[&str] = &[
    "open", "watch", "follow", "count", "copy", "paint", "clean", "repair", "explain", "compare",
    "load", "save", "check", "visit", "store", "compute", "remember", "predict", "learn",
    "measure", "collect", "test", "print", "push", "fill", "move", "call", "carry", "want",
    "need", "like", "answer", "touch", "wash", "fix", "mix", "reach", "study", "play", "turn",
    "return", "start", "finish", "append", "encode", "decode", "sample", "train", "borrow",
    "follow", "ignore", "notice", "question", "cook", "deliver", "guard", "hunt", "climb",
];
const ADVERBIALS: &[&str] = &[
    "quickly", "slowly", "again and again", "without a copy", "in one pass", "at every step",
    "for free", "one token at a time", "before the deadline", "with care", "in the morning",
    "twice", "every night", "after lunch", "on Monday", "in the rain", "by the river", "at last",
    "in secret", "without looking", "as usual", "in the dark", "under the bridge", "all day",
];
const TIMES: &[&str] = &[
    "Yesterday", "Last week", "This morning", "Long ago", "On Tuesday", "After the storm",
    "Before dinner", "At midnight", "In 1987", "Later that day", "Once upon a time", "Suddenly",
];
const CONNECTIVES: &[&str] = &["and", "but", "so", "because", "while", "although", "until", "or"];
const REPLIES: &[&str] = &[
    "Not yet", "I think so", "It's too late", "We don't know", "They're here", "You'll see",
    "I'm sure", "It isn't", "We've tried", "She'd know", "Don't ask", "Maybe tomorrow",
    "Of course", "That's it", "Who knows", "I can't tell", "It won't", "Let's check",
];
const ACRONYMS: &[&str] = &["GPU", "CPU", "KV", "GPT", "BPE", "UTF-8", "RAM", "API", "HTTP", "JSON", "OK", "NaN"];
/// Common words with accents and other scripts (single words, not quotations).
const FOREIGN: &[&str] = &[
    "café", "naïve", "façade", "über", "señor", "crème brûlée", "déjà vu", "Zürich", "São Paulo",
    "Ångström", "smörgåsbord", "piñata", "jalapeño", "résumé", "fiancée", "Straße", "Łódź",
    "İstanbul", "Dvořák", "Ærø", "Москва", "спасибо", "привет", "こんにちは", "ありがとう", "東京",
    "你好", "谢谢", "北京", "안녕하세요", "서울", "γειά σου", "Αθήνα", "λόγος", "Ελλάδα", "مرحبا",
    "שלום", "नमस्ते", "ไทย",
];
const SYMBOLS: &[&str] = &[
    "→", "≈", "≤", "≥", "×", "÷", "°", "€", "£", "¥", "±", "√", "∞", "∑", "π", "λ", "µ", "…",
    "—", "–", "·", "•", "✓", "½", "²", "³", "‰", "§", "¶", "©", "®", "™", "←", "↑", "↓", "≠",
];
/// A few single emoji outside the generated ranges (with variation selectors and joiners).
const EMOJI_SEQUENCES: &[&str] =
    &["✨", "❤️", "☕", "⚡", "✅", "❌", "⭐", "☀️", "👍🏽", "👩‍💻", "🏳️‍🌈", "👨‍👩‍👧"];
/// Emoji ranges the corpus draws from. The U+1F900 block (🦀 and friends) is left out on
/// purpose: tests use those characters as ones the tokenizer has never seen.
const EMOJI_RANGES: &[(u32, u32)] = &[(0x1F600, 0x1F64F), (0x1F680, 0x1F6C5), (0x1F300, 0x1F3FA)];

const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
    "cl", "dr", "fl", "gr", "pl", "pr", "sh", "st", "th", "tr", "ch", "qu", "sk", "sp", "", "",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "y", "ai", "ea", "ou", "oo", "ie", "au"];
const CODAS: &[&str] = &["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "x", "ng", "rk"];
const KANA: &str = concat!(
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほ",
    "まみむめもやゆよらりるれろわをんがぎぐげござじずぜぞだでどばびぶべぼぱぴぷぺぽ",
);

// --- small grammar helpers --------------------------------------------------------------

/// English `-s`: plural of a noun or third person of a verb (`box` -> `boxes`, `copy` ->
/// `copies`, `cat` -> `cats`).
pub fn add_s(word: &str) -> String {
    let consonant_y = word.ends_with('y') && !word.ends_with("ay") && !word.ends_with("ey") && !word.ends_with("oy");
    if consonant_y {
        format!("{}ies", &word[..word.len() - 1])
    } else if ["s", "x", "z", "sh", "ch", "o"].iter().any(|end| word.ends_with(end)) {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// English `-ed` of a regular verb (`store` -> `stored`, `carry` -> `carried`).
pub fn add_ed(verb: &str) -> String {
    if verb.ends_with('e') {
        format!("{verb}d")
    } else if verb.ends_with('y') && !verb.ends_with("ay") && !verb.ends_with("ey") {
        format!("{}ied", &verb[..verb.len() - 1])
    } else {
        format!("{verb}ed")
    }
}

/// "a" becomes "an" before a vowel ("an old cat"); other determiners stay.
fn article<'a>(det: &'a str, next_word: &str) -> &'a str {
    if det == "a" && next_word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        det
    }
}

/// First letter upper case.
pub fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Spell a Latin-letter word in another alphabet, letter by letter.
fn transliterate(word: &str, table: &[(char, &str)]) -> String {
    word.chars()
        .map(|c| table.iter().find(|(from, _)| *from == c).map_or("", |(_, to)| to))
        .collect()
}

const CYRILLIC: &[(char, &str)] = &[
    ('a', "а"), ('b', "б"), ('c', "ц"), ('d', "д"), ('e', "е"), ('f', "ф"), ('g', "г"), ('h', "х"),
    ('i', "и"), ('j', "ж"), ('k', "к"), ('l', "л"), ('m', "м"), ('n', "н"), ('o', "о"), ('p', "п"),
    ('q', "к"), ('r', "р"), ('s', "с"), ('t', "т"), ('u', "у"), ('v', "в"), ('w', "в"), ('x', "кс"),
    ('y', "ы"), ('z', "з"),
];
const GREEK: &[(char, &str)] = &[
    ('a', "α"), ('b', "β"), ('c', "κ"), ('d', "δ"), ('e', "ε"), ('f', "φ"), ('g', "γ"), ('h', "χ"),
    ('i', "ι"), ('j', "ι"), ('k', "κ"), ('l', "λ"), ('m', "μ"), ('n', "ν"), ('o', "ο"), ('p', "π"),
    ('q', "κ"), ('r', "ρ"), ('s', "σ"), ('t', "τ"), ('u', "υ"), ('v', "β"), ('w', "ω"), ('x', "ξ"),
    ('y', "ψ"), ('z', "ζ"),
];

// --- the writer ---------------------------------------------------------------------------

/// Everything the sentences are drawn from: the random stream and the invented lexicon.
struct Writer {
    rng: Rng,
    /// Invented words, most frequent first.
    lexicon: Vec<String>,
    zipf: Zipf,
    /// Frequencies of the CJK characters U+4E00.. (a Zipf over the first few thousand).
    cjk: Zipf,
}

/// How many invented words the lexicon has.
const LEXICON_SIZE: usize = 60_000;
/// How many CJK characters the corpus draws from (U+4E00 up).
const CJK_CHARS: usize = 3_000;

impl Writer {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let lexicon = (0..LEXICON_SIZE).map(|_| pseudo_word(&mut rng)).collect();
        Writer { rng, lexicon, zipf: Zipf::new(LEXICON_SIZE), cjk: Zipf::new(CJK_CHARS) }
    }

    fn pick(&mut self, items: &[&'static str]) -> &'static str {
        items[self.rng.below(items.len())]
    }

    fn invented(&mut self) -> String {
        self.lexicon[self.zipf.sample(&mut self.rng)].clone()
    }

    fn name(&mut self) -> String {
        capitalize(&self.invented())
    }

    fn number(&mut self) -> String {
        match self.rng.below(8) {
            0 => format!("{}", self.rng.below(10)),
            1 | 2 => format!("{}", self.rng.below(100)),
            3 => format!("{}", self.rng.below(10_000)),
            4 => format!("{}.{}", self.rng.below(100), self.rng.below(100)),
            5 => format!("{},{:03}", 1 + self.rng.below(999), self.rng.below(1000)),
            6 => format!("{}", 1 << self.rng.below(17)),
            _ => format!("{}", 1900 + self.rng.below(200)),
        }
    }

    /// "the small cache", "a zyndwaux", "Brixa's lamp", "GPU".
    fn noun_phrase(&mut self) -> String {
        let noun = match self.rng.below(10) {
            0..=6 => self.pick(NOUNS).to_string(),
            7 | 8 => self.invented(),
            _ => return self.pick(ACRONYMS).to_string(),
        };
        let det = self.pick(DETERMINERS);
        match self.rng.below(6) {
            0 => format!("{}'s {noun}", self.name()),
            1 | 2 => {
                let adjective = self.pick(ADJECTIVES);
                format!("{} {adjective} {noun}", article(det, adjective))
            }
            _ => format!("{} {noun}", article(det, &noun)),
        }
    }

    /// "the old robot stores a key quickly".
    fn clause(&mut self) -> String {
        let subject = self.noun_phrase();
        let verb = add_s(self.pick(VERBS));
        let object = self.noun_phrase();
        if self.rng.chance(0.4) {
            format!("{subject} {verb} {object} {}", self.pick(ADVERBIALS))
        } else {
            format!("{subject} {verb} {object}")
        }
    }

    fn emoji(&mut self) -> String {
        if self.rng.chance(0.2) {
            return self.pick(EMOJI_SEQUENCES).to_string();
        }
        let (lo, hi) = *self.rng.pick(EMOJI_RANGES);
        let code = lo + self.rng.below((hi - lo + 1) as usize) as u32;
        char::from_u32(code).map(String::from).unwrap_or_default()
    }

    fn cjk_word(&mut self) -> String {
        let n = 1 + self.rng.below(4);
        (0..n).filter_map(|_| char::from_u32(0x4E00 + self.cjk.sample(&mut self.rng) as u32)).collect()
    }

    fn kana_word(&mut self) -> String {
        let kana: Vec<char> = KANA.chars().collect();
        let katakana = self.rng.chance(0.4); // same syllables, 0x60 code points further
        (0..2 + self.rng.below(4))
            .map(|_| {
                let c = *self.rng.pick(&kana);
                if katakana { char::from_u32(c as u32 + 0x60).unwrap_or(c) } else { c }
            })
            .collect()
    }

    fn hangul_word(&mut self) -> String {
        // a Hangul syllable is computed: 0xAC00 + (lead * 21 + vowel) * 28 + tail
        (0..1 + self.rng.below(3))
            .filter_map(|_| {
                let (lead, vowel) = (self.rng.below(19) as u32, self.rng.below(21) as u32);
                let tail = *self.rng.pick(&[0u32, 0, 4, 8, 16, 21]);
                char::from_u32(0xAC00 + (lead * 21 + vowel) * 28 + tail)
            })
            .collect()
    }

    /// An invented word with accents sprinkled on: "brauntelk" -> "bräuntélk".
    fn accented(&mut self) -> String {
        let word = self.invented();
        word.chars()
            .map(|c| {
                let options: &[char] = match c {
                    'a' => &['à', 'á', 'â', 'ä', 'å'],
                    'e' => &['é', 'è', 'ê', 'ë'],
                    'i' => &['í', 'ï', 'î'],
                    'o' => &['ó', 'ô', 'ö', 'ø'],
                    'u' => &['ú', 'ü', 'û'],
                    'n' => &['ñ'],
                    'c' => &['ç', 'č'],
                    's' => &['ś', 'š'],
                    'z' => &['ž'],
                    _ => &[],
                };
                if !options.is_empty() && self.rng.chance(0.3) { *self.rng.pick(options) } else { c }
            })
            .collect()
    }

    /// A word in some other script or with accents.
    fn foreign_word(&mut self) -> String {
        match self.rng.below(9) {
            0 => self.pick(FOREIGN).to_string(),
            1 | 2 => self.accented(),
            3 => self.cjk_word(),
            4 => self.kana_word(),
            5 => self.hangul_word(),
            6 => {
                let w = self.invented();
                transliterate(&w, CYRILLIC)
            }
            7 => {
                let w = self.invented();
                transliterate(&w, GREEK)
            }
            _ => format!("{}{}", self.cjk_word(), self.kana_word()),
        }
    }

    // ANCHOR: sentence
    /// One sentence, of one of several shapes (the numbers are percentages).
    fn sentence(&mut self) -> String {
        let s = match self.rng.below(100) {
            0..=27 => format!("{}.", self.clause()), // the old robot stores a key quickly.
            28..=35 => self.past(),
            36..=43 => self.question(),
            44..=51 => format!("{}, {} {}.", self.clause(), self.pick(CONNECTIVES), self.clause()),
            52..=57 => self.dialogue(),
            58..=65 => self.with_numbers(),
            66..=81 => self.with_invented_words(),
            82..=95 => self.with_other_scripts(),
            _ => self.aside(),
        };
        capitalize(&s)
    }
    // ANCHOR_END: sentence

    /// "Yesterday, a tired cat copied my lamp."
    fn past(&mut self) -> String {
        let time = self.pick(TIMES);
        let subject = self.noun_phrase();
        let object = self.noun_phrase();
        format!("{time}, {subject} {} {object}.", add_ed(self.pick(VERBS)))
    }

    /// "Does the model load a key?", "Why did Brixa copy the map?"
    fn question(&mut self) -> String {
        match self.rng.below(3) {
            0 => {
                let subject = self.noun_phrase();
                format!("Does {subject} {} {}?", self.pick(VERBS), self.noun_phrase())
            }
            1 => {
                let name = self.name();
                format!("Why did {name} {} {}?", self.pick(VERBS), self.noun_phrase())
            }
            _ => {
                let things = add_s(self.pick(NOUNS));
                let subject = self.noun_phrase();
                format!("How many {things} does {subject} {}?", self.pick(VERBS))
            }
        }
    }

    /// Quotes and contractions: `"Does ...?" asked Brixa. "It's too late," said Plou.`
    fn dialogue(&mut self) -> String {
        let subject = self.noun_phrase();
        let verb = self.pick(VERBS);
        let object = self.noun_phrase();
        let asker = self.name();
        let reply = self.pick(REPLIES);
        let answerer = self.name();
        format!("\"Does {subject} {verb} {object}?\" asked {asker}. \"{reply},\" said {answerer}.")
    }

    /// Digits, prices, dates, times, arithmetic.
    fn with_numbers(&mut self) -> String {
        match self.rng.below(4) {
            0 => {
                let step = self.number();
                let who = self.invented();
                let verb = add_s(self.pick(VERBS));
                let count = self.number();
                format!("In step {step} the {who} {verb} {count} tokens ({}%).", self.rng.below(101))
            }
            1 => {
                let count = self.number();
                let things = add_s(self.pick(NOUNS));
                let (dollars, cents) = (self.rng.below(500), self.rng.below(100));
                let rate = self.number();
                format!("{count} {things} cost ${dollars}.{cents:02}, or {rate} per {}.", self.pick(NOUNS))
            }
            2 => {
                let (year, month, day) = (1950 + self.rng.below(80), 1 + self.rng.below(12), 1 + self.rng.below(28));
                let (hour, minute) = (self.rng.below(24), self.rng.below(60));
                format!("On {year}-{month:02}-{day:02} at {hour:02}:{minute:02}, {}.", self.clause())
            }
            _ => {
                let (rows, cols) = (1 + self.rng.below(4096), 1 + self.rng.below(1024));
                format!("The {} holds {rows} x {cols} = {} values.", self.pick(NOUNS), rows * cols)
            }
        }
    }

    /// Sentences full of invented words: the bulk of what BPE merges.
    fn with_invented_words(&mut self) -> String {
        match self.rng.below(4) {
            0 => {
                let name = self.name();
                let verb = add_s(self.pick(VERBS));
                format!("{name} {verb} the {} of {}.", self.invented(), self.name())
            }
            1 => {
                let words: Vec<String> = (0..3 + self.rng.below(8)).map(|_| self.invented()).collect();
                format!("{}{}", words.join(" "), if self.rng.chance(0.2) { "?" } else { "." })
            }
            2 => {
                let (a, b) = (self.name(), self.name());
                let verb = self.pick(VERBS);
                let object = self.noun_phrase();
                format!("{a} and {b} {verb} {object} near {}.", self.name())
            }
            _ => {
                let subject = self.invented();
                let verb = add_s(self.pick(VERBS));
                let object = self.invented();
                format!("The {subject} {verb} {object} {}.", self.pick(ADVERBIALS))
            }
        }
    }

    /// Accents, CJK, kana, Hangul, Cyrillic, Greek, emoji and symbols.
    fn with_other_scripts(&mut self) -> String {
        match self.rng.below(6) {
            0 => {
                let name = self.name();
                let word = self.foreign_word();
                let noun = self.pick(NOUNS);
                format!("{name} wrote “{word}” on the {noun} {}", self.emoji())
            }
            1 => {
                let place = self.foreign_word();
                let noun = self.pick(NOUNS);
                format!("In {place} the {noun} is called «{}».", self.foreign_word())
            }
            2 => {
                let (emoji, clause, symbol) = (self.emoji(), self.clause(), self.pick(SYMBOLS));
                let word = self.foreign_word();
                format!("{emoji} {clause} {symbol} {word} {}", self.emoji())
            }
            3 => format!("{}、{}。{}", self.cjk_word(), self.kana_word(), self.cjk_word()),
            4 => {
                let (a, b, symbol) = (self.foreign_word(), self.foreign_word(), self.pick(SYMBOLS));
                let (x, y) = (self.number(), self.number());
                format!("{a} {b} {symbol} {x} ≈ {y}.")
            }
            _ => {
                let name = self.name();
                let (a, b) = (self.foreign_word(), self.foreign_word());
                format!("{name} said: “{a}, {b}!” {}", self.emoji())
            }
        }
    }

    /// "(the old map → a cat; see § 12)"
    fn aside(&mut self) -> String {
        let (a, symbol, b) = (self.noun_phrase(), self.pick(SYMBOLS), self.noun_phrase());
        format!("({a} {symbol} {b}; see § {})", self.number())
    }

    fn paragraph(&mut self) -> String {
        if self.rng.chance(0.08) {
            // a short list
            let items: Vec<String> = (0..2 + self.rng.below(4))
                .map(|_| format!("- {}: {} {}", self.noun_phrase(), self.number(), add_s(self.pick(NOUNS))))
                .collect();
            return items.join("\n");
        }
        let sentences: Vec<String> = (0..1 + self.rng.below(6)).map(|_| self.sentence()).collect();
        sentences.join(" ")
    }

    /// A few lines of Rust-like code: indentation, brackets, operators, snake_case names.
    fn code(&mut self) -> String {
        let name = |w: &mut Writer| format!("{}_{}", w.pick(NOUNS), w.invented());
        let (f, x, acc) = (name(self), name(self), name(self));
        let mut lines = vec![format!("fn {f}({x}: &[f32], n: usize) -> f32 {{")];
        lines.push(format!("    let mut {acc} = 0.0;"));
        for _ in 0..1 + self.rng.below(3) {
            let line = match self.rng.below(4) {
                0 => {
                    let (units, decimals) = (self.rng.below(10), self.rng.below(1000));
                    format!("    for i in 0..n {{\n        {acc} += {x}[i] * {units}.{decimals};\n    }}")
                }
                1 => format!("    if {acc} > {}.0 {{\n        return {acc};\n    }}", self.rng.below(100)),
                2 => format!("    // {}", self.clause()),
                _ => format!("    {acc} = {acc}.max({x}[{}]);", self.rng.below(64)),
            };
            lines.push(line);
        }
        lines.push(format!("    {acc}\n}}"));
        lines.join("\n")
    }

    fn document(&mut self) -> String {
        if self.rng.chance(0.06) {
            return self.code();
        }
        let paragraphs: Vec<String> = (0..1 + self.rng.below(3)).map(|_| self.paragraph()).collect();
        paragraphs.join(if self.rng.chance(0.7) { "\n\n" } else { "\n" })
    }
}

/// One invented word of 1-4 syllables ("plou", "brauntelk", "quoostiexdra").
fn pseudo_word(rng: &mut Rng) -> String {
    let mut word = String::new();
    for _ in 0..1 + rng.below(4) {
        for part in [ONSETS, VOWELS, CODAS] {
            word.push_str(rng.pick::<&str>(part));
        }
    }
    word
}

// ANCHOR: corpus
/// `n_documents` generated documents (paragraphs of sentences, lists, a little code); the same
/// for the same seed, on every machine.
pub fn generate(n_documents: usize, seed: u64) -> Vec<String> {
    let mut writer = Writer::new(seed);
    (0..n_documents).map(|_| writer.document()).collect()
}
// ANCHOR_END: corpus

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn deterministic_and_seed_dependent() {
        let a = generate(300, 1);
        assert_eq!(a, generate(300, 1));
        assert_ne!(a, generate(300, 2));
        let distinct: HashSet<&String> = a.iter().collect();
        assert!(distinct.len() > 290, "documents repeat: {}", distinct.len());
    }

    #[test]
    fn has_multi_byte_text_newlines_and_digits() {
        let text = generate(500, 7).join("\n");
        let widths: HashSet<usize> = text.chars().map(char::len_utf8).collect();
        assert_eq!(widths, HashSet::from([1, 2, 3, 4]), "1- to 4-byte characters");
        assert!(text.contains("\n\n") && text.contains("    ") && text.chars().any(|c| c.is_ascii_digit()));
        // the characters tests treat as never seen
        assert!(!text.contains('🦀') && !text.contains('龘'));
    }

    #[test]
    fn rng_and_zipf_behave() {
        let mut rng = Rng::new(42);
        let zipf = Zipf::new(1000);
        let mut counts = [0usize; 1000];
        for _ in 0..100_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        // P(0) = 1 / H(1000) = 1 / 7.485 = 13.4 %, P(1) half of it, P(9) a tenth of it
        assert!((12_500..14_300).contains(&counts[0]), "{}", counts[0]);
        assert!((6_000..7_400).contains(&counts[1]), "{}", counts[1]);
        assert!((1_100..1_600).contains(&counts[9]), "{}", counts[9]);
        assert!(counts[999] < 100);
        let u: Vec<usize> = (0..10_000).map(|_| rng.below(10)).collect();
        for d in 0..10 {
            let n = u.iter().filter(|&&x| x == d).count();
            assert!((850..1150).contains(&n), "digit {d}: {n}");
        }
    }

    #[test]
    fn english_endings() {
        assert_eq!(add_s("box"), "boxes");
        assert_eq!(add_s("copy"), "copies");
        assert_eq!(add_s("key"), "keys");
        assert_eq!(add_s("watch"), "watches");
        assert_eq!(add_s("cat"), "cats");
        assert_eq!(add_ed("store"), "stored");
        assert_eq!(add_ed("carry"), "carried");
        assert_eq!(add_ed("play"), "played");
        assert_eq!(add_ed("open"), "opened");
        assert_eq!(capitalize("élan"), "Élan");
        assert_eq!(transliterate("kot", CYRILLIC), "кот");
    }
}
