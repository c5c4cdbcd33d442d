//! The per-layer store of keys and values, in two storage strategies.

use ndarray::{concatenate, s, Array4, ArrayView4, Axis};
use shared::{Error, Float, Result};

// ANCHOR: exercise_swap
// Exercise ch08-1 (the write at the pointer): `--features ex-ch08-1` swaps in the learner's stub.
#[cfg_attr(feature = "ex-ch08-1", path = "../exercises/ch08_1_append.rs")]
mod append;
// ANCHOR_END: exercise_swap

/// How a [`KvCache`] stores its keys and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStorage {
    /// Concatenate old and new along the sequence axis at every step (what `torch.cat` does in
    /// the tutorials on the book's Sources page): simple, but every step copies the whole
    /// cache, O(n) bytes per token.
    Concat,
    /// Allocate room for `capacity` tokens once and write new entries at the write pointer:
    /// O(1) bytes copied per token (just the new keys and values).
    Preallocated { capacity: usize },
}

/// Keys and values of one attention layer, `[batch, n_kv_heads, seq, head_dim]` each.
///
/// `len` is the one count of cached positions: the model derives the positions of new tokens
/// from it, and the causal mask its offset. The fields are private, so nothing else can move it.
#[derive(Debug, Clone)]
pub struct KvCache<F> {
    /// `None` until the first token arrives (the buffer starts empty, like `register_buffer(None)`).
    cache_k: Option<Array4<F>>,
    cache_v: Option<Array4<F>>,
    /// Number of cached positions (for `Preallocated`, the write pointer).
    len: usize,
    storage: CacheStorage,
    /// Bytes written into the cache so far (new entries plus, for `Concat`, the re-copied old
    /// ones): the cost each strategy pays per token, for the demo's plot.
    bytes_copied: u64,
}

impl<F: Float> KvCache<F> {
    pub fn new(storage: CacheStorage) -> Self {
        KvCache {
            cache_k: None,
            cache_v: None,
            len: 0,
            storage,
            bytes_copied: 0,
        }
    }

    pub fn storage(&self) -> CacheStorage {
        self.storage
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    // ANCHOR: append
    /// Add the keys and values of `t` new positions, k and v: `[batch, n_kv_heads, t, head_dim]`.
    pub fn append(&mut self, k: ArrayView4<F>, v: ArrayView4<F>) -> Result<()> {
        check_same_shape(k, v)?;
        if let Some(old) = &self.cache_k {
            let (b, h, _, d) = old.dim();
            let (nb, nh, _, nd) = k.dim();
            if (b, h, d) != (nb, nh, nd) {
                return Err(Error::Shape {
                    op: "KvCache::append",
                    expected: format!("[{b}, {h}, t, {d}]"),
                    found: format!("{:?}", k.shape()),
                });
            }
        }
        let new_len = self.len + k.dim().2;
        let elem = std::mem::size_of::<F>() as u64;
        match self.storage {
            CacheStorage::Concat => {
                // copy old + new into a fresh array, for keys and for values
                let (cache_k, cache_v) = match (&self.cache_k, &self.cache_v) {
                    (Some(ck), Some(cv)) => (
                        cat_seq(ck.view(), k)?, // [batch, n_kv_heads, len + t, head_dim]
                        cat_seq(cv.view(), v)?,
                    ),
                    _ => (k.to_owned(), v.to_owned()),
                };
                self.bytes_copied += 2 * cache_k.len() as u64 * elem;
                self.cache_k = Some(cache_k);
                self.cache_v = Some(cache_v);
            }
            CacheStorage::Preallocated { capacity } => {
                self.write_at_pointer(k, v, capacity)?; // exercise ch08-1 (kv_cache/append.rs)
                self.bytes_copied += 2 * k.len() as u64 * elem; // only the new entries
            }
        }
        self.len = new_len;
        Ok(())
    }
    // ANCHOR_END: append

    // ANCHOR: view
    /// The cached keys, `[batch, n_kv_heads, len, head_dim]` (only the filled positions).
    pub fn keys(&self) -> ArrayView4<'_, F> {
        filled(&self.cache_k, self.len)
    }

