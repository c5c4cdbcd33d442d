//! Save after a context, load into a fresh model, continue with a question tokenized on its
//! own: the logits and greedy tokens equal plain, uncached generation on context ++ question
//! (the uncached model is proven equal to transformers by the workspace's parity tests).

mod common;
use ch04_gpt::{generate, Gpt};
use ch06_llama_qwen::Decoder;
use ch08_kv_cache::{CacheStorage, KvModel};
use ch11_cache_on_disk::{load_cache, save_cache, Dtype, Fingerprint, Resumed};
use common::*;
use shared::tolerance::{F32_REORDERED, F64_REORDERED};

#[test]
fn gpt2_answers_from_a_loaded_cache_like_plain_generation() {
    let dir = fixture_dir("gpt2-tiny-a");
    save_load_answer::<KvGptOf<f32>>("gpt2-f32", &dir, || Gpt::<f32>::from_pretrained(&dir).unwrap(), Dtype::F32, F32_REORDERED);
    save_load_answer::<KvGptOf<f64>>("gpt2-f64", &dir, || Gpt::<f64>::from_pretrained(&dir).unwrap(), Dtype::F64, F64_REORDERED);
}

#[test]
fn llama_gqa_answers_from_a_loaded_cache_like_plain_generation() {
    let dir = fixture_dir("llama-tiny-gqa");
    save_load_answer::<KvDecoderOf<f32>>("llama-f32", &dir, || Decoder::<f32>::from_pretrained(&dir).unwrap(), Dtype::F32, F32_REORDERED);
    save_load_answer::<KvDecoderOf<f64>>("llama-f64", &dir, || Decoder::<f64>::from_pretrained(&dir).unwrap(), Dtype::F64, F64_REORDERED);
}

#[test]
fn a_prompt_that_does_not_start_with_the_cache_is_refused() {
    let dir = fixture_dir("gpt2-tiny-a");
    let file = saved_gpt2_cache("not-a-prefix");
    let mut model = KvModel::<KvGptOf<f32>>::preallocated(Gpt::from_pretrained(&dir).unwrap());
    let ids = load_cache(&file, &mut model, Fingerprint::of_folder(&dir).unwrap()).unwrap();
    let mut other: Vec<u32> = ids.clone();
    other[0] = (other[0] + 1) % 300;
    other.push(5);
    let e = generate(&mut Resumed { model: &mut model, cached: ids }, &other, &greedy(2), |_| Ok(())).unwrap_err();
    assert!(e.to_string().contains("does not start with"), "{e}");
}

/// The seed's experiment: several contexts each saved once, several questions per context,
/// greedy 3 new tokens from the disk cache, equal to plain generation on context + question.
#[test]
fn two_contexts_and_their_questions_answer_like_plain_generation() {
    let dir = fixture_dir("llama-tiny-gqa");
    let tokenizer = ch01_tokenizer::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let fingerprint = Fingerprint::of_folder(&dir).unwrap();
    let load = || Decoder::<f32>::from_pretrained(&dir).unwrap();
    let cases = [
        ("The dog ran to the park.", [" Who ran?", " Where did it go?"]),
        ("Tom baked a red cake for Sue.", [" What did Tom bake?", " For whom?"]),
    ];
    for (i, (context, questions)) in cases.iter().enumerate() {
        let ids = tokenizer.encode_prompt(context).unwrap();
        let file = temp_file(&format!("seed-context-{i}"));
        let mut writer = KvModel::<KvDecoderOf<f32>>::new(load(), CacheStorage::Concat);
        writer.forward(row(&ids), true).unwrap();
        save_cache(&file, &writer, &ids, fingerprint, Dtype::F32).unwrap();
        for question in questions {
            let full: Vec<u32> = ids.iter().copied().chain(tokenizer.encode(question).unwrap()).collect();
            let mut model = KvModel::<KvDecoderOf<f32>>::preallocated(load());
            let cached = load_cache(&file, &mut model, fingerprint).unwrap();
            let answer = generate(&mut Resumed { model: &mut model, cached }, &full, &greedy(3), |_| Ok(())).unwrap();
            let expected = generate(&mut load(), &full, &greedy(3), |_| Ok(())).unwrap();
            assert_eq!(answer.new_ids, expected.new_ids, "{context:?} {question:?}");
            assert_eq!(answer.new_ids.len(), 3);
        }
    }
}
