//! A folder of saved contexts: a prompt loads its longest saved prefix and computes the rest;
//! the answer equals plain generation on the whole prompt.

mod common;
use ch04_gpt::{generate, Gpt};
use ch08_kv_cache::{CacheStorage, KvModel};
use ch11_cache_on_disk::{CacheDir, Dtype, Fingerprint, Resumed};
use common::*;

#[test]
fn the_longest_saved_prefix_is_loaded_and_the_rest_computed() {
    let dir = fixture_dir("gpt2-tiny-a");
    let fingerprint = Fingerprint::of_folder(&dir).unwrap();
    let folder = temp_file("cache-dir").with_extension("d");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    let caches = CacheDir::new(&folder);
    let prompt: Vec<u32> = (1..=16).map(|i| i * 7).collect();
    let unrelated: Vec<u32> = (1..=12).map(|i| i * 3).collect();
    for ids in [&prompt[..4], &prompt[..9], &unrelated[..], &prompt[..]] {
        let mut writer = KvModel::<KvGptOf<f32>>::new(Gpt::from_pretrained(&dir).unwrap(), CacheStorage::Concat);
        writer.forward(row(ids), true).unwrap();
        caches.save(&writer, ids, fingerprint, Dtype::F32).unwrap();
    }
    // (prompt, the prefix length that must be found)
    let mut longer = prompt.clone();
    longer.extend([5, 6]);
    let mut branch = prompt[..6].to_vec();
    branch.extend([1, 2, 3]);
    for (query, expected) in [(&longer, Some(16)), (&prompt[..12].to_vec(), Some(9)), (&branch, Some(4)), (&vec![2, 4, 6], None)] {
        let mut model = KvModel::<KvGptOf<f32>>::preallocated(Gpt::from_pretrained(&dir).unwrap());
        let found = caches.load_longest_prefix(&mut model, query, fingerprint).unwrap();
        assert_eq!(found.as_ref().map(Vec::len), expected, "{query:?}");
        assert_eq!(model.current_pos().unwrap(), expected.unwrap_or(0));
        let cached = found.unwrap_or_default();
        let answer = generate(&mut Resumed { model: &mut model, cached }, query, &greedy(3), |_| Ok(())).unwrap();
        let plain = generate(&mut Gpt::<f32>::from_pretrained(&dir).unwrap(), query, &greedy(3), |_| Ok(())).unwrap();
        assert_eq!(answer.new_ids, plain.new_ids, "{query:?}");
    }
}
