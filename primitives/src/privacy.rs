//! Differential privacy of federated jobs: the parameters a job declares, the budget a data
//! owner grants, and the accountant that says what a job spends.
//!
//! A private federated job clips every participant's update to an L2 norm and adds Gaussian
//! noise of `noise_multiplier × clip` to each round's sum of updates, every participant taking
//! part in a round with probability `sampling`, independently (Poisson sampling): the sampled
//! Gaussian mechanism, composed over the job's rounds. [`epsilon`] accounts for it with Rényi differential privacy (Mironov, Talwar
//! and Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism", 2019): at each
//! integer order α of [`ORDERS`],
//!
//! ```text
//! A_α  = Σ_{k=0..α} C(α,k) (1−q)^(α−k) q^k exp((k²−k) / (2σ²))
//! RDP(α) = rounds · ln(A_α) / (α−1)
//! ε(α) = RDP(α) + ln((α−1)/α) − (ln δ + ln α) / (α−1)
//! ```
//!
//! and ε is the least ε(α) (the conversion of Balle et al., 2020, as Google's `dp-accounting`
//! and Opacus use it). Everything is computed in decimal fixed point ([`FixedI128`], 18
//! decimals) with series for `ln` and `exp` and `A_α` summed in log space,
//! so every node computes the same ε; it is rounded up to the thousandth. The tests check it
//! against `dp-accounting`'s `RdpAccountant` over the same orders.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::{
	traits::{CheckedAdd, CheckedDiv, CheckedMul, CheckedSub, One, Zero},
	FixedI128, FixedPointNumber, Perbill,
};
use scale_info::TypeInfo;

/// What a private federated job declares about the noise it adds.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct DpParameters {
	/// The L2 norm every update is clipped to, in thousandths.
	pub clip_milli: u32,
	/// The noise's standard deviation over the clip norm, σ, in thousandths; at least
	/// [`MIN_NOISE_MULTIPLIER_MILLI`].
	pub noise_multiplier_milli: u32,
	/// The chance that a participant takes part in a round, q.
	pub sampling: Perbill,
	/// The δ the job's ε is stated for.
	pub delta: Perbill,
}

/// A privacy budget a data owner grants: what all jobs on its data together may spend.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct PrivacyBudget {
	/// ε, in thousandths.
	pub epsilon_milli: u32,
	/// The largest δ a job may be stated for.
	pub delta: Perbill,
}

/// The smallest noise multiplier accounted for: 0.1.
pub const MIN_NOISE_MULTIPLIER_MILLI: u32 = 100;

/// The Rényi orders ε is minimised over.
pub const ORDERS: [u32; 19] = [2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64];

/// ln 2, to 18 decimals.
const LN_2: FixedI128 = FixedI128::from_inner(693_147_180_559_945_309);

/// Below this, `exp` is taken as zero: e⁻⁴⁵ is under the fixed point's resolution.
const EXP_FLOOR: i128 = -45;

/// The ε, in thousandths rounded up, that a job spends with `parameters` over `rounds`
/// rounds; `None` for parameters the accountant does not cover (no noise below
/// [`MIN_NOISE_MULTIPLIER_MILLI`], no sampling, δ of zero) or an ε beyond `u32`.
pub fn epsilon(parameters: &DpParameters, rounds: u32) -> Option<u32> {
	if parameters.noise_multiplier_milli < MIN_NOISE_MULTIPLIER_MILLI
		|| parameters.sampling.is_zero()
		|| parameters.delta.is_zero()
		|| rounds == 0
	{
		return None;
	}
	let sigma = FixedI128::checked_from_rational(parameters.noise_multiplier_milli, 1_000u32)?;
	let two_sigma_squared = sigma.checked_mul(&sigma)?.checked_mul(&FixedI128::from_u32(2))?;
	let q = parameters.sampling;
	let ln_delta =
		ln(FixedI128::checked_from_rational(parameters.delta.deconstruct(), 1_000_000_000u32)?)?;
	let largest = ORDERS[ORDERS.len() - 1];
	// ln 1, ln 2, …, ln(largest order), for the binomial coefficients.
	let mut ln_of = alloc::vec![FixedI128::zero()];
	for n in 1..=largest {
		ln_of.push(ln(FixedI128::from_u32(n))?);
	}
	let mut least: Option<FixedI128> = None;
	for alpha in ORDERS {
		let ln_a = ln_a(alpha, q, two_sigma_squared, &ln_of)?;
		let below = FixedI128::from_u32(alpha - 1);
		let rdp = ln_a.checked_mul(&FixedI128::from_u32(rounds))?.checked_div(&below)?;
		let conversion = ln_of[alpha as usize - 1]
			.checked_sub(&ln_of[alpha as usize])?
			.checked_sub(&ln_delta.checked_add(&ln_of[alpha as usize])?.checked_div(&below)?)?;
		let at_order = rdp.checked_add(&conversion)?;
		least = Some(least.map_or(at_order, |least| least.min(at_order)));
	}
	let least = least?.max(FixedI128::zero());
	// Thousandths, rounded up.
	let milli = least.checked_mul(&FixedI128::from_u32(1_000))?;
	let whole = milli.into_inner() / FixedI128::DIV;
	let rounded_up = if milli.into_inner() % FixedI128::DIV == 0 { whole } else { whole + 1 };
	u32::try_from(rounded_up).ok()
}

