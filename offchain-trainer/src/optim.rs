//! The optimisers a job may name: SGD, Adam and AdamW.
//!
//! SGD is burn's. Adam and AdamW are computed here, element by element on the host: each
//! updated weight is one fixed chain of IEEE-754 operations (Rust never fuses a multiply
//! and an add, `sqrt` and division are correctly rounded, and the bias corrections come
//! from the pure-Rust `libm`), so a step gives the same bits on every platform and for any
//! vectorisation, as the reference backend promises. Their running means — the
//! [`Moments`] — are part of the training state whose CID a replica commits, so a segment
//! re-executes from exactly what the replicas had.
//!
//! The job's hyper-parameters name its optimiser: SGD (a training state is the weights
//! alone), Adam (weight decay added to the gradient) or AdamW (weight decay applied to the
//! weights), both with bias correction, their β₁, β₂, ε and λ in parts per billion
//! (`Optimizer` in `primitives/src/job.rs`; the chain refuses a β of one or an ε of zero,
//! `BadOptimizer`). The moments start from zero at step 0 and in each federated round (a
//! round starts from its aggregate, which carries weights only). `--optimizer adam|adamw
//! --beta1 --beta2 --epsilon --weight-decay` choose them on the command line.

pub use tessera_primitives::trainer_api::{AdamConstants, Optimizer};

/// Adam's running means of the gradients and of their squares, tensor by tensor in
/// canonical parameter order, and the steps they have seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Moments {
	/// Steps taken since the means started from zero: the `t` of the bias corrections.
	pub steps: u64,
	/// The running mean of the gradients, `m`.
	pub first: Vec<Vec<f32>>,
	/// The running mean of the squared gradients, `v`.
	pub second: Vec<Vec<f32>>,
}

impl Moments {
	/// Means of zero, shaped as `weights`, that have seen no step.
	pub fn zero(weights: &[Vec<f32>]) -> Self {
		let zeros = || weights.iter().map(|tensor| vec![0.0; tensor.len()]).collect();
		Self { steps: 0, first: zeros(), second: zeros() }
	}

	/// Whether the means are shaped as `weights`.
	pub fn fit(&self, weights: &[Vec<f32>]) -> bool {
		let fits = |means: &[Vec<f32>]| {
			means.len() == weights.len()
				&& means.iter().zip(weights).all(|(mean, tensor)| mean.len() == tensor.len())
		};
		fits(&self.first) && fits(&self.second)
	}
}

/// Why Adam's or AdamW's constants define no step.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptimizerError {
	/// β₁ or β₂ is outside [0, 1).
	#[error("Adam's β₁ and β₂ must be in [0, 1)")]
	InvalidBeta,
	/// ε is not a positive number.
	#[error("Adam's ε must be a positive number")]
	InvalidEpsilon,
	/// λ is negative or not a number.
	#[error("the weight decay must be a non-negative number")]
	InvalidWeightDecay,
}

/// Checks that `optimizer` defines a step: βs in [0, 1), ε positive, λ non-negative, all
/// finite.
pub fn check(optimizer: &Optimizer) -> Result<(), OptimizerError> {
	let (Optimizer::Adam(constants) | Optimizer::AdamW(constants)) = optimizer else {
		return Ok(());
	};
	let AdamConstants { beta1, beta2, epsilon, weight_decay } = *constants;
	let fraction = |value: f64| (0.0..1.0).contains(&value);
	if !(fraction(beta1) && fraction(beta2)) {
		return Err(OptimizerError::InvalidBeta);
	}
	if !(epsilon.is_finite() && epsilon > 0.0) {
		return Err(OptimizerError::InvalidEpsilon);
	}
	if !(weight_decay.is_finite() && weight_decay >= 0.0) {
		return Err(OptimizerError::InvalidWeightDecay);
	}
	Ok(())
}

/// Adam or AdamW with its moments.
#[derive(Clone, Debug)]
pub struct Adam {
	beta1: f32,
	beta2: f32,
	epsilon: f32,
	weight_decay: f32,
	/// AdamW: the decay shrinks the weights; Adam: it is added to the gradients.
	decoupled: bool,
	moments: Moments,
}

impl Adam {
	/// The optimiser `optimizer` names, from the `moments` made on demand; `None` for SGD.
	pub fn new(optimizer: &Optimizer, moments: impl FnOnce() -> Moments) -> Option<Self> {
		let (constants, decoupled) = match optimizer {
			Optimizer::Sgd => return None,
			Optimizer::Adam(constants) => (constants, false),
			Optimizer::AdamW(constants) => (constants, true),
		};
		// One rounding from the job's fractions, the same on every trainer.
		Some(Self {
			beta1: constants.beta1 as f32,
			beta2: constants.beta2 as f32,
			epsilon: constants.epsilon as f32,
			weight_decay: constants.weight_decay as f32,
			decoupled,
			moments: moments(),
		})
	}

	/// The moments, to save with the weights.
	pub fn moments(&self) -> &Moments {
		&self.moments
	}

	/// Goes on from `moments`, saved with a training state, instead of its own.
	pub fn go_on_from(&mut self, moments: Moments) {
		self.moments = moments;
	}

