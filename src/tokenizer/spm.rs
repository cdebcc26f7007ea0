//! SentencePiece-style BPE (`tokenizer.ggml.model = llama`), as the reference runtime runs it.
//!
//! There is no merge list: the pair of adjacent pieces whose concatenation is the vocabulary
//! entry with the highest score is merged first (ties: leftmost), until no adjacent pair forms a
//! known piece. A character that is not in the vocabulary falls back to its UTF-8 bytes
//! (`<0xNN>` tokens). Before that, user-defined tokens (runs of spaces, newlines and tabs, HTML
//! tags) are cut out of the text as whole tokens, longest first, so a double space is one token
//! and never "▁▁".

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use anyhow::{anyhow, Result};

use crate::gguf::GgufFile;

/// GGUF token types (llama.cpp's `llama_token_type`).
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

pub struct SpmTokenizer {
    vocab: HashMap<String, u32>,
    scores: Vec<f32>,
    byte_tokens: [u32; 256],
    /// User-defined tokens, longest first.
    user_defined: Vec<(String, u32)>,
    add_space_prefix: bool,
}

impl SpmTokenizer {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let tokens = gguf.string_array("tokenizer.ggml.tokens")?;
        let scores = gguf.f32_array("tokenizer.ggml.scores")?;
        let types = gguf.i32_array("tokenizer.ggml.token_type")?;
        if scores.len() != tokens.len() || types.len() != tokens.len() {
            return Err(anyhow!(
                "{}: tokenizer arrays disagree in length (tokens {}, scores {}, types {})",
                gguf.path().display(),
                tokens.len(),
                scores.len(),
                types.len()
            ));
        }
        let mut byte_tokens = [u32::MAX; 256];
        let mut user_defined = Vec::new();
        let mut vocab = HashMap::with_capacity(tokens.len());
        for (id, text) in tokens.into_iter().enumerate() {
            let id = id as u32;
            if let Some(byte) = parse_byte_token(&text) {
                byte_tokens[byte as usize] = id;
            }
            if types[id as usize] == TOKEN_TYPE_USER_DEFINED {
                user_defined.push((text.clone(), id));
            }
            vocab.entry(text).or_insert(id);
        }
        if let Some(missing) = byte_tokens.iter().position(|&t| t == u32::MAX) {
            return Err(anyhow!(
                "{}: byte-fallback token <0x{missing:02X}> is missing from the vocabulary",
                gguf.path().display()
            ));
        }
        user_defined.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let add_space_prefix = gguf.bool_or("tokenizer.ggml.add_space_prefix", true)?;
        Ok(Self {
            vocab,
            scores,
            byte_tokens,
            user_defined,
            add_space_prefix,
        })
    }

    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::with_capacity(text.len() / 3);
        let mut first_raw = true;
        for fragment in self.partition(text) {
            match fragment {
                Fragment::Token(id) => ids.push(id),
                Fragment::Raw(raw) => {
                    let mut escaped = String::with_capacity(raw.len() + 3);
                    if self.add_space_prefix && first_raw {
                        escaped.push('▁');
                    }
                    first_raw = false;
                    escaped.push_str(&raw.replace(' ', "▁"));
                    self.encode_piece(&escaped, &mut ids);
                }
            }
        }
        ids
    }

    /// Splits `text` at every occurrence of a user-defined token, longest tokens first.
    fn partition<'a>(&self, text: &'a str) -> Vec<Fragment<'a>> {
        let mut fragments = vec![Fragment::Raw(text)];
        for (token, id) in &self.user_defined {
            if !text.contains(token.as_str()) {
                continue;
            }
            let mut next = Vec::with_capacity(fragments.len());
            for fragment in fragments {
                let Fragment::Raw(raw) = fragment else {
                    next.push(fragment);
                    continue;
                };
                let mut rest = raw;
                while let Some(at) = rest.find(token.as_str()) {
                    if at > 0 {
                        next.push(Fragment::Raw(&rest[..at]));
                    }
                    next.push(Fragment::Token(*id));
                    rest = &rest[at + token.len()..];
                }
                if !rest.is_empty() {
                    next.push(Fragment::Raw(rest));
                }
            }
            fragments = next;
        }
        fragments
    }

    fn encode_piece(&self, text: &str, out: &mut Vec<u32>) {
        // Symbols are byte ranges of `text` linked as a list; a merged-away symbol has len 0.
        let mut symbols: Vec<Symbol> = Vec::new();
        for (start, ch) in text.char_indices() {
            let i = symbols.len();
            symbols.push(Symbol {
                start,
                len: ch.len_utf8(),
                prev: i.checked_sub(1),
                next: Some(i + 1),
            });
        }
        if let Some(last) = symbols.last_mut() {
            last.next = None;
        }
        let mut queue = BinaryHeap::new();
        for left in 1..symbols.len() {
            self.push_bigram(text, &symbols, left - 1, left, &mut queue);
        }
        while let Some(bigram) = queue.pop() {
            let (l, r) = (bigram.left, bigram.right);
            if symbols[l].len == 0
                || symbols[r].len == 0
                || symbols[l].len + symbols[r].len != bigram.len
            {
                continue; // stale: one side was merged into something else since
            }
            symbols[l].len += symbols[r].len;
            symbols[r].len = 0;
            symbols[l].next = symbols[r].next;
            if let Some(n) = symbols[r].next {
                symbols[n].prev = Some(l);
            }
            if let Some(p) = symbols[l].prev {
                self.push_bigram(text, &symbols, p, l, &mut queue);
            }
            if let Some(n) = symbols[l].next {
                self.push_bigram(text, &symbols, l, n, &mut queue);
            }
        }
        let mut at = if symbols.is_empty() { None } else { Some(0) };
        while let Some(i) = at {
            let s = &symbols[i];
            let piece = &text[s.start..s.start + s.len];
            match self.vocab.get(piece) {
                Some(&id) => out.push(id),
                None => out.extend(piece.bytes().map(|b| self.byte_tokens[b as usize])),
            }
            at = s.next;
        }
    }

    fn push_bigram(
        &self,
        text: &str,
        symbols: &[Symbol],
        left: usize,
        right: usize,
        queue: &mut BinaryHeap<Bigram>,
    ) {
        let len = symbols[left].len + symbols[right].len;
        let start = symbols[left].start;
        if let Some(&id) = self.vocab.get(&text[start..start + len]) {
            queue.push(Bigram {
                score: self.scores[id as usize],
                left,
                right,
                len,
            });
        }
    }
}

enum Fragment<'a> {
    Raw(&'a str),
    Token(u32),
}

struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}

impl Ord for Bigram {
    /// Highest score first; among equal scores, the leftmost pair.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}

/// `<0x41>` → 0x41.
fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}