/// ln A_α of the sampled Gaussian mechanism, summed in log space.
fn ln_a(
	alpha: u32,
	q: Perbill,
	two_sigma_squared: FixedI128,
	ln_of: &[FixedI128],
) -> Option<FixedI128> {
	let exponent = |k: u32| -> Option<FixedI128> {
		let k = i128::from(k);
		FixedI128::checked_from_integer(k * k - k)?.checked_div(&two_sigma_squared)
	};
	if q == Perbill::one() {
		// Every participant in every round: the Gaussian mechanism itself, k = α only.
		return exponent(alpha);
	}
	let ln_q = ln(FixedI128::checked_from_rational(q.deconstruct(), 1_000_000_000u32)?)?;
	let ln_not_q = ln(FixedI128::checked_from_rational(
		1_000_000_000u32 - q.deconstruct(),
		1_000_000_000u32,
	)?)?;
	let mut terms = alloc::vec::Vec::with_capacity(alpha as usize + 1);
	// ln C(α, k), from ln C(α, k−1).
	let mut ln_binomial = FixedI128::zero();
	for k in 0..=alpha {
		if k > 0 {
			ln_binomial = ln_binomial
				.checked_add(&ln_of[(alpha - k + 1) as usize])?
				.checked_sub(&ln_of[k as usize])?;
		}
		let term = ln_binomial
			.checked_add(&ln_not_q.checked_mul(&FixedI128::from_u32(alpha - k))?)?
			.checked_add(&ln_q.checked_mul(&FixedI128::from_u32(k))?)?
			.checked_add(&exponent(k)?)?;
		terms.push(term);
	}
	let largest = terms.iter().copied().max()?;
	let mut sum = FixedI128::zero();
	for term in terms {
		sum = sum.checked_add(&exp_non_positive(term.checked_sub(&largest)?)?)?;
	}
	largest.checked_add(&ln(sum)?)
}

/// The natural logarithm of a positive `x`: `x = m·2^e` with `m` in [1, 2), and
/// `ln m = 2·atanh((m−1)/(m+1))` by its series.
fn ln(x: FixedI128) -> Option<FixedI128> {
	if x <= FixedI128::zero() {
		return None;
	}
	let one = FixedI128::one();
	let two = FixedI128::from_u32(2);
	let (mut m, mut e) = (x, 0i128);
	while m >= two {
		m = m.checked_div(&two)?;
		e += 1;
	}
	while m < one {
		m = m.checked_mul(&two)?;
		e -= 1;
	}
	let z = m.checked_sub(&one)?.checked_div(&m.checked_add(&one)?)?;
	let z_squared = z.checked_mul(&z)?;
	let (mut power, mut sum, mut n) = (z, FixedI128::zero(), 1i128);
	while power != FixedI128::zero() {
		sum = sum.checked_add(&power.checked_div(&FixedI128::checked_from_integer(n)?)?)?;
		power = power.checked_mul(&z_squared)?;
		n += 2;
	}
	sum.checked_mul(&two)?.checked_add(&LN_2.checked_mul(&FixedI128::checked_from_integer(e)?)?)
}