    /// The cached values, `[batch, n_kv_heads, len, head_dim]`.
    pub fn values(&self) -> ArrayView4<'_, F> {
        filled(&self.cache_v, self.len)
    }
    // ANCHOR_END: view

    // ANCHOR: reset
    /// Forget everything: the next append starts at position 0.
    pub fn reset(&mut self) {
        self.cache_k = None;
        self.cache_v = None;
        self.len = 0;
    }
    // ANCHOR_END: reset

    /// Can [`push_one`](Self::push_one) write one more position of `n_kv_heads` heads of
    /// `head_dim`? Only a preallocated cache whose buffers exist (after the prompt), of a batch
    /// of one, with room left: chapter 8's fast decode step checks every layer first and
    /// otherwise takes the plain path.
    pub(crate) fn can_push_one(&self, n_kv_heads: usize, head_dim: usize) -> bool {
        let CacheStorage::Preallocated { capacity } = self.storage else { return false };
        match (&self.cache_k, &self.cache_v) {
            (Some(k), Some(v)) => {
                k.dim() == (1, n_kv_heads, capacity, head_dim) && v.dim() == k.dim() && k.is_standard_layout() && v.is_standard_layout() && self.len < capacity
            }
            _ => false,
        }
    }

    /// The fast decode step's append (after [`can_push_one`](Self::can_push_one)): one
    /// position, k and v `[n_kv_heads * head_dim]` (head after head), written at the pointer,
    /// as [`append`](Self::append) would write them.
    pub(crate) fn push_one(&mut self, k: &[F], v: &[F]) {
        let (capacity, head_dim) = match &self.cache_k {
            Some(a) => (a.dim().2, a.dim().3),
            None => unreachable!("push_one after can_push_one"),
        };
        let at = self.len;
        for (buffer, new) in [(&mut self.cache_k, k), (&mut self.cache_v, v)] {
            let data = buffer.as_mut().and_then(|a| a.as_slice_mut()).expect("checked by can_push_one");
            for (h, row) in new.chunks_exact(head_dim).enumerate() {
                let start = (h * capacity + at) * head_dim; // [0, h, at, ..]
                data[start..start + head_dim].copy_from_slice(row);
            }
        }
        self.bytes_copied += 2 * k.len() as u64 * std::mem::size_of::<F>() as u64;
        self.len += 1;
    }

    /// Keys and values of KV head `h` (batch row 0), positions `0..len`, `len * head_dim` values
    /// each, for the fast decode step (a preallocated cache with its buffers).
    pub(crate) fn head_rows(&self, h: usize) -> (&[F], &[F]) {
        fn rows<F: Float>(a: &Option<Array4<F>>, h: usize, len: usize) -> &[F] {
            let a = a.as_ref().expect("a preallocated cache with its buffers");
            let (capacity, head_dim) = (a.dim().2, a.dim().3);
            let start = h * capacity * head_dim;
            &a.as_slice().expect("standard layout")[start..start + len * head_dim]
        }
        (rows(&self.cache_k, h, self.len), rows(&self.cache_v, h, self.len))
    }

    /// Bytes of keys and values of the cached positions.
    pub fn bytes(&self) -> usize {
        2 * self.keys().len() * std::mem::size_of::<F>()
    }

    /// Bytes allocated (for `Preallocated`, the whole capacity once the first token arrived).
    pub fn allocated_bytes(&self) -> usize {
        let n = self.cache_k.as_ref().map_or(0, |a| a.len()) + self.cache_v.as_ref().map_or(0, |a| a.len());
        n * std::mem::size_of::<F>()
    }

    /// Bytes written into the cache since it was created, as counted by [`append`](Self::append)
    /// (new entries plus, for `Concat`, the re-copied old ones). Tests check it against an
    /// allocation counter.
    pub fn bytes_copied(&self) -> u64 {
        self.bytes_copied
    }
}

fn filled<F: Float>(a: &Option<Array4<F>>, len: usize) -> ArrayView4<'_, F> {
    match a {
        Some(a) => a.slice(s![.., .., ..len, ..]),
        None => ArrayView4::from_shape((0, 0, 0, 0), &[]).expect("empty"),
    }
}

fn check_same_shape<F: Float>(k: ArrayView4<F>, v: ArrayView4<F>) -> Result<()> {
    if k.dim() != v.dim() {
        return Err(Error::Shape {
            op: "KvCache::append",
            expected: format!("v with the shape of k {:?}", k.shape()),
            found: format!("{:?}", v.shape()),
        });
    }
    Ok(())
}

/// Concatenate along the sequence axis (axis 2).
fn cat_seq<F: Float>(old: ArrayView4<F>, new: ArrayView4<F>) -> Result<Array4<F>> {
    concatenate(Axis(2), &[old, new]).map_err(|e| Error::Shape {
        op: "KvCache::append",
        expected: format!("new entries like {:?} but for the sequence axis", old.shape()),
        found: format!("{:?} ({e})", new.shape()),
    })
}
