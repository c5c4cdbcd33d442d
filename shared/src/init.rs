//! Seeded random initialisation: the same seed gives the same model on every machine.

use crate::Float;
use ndarray::{Array, Dimension, ShapeBuilder};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use ndarray_rand::rand_distr::{Distribution, StandardNormal};

/// The generator every seeded model uses.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// An array of the given shape with entries from N(0, std^2).
pub fn normal<F: Float, Sh: ShapeBuilder<Dim = D>, D: Dimension, R: Rng>(
    shape: Sh,
    std: f64,
    rng: &mut R,
) -> Array<F, D> {
    Array::from_shape_simple_fn(shape, || {
        let z: f64 = StandardNormal.sample(rng);
        F::cast(z * std)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn same_seed_same_numbers_and_right_spread() {
        let a: Array2<f64> = normal((100, 100), 0.02, &mut rng(7));
        let b: Array2<f64> = normal((100, 100), 0.02, &mut rng(7));
        let c: Array2<f64> = normal((100, 100), 0.02, &mut rng(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mean = a.mean().unwrap();
        let std = a.mapv(|x| (x - mean) * (x - mean)).mean().unwrap().sqrt();
        assert!(mean.abs() < 0.001, "mean {mean}");
        assert!((std - 0.02).abs() < 0.001, "std {std}");
    }
}
