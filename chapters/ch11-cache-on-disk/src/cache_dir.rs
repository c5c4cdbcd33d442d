//! A folder of saved caches: given a prompt, load the longest saved prefix of its token ids,
//! so only the rest is computed.

use crate::file::{load_cache, save_cache};
use crate::fingerprint::{CacheShape, Fingerprint};
use crate::fnv::fnv1a;
use crate::format::{CacheFileError, Dtype, Header, HEADER_BYTES};
use crate::longest_prefix::longest_prefix;
use ch08_kv_cache::{KvModel, WithCaches};
use std::io::Read;
use std::path::{Path, PathBuf};

// ANCHOR: cache_dir
/// Cache files named `<model fingerprint>-<hash of the token ids>.kvc`, one per saved context.
pub struct CacheDir {
    dir: PathBuf,
}

impl CacheDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CacheDir { dir: dir.into() }
    }

    /// Save `model`'s caches, which hold `ids`, in `dtype`; returns the file.
    pub fn save<M: WithCaches>(&self, model: &KvModel<M>, ids: &[u32], fingerprint: Fingerprint, dtype: Dtype) -> Result<PathBuf, CacheFileError> {
        let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
        let path = self.dir.join(format!("{:016x}-{:016x}.kvc", fingerprint.0, fnv1a(&bytes)));
        save_cache(&path, model, ids, fingerprint, dtype)?;
        Ok(path)
    }

    /// Load into `model` the longest saved context of this model that is a strict prefix of
    /// `prompt` (at least one token must remain to compute), and return its ids; `None` when no
    /// saved context is. A damaged candidate is an error, never skipped into a wrong answer.
    pub fn load_longest_prefix<M: WithCaches + CacheShape>(&self, model: &mut KvModel<M>, prompt: &[u32], fingerprint: Fingerprint) -> Result<Option<Vec<u32>>, CacheFileError> {
        let mut paths = vec![];
        let mut saved = vec![];
        for path in self.files_of(fingerprint)? {
            if let Some(ids) = peek_ids(&path, prompt.len())? {
                paths.push(path);
                saved.push(ids);
            } // None: longer than the prompt, never a candidate
        }
        match longest_prefix(prompt, &saved) {
            None => Ok(None),
            Some(i) => load_cache(&paths[i], model, fingerprint).map(Some), // every check again, with the checksum
        }
    }

    fn files_of(&self, fingerprint: Fingerprint) -> Result<Vec<PathBuf>, CacheFileError> {
        let io = |source| CacheFileError::Io { path: self.dir.clone(), source };
        let prefix = format!("{:016x}-", fingerprint.0);
        let mut files = vec![];
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with(&prefix) && name.ends_with(".kvc") {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }
}
// ANCHOR_END: cache_dir

/// The token ids of a cache file (header checked, payload not yet), or `None` if it holds more
/// than `max_tokens`: only the header and the ids are read.
fn peek_ids(path: &Path, max_tokens: usize) -> Result<Option<Vec<u32>>, CacheFileError> {
    let io = |source| CacheFileError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut head = [0u8; HEADER_BYTES];
    if len < HEADER_BYTES as u64 {
        return Err(CacheFileError::Truncated { path: path.to_path_buf(), part: "header", found: len, needed: HEADER_BYTES as u64 });
    }
    file.read_exact(&mut head).map_err(io)?;
    let n = Header::decode(path, &head)?.n_tokens as usize;
    if n > max_tokens {
        return Ok(None);
    }
    if len < (HEADER_BYTES + 4 * n) as u64 {
        return Err(CacheFileError::Truncated { path: path.to_path_buf(), part: "token ids", found: len, needed: (HEADER_BYTES + 4 * n) as u64 });
    }
    let mut bytes = vec![0u8; 4 * n];
    file.read_exact(&mut bytes).map_err(io)?;
    Ok(Some(bytes.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes"))).collect()))
}