	/// One step of learning rate `learning_rate`: updates `weights` in place from
	/// `gradients`, both in canonical parameter order and shaped as the moments.
	pub fn step(&mut self, weights: &mut [Vec<f32>], gradients: &[Vec<f32>], learning_rate: f32) {
		self.moments.steps = self.moments.steps.saturating_add(1);
		let t = self.moments.steps as f64;
		let correction1 = (1.0 - libm::pow(f64::from(self.beta1), t)) as f32;
		let correction2 = (1.0 - libm::pow(f64::from(self.beta2), t)) as f32;
		let step_size = learning_rate / correction1;
		let root_correction2 = correction2.sqrt();
		let (keep1, keep2) = (1.0 - self.beta1, 1.0 - self.beta2);
		let shrink = 1.0 - learning_rate * self.weight_decay;
		let (beta1, beta2, epsilon, weight_decay) =
			(self.beta1, self.beta2, self.epsilon, self.weight_decay);
		let decoupled = self.decoupled;
		let Moments { first, second, .. } = &mut self.moments;
		for (((weights, gradients), first), second) in
			weights.iter_mut().zip(gradients).zip(first.iter_mut()).zip(second.iter_mut())
		{
			for (((weight, gradient), m), v) in
				weights.iter_mut().zip(gradients).zip(first.iter_mut()).zip(second.iter_mut())
			{
				let gradient = if decoupled {
					*weight = *weight * shrink;
					*gradient
				} else {
					*gradient + weight_decay * *weight
				};
				*m = beta1 * *m + keep1 * gradient;
				*v = beta2 * *v + keep2 * (gradient * gradient);
				let denominator = v.sqrt() / root_correction2 + epsilon;
				*weight = *weight - step_size * (*m / denominator);
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const CONSTANTS: AdamConstants =
		AdamConstants { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 0.01 };

	/// PyTorch's `torch.optim.Adam`/`AdamW` step, written out in `f64`.
	fn reference(decoupled: bool, steps: &[f64], weight: f64) -> f64 {
		let AdamConstants { beta1, beta2, epsilon, weight_decay } = CONSTANTS;
		let (mut weight, mut m, mut v) = (weight, 0.0, 0.0);
		let learning_rate = 0.01;
		for (index, gradient) in steps.iter().enumerate() {
			let t = (index + 1) as f64;
			let gradient = if decoupled {
				weight *= 1.0 - learning_rate * weight_decay;
				*gradient
			} else {
				gradient + weight_decay * weight
			};
			m = beta1 * m + (1.0 - beta1) * gradient;
			v = beta2 * v + (1.0 - beta2) * gradient * gradient;
			let denominator = (v.sqrt() / (1.0 - beta2.powf(t)).sqrt()) + epsilon;
			weight -= learning_rate / (1.0 - beta1.powf(t)) * m / denominator;
		}
		weight
	}

	#[test]
	fn adam_and_adamw_follow_pytorchs_update_to_single_precision() {
		let gradients = [0.5, -0.25, 2.0, 0.0, -3.0, 1e-3];
		for (optimizer, decoupled) in
			[(Optimizer::Adam(CONSTANTS), false), (Optimizer::AdamW(CONSTANTS), true)]
		{
			let start = vec![vec![1.5_f32, -0.75]];
			let mut adam = Adam::new(&optimizer, || Moments::zero(&start)).unwrap();
			let mut weights = start.clone();
			for gradient in gradients {
				adam.step(&mut weights, &[vec![gradient as f32, -(gradient as f32)]], 0.01);
			}
			assert_eq!(adam.moments().steps, gradients.len() as u64);
			let negated: Vec<f64> = gradients.iter().map(|gradient| -gradient).collect();
			for (weight, expected) in weights[0]
				.iter()
				.zip([reference(decoupled, &gradients, 1.5), reference(decoupled, &negated, -0.75)])
			{
				assert!(
					(f64::from(*weight) - expected).abs() < 1e-5,
					"{optimizer:?}: {weight} against {expected}"
				);
			}
		}
	}

	#[test]
	fn adamw_shrinks_weights_without_gradients_and_adam_moves_them_only_through_its_moments() {
		let start = vec![vec![2.0_f32]];
		let mut adamw = Adam::new(&Optimizer::AdamW(CONSTANTS), || Moments::zero(&start)).unwrap();
		let mut weights = start.clone();
		adamw.step(&mut weights, &[vec![0.0]], 0.1);
		assert_eq!(weights[0][0], 2.0 * (1.0 - 0.1 * 0.01_f32));

		let sgd_like = Optimizer::Adam(AdamConstants { weight_decay: 0.0, ..CONSTANTS });
		let mut adam = Adam::new(&sgd_like, || Moments::zero(&start)).unwrap();
		let mut weights = start;
		adam.step(&mut weights, &[vec![0.0]], 0.1);
		assert_eq!(weights[0][0], 2.0, "no gradient, no decay: no move");
	}

	#[test]
	fn steps_that_are_not_defined_are_refused() {
		for (constants, refusal) in [
			(AdamConstants { beta1: 1.0, ..CONSTANTS }, OptimizerError::InvalidBeta),
			(AdamConstants { beta2: -0.1, ..CONSTANTS }, OptimizerError::InvalidBeta),
			(AdamConstants { epsilon: 0.0, ..CONSTANTS }, OptimizerError::InvalidEpsilon),
			(
				AdamConstants { weight_decay: f64::NAN, ..CONSTANTS },
				OptimizerError::InvalidWeightDecay,
			),
		] {
			assert_eq!(check(&Optimizer::AdamW(constants)), Err(refusal));
		}
		assert!(check(&Optimizer::Adam(CONSTANTS)).is_ok());
		assert!(Adam::new(&Optimizer::Sgd, Moments::default).is_none());
	}
}
