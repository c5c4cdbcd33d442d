//! Training does what it is for: the loss falls.

use ch04_gpt::Gpt;
use ch05_training::{train_step, AdamW, Batches};
use shared::GptConfig;

#[test]
fn the_loss_falls_on_a_repeated_batch() {
    // GPT-2's initialisation (std 0.02): the first loss is about ln(vocab_size)
    let config = GptConfig::gpt2_like(29, 16, 16, 2, 2);
    let mut model = Gpt::<f32>::random(&config, 3).unwrap();
    let tokens: Vec<u32> = (0..2 * 12 + 1).map(|i| ((i * 7 + 3) % 29) as u32).collect();
    let batches = Batches::new(&tokens, 2, 12).unwrap();
    let (x, y) = batches.get(0);
    let mut adamw = AdamW::new(1e-2, 0.0);
    let losses: Vec<f32> = (0..30).map(|_| train_step(&mut model, &mut adamw, x, y).unwrap()).collect();
    assert!((losses[0] - 29f32.ln()).abs() < 0.1, "first loss {} vs ln 29", losses[0]);
    assert!(losses[29] < 0.5 * losses[0], "{losses:?}");
    assert!(losses.windows(2).filter(|w| w[1] < w[0]).count() >= 25, "mostly falling: {losses:?}");
}

#[test]
fn a_first_adamw_step_moves_every_parameter_by_lr_against_its_gradient() {
    // at t = 1, m_hat = g and v_hat = g^2: the update is lr * g / (|g| + eps), about lr * sign(g)
    let config = GptConfig::gpt2_like(11, 8, 8, 1, 2);
    let mut model = Gpt::<f64>::random(&config, 5).unwrap();
    let before = model.clone();
    let tokens: Vec<u32> = (0..9).map(|i| (i * 5 % 11) as u32).collect();
    let batches = Batches::new(&tokens, 1, 8).unwrap();
    let (x, y) = batches.get(0);
    let (_, mut grads) = ch05_training::loss_and_grads(&model, x, y).unwrap();
    let lr = 1e-3;
    let mut adamw = AdamW::new(lr, 0.0);
    adamw.step(&mut model, &mut grads).unwrap();
    let mut before = before;
    let old = ch05_training::parameters_mut(&mut before);
    let new = ch05_training::parameters_mut(&mut model);
    let g = ch05_training::parameters_mut(&mut grads);
    for (((name, old), (_, new)), (_, g)) in old.into_iter().zip(new).zip(g) {
        for ((o, n), g) in old.iter().zip(&new).zip(&g) {
            let want = o - lr * g / (g.abs() + 1e-8);
            assert!((n - want).abs() < 1e-15, "{name}: {n} vs {want}");
        }
    }
}