/// `exp(y)` for `y ≤ 0`: `y = r − k·ln 2` with `r` in (−ln 2, 0], `exp r` by its series,
/// halved `k` times.
fn exp_non_positive(y: FixedI128) -> Option<FixedI128> {
	if y > FixedI128::zero() {
		return None;
	}
	if y < FixedI128::checked_from_integer(EXP_FLOOR)? {
		return Some(FixedI128::zero());
	}
	let (mut r, mut halvings) = (y, 0u32);
	let minus_ln_2 = FixedI128::from_inner(-LN_2.into_inner());
	while r <= minus_ln_2 {
		r = r.checked_add(&LN_2)?;
		halvings += 1;
	}
	let (mut term, mut sum, mut n) = (FixedI128::one(), FixedI128::one(), 1i128);
	while term != FixedI128::zero() {
		term = term.checked_mul(&r)?.checked_div(&FixedI128::checked_from_integer(n)?)?;
		sum = sum.checked_add(&term)?;
		n += 1;
	}
	Some(FixedI128::from_inner(sum.into_inner() >> halvings))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn parameters(sigma_milli: u32, sampling: Perbill, delta: Perbill) -> DpParameters {
		DpParameters { clip_milli: 1_000, noise_multiplier_milli: sigma_milli, sampling, delta }
	}

	/// ε from `dp-accounting` 0.6.0 (`RdpAccountant` over [`ORDERS`], Poisson-sampled Gaussian,
	/// self-composed), which these must match to the thousandth, rounded up.
	#[test]
	fn epsilon_matches_the_reference_accountant() {
		for (sigma, sampling, rounds, delta, reference) in [
			(1_000, Perbill::from_percent(1), 1_000, Perbill::from_parts(10_000), 2.107_753),
			(2_000, Perbill::from_percent(10), 100, Perbill::from_parts(1_000), 2.915_593),
			(800, Perbill::one(), 10, Perbill::from_parts(10_000), 25.751_631),
			(4_000, Perbill::one(), 50, Perbill::from_parts(1), 12.367_813),
			(1_500, Perbill::from_percent(5), 200, Perbill::from_parts(100), 3.275_511),
			// Rates that rounds sampling half or a quarter of their participants declare.
			(1_000, Perbill::from_percent(50), 3, Perbill::from_parts(10_000), 6.539_991),
			(1_100, Perbill::from_percent(50), 100, Perbill::from_parts(10_000), 37.987_927),
			(2_000, Perbill::from_percent(25), 50, Perbill::from_parts(1_000), 5.466_611),
		] {
			let expected = (reference * 1_000.0f64).ceil() as u32;
			assert_eq!(
				epsilon(&parameters(sigma, sampling, delta), rounds),
				Some(expected),
				"σ = {sigma}‰, q = {sampling:?}, {rounds} rounds, δ = {delta:?}"
			);
		}
	}

	#[test]
	fn more_noise_fewer_rounds_or_less_sampling_spend_less() {
		let base = parameters(1_000, Perbill::from_percent(10), Perbill::from_parts(10_000));
		let spent = |parameters: DpParameters, rounds| epsilon(&parameters, rounds).unwrap();
		let at_base = spent(base, 100);
		assert!(spent(DpParameters { noise_multiplier_milli: 2_000, ..base }, 100) < at_base);
		assert!(spent(base, 50) < at_base);
		assert!(spent(DpParameters { sampling: Perbill::from_percent(5), ..base }, 100) < at_base);
	}

	#[test]
	fn parameters_the_accountant_does_not_cover_are_refused() {
		let good = parameters(1_000, Perbill::from_percent(10), Perbill::from_parts(10_000));
		assert_eq!(epsilon(&DpParameters { noise_multiplier_milli: 99, ..good }, 10), None);
		assert_eq!(epsilon(&DpParameters { sampling: Perbill::zero(), ..good }, 10), None);
		assert_eq!(epsilon(&DpParameters { delta: Perbill::zero(), ..good }, 10), None);
		assert_eq!(epsilon(&good, 0), None);
		// So many rounds that ε leaves the fixed point: refused, not wrapped.
		assert_eq!(epsilon(&DpParameters { noise_multiplier_milli: 100, ..good }, u32::MAX), None);
	}

	#[test]
	fn logarithms_and_exponentials_are_accurate_to_the_fixed_point() {
		let close = |a: FixedI128, b: f64| (a.to_float() - b).abs() < 1e-15;
		for x in [1e-9, 0.25, 1.0, 1.5, 2.0, 10.0, 1e9] {
			let fixed = FixedI128::from_float(x);
			assert!(close(ln(fixed).unwrap(), x.ln()), "ln {x}");
		}
		for y in [0.0, -0.5, -1.0, -10.0, -44.0] {
			assert!(close(exp_non_positive(FixedI128::from_float(y)).unwrap(), y.exp()), "exp {y}");
		}
		assert_eq!(exp_non_positive(FixedI128::from_float(-50.0)), Some(FixedI128::zero()));
		assert_eq!(ln(FixedI128::zero()), None);
	}
}
