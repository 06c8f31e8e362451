//! Behaviour of the reputation pallet: dimensions, score, tiers, slashes, decay, draws.

use crate::{
	mock::*,
	types::{Dimensions, Mean, MAX_BASIS_POINTS, NEUTRAL_BASIS_POINTS},
	Error, Event, ReputationOfNode,
};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
	frame_system::RawOrigin,
	sp_core::H256,
	sp_runtime::{DispatchError, FixedU128, Perbill, Permill},
};
use proptest::prelude::*;
use tessera_primitives::{Outcome, ReputationInspect, ReputationSink, SlashReason, TrustTier};

const NODE: u32 = 1;

fn dimensions(node: u32) -> Dimensions {
	Reputation::view(node).expect("a registered node").dimensions
}

fn report(node: u32, outcome: Outcome, times: u32) {
	for _ in 0..times {
		Reputation::report(node, outcome);
	}
}

fn full_bandwidth() -> Outcome {
	Outcome::BandwidthMeasured { bytes: REFERENCE_BANDWIDTH, millis: 1_000 }
}

/// Reports `times` good outcomes of every kind, enough at 200 for the excellent tier.
fn build_up(node: u32, times: u32) {
	for outcome in [
		Outcome::HeartbeatKept,
		Outcome::ProofPassed,
		Outcome::JobCompleted,
		Outcome::LineageContribution,
		full_bandwidth(),
	] {
		report(node, outcome, times);
	}
}

fn all(value: u16) -> Dimensions {
	Dimensions {
		uptime: value,
		proof_success: value,
		bandwidth: value,
		lineage: value,
		slash_free: value,
		completion: value,
		violations: 0,
	}
}

#[test]
fn a_new_node_is_neutral() {
	test(|| {
		let view = Reputation::view(NODE).expect("a registered node");
		assert_eq!(view.dimensions, all(NEUTRAL_BASIS_POINTS));
		assert_eq!(view.score, Permill::from_percent(50));
		assert_eq!(view.tier, TrustTier::New);
		assert_eq!(view.verified, 0);
		assert_eq!(view.spot_check_rate, Permill::from_percent(20));
		assert_eq!(view.reward_multiplier, FixedU128::from_u32(1));
		assert!(ReputationOfNode::<Test>::get(NODE).is_none());
	});
}

#[test]
fn unregistered_nodes_have_no_view_and_reports_about_them_are_ignored() {
	test(|| {
		assert_eq!(Reputation::view(9), None);
		Reputation::report(9, Outcome::ProofPassed);
		Reputation::slashed(9, SlashReason::ForgedResult);
		assert!(ReputationOfNode::<Test>::get(9).is_none());
		assert_eq!(System::events().len(), 0);
	});
}

/// The dimensions in the order of [`Dimensions`]' fields.
fn as_array(dims: Dimensions) -> [u16; 7] {
	[
		dims.uptime,
		dims.proof_success,
		dims.bandwidth,
		dims.lineage,
		dims.slash_free,
		dims.completion,
		dims.violations,
	]
}

#[test]
fn each_outcome_moves_its_own_dimension() {
	const UPTIME: usize = 0;
	const PROOF: usize = 1;
	const BANDWIDTH: usize = 2;
	const LINEAGE: usize = 3;
	const COMPLETION: usize = 5;
	let cases = [
		(Outcome::HeartbeatKept, UPTIME, true),
		(Outcome::HeartbeatMissed, UPTIME, false),
		(Outcome::ProofPassed, PROOF, true),
		(Outcome::ProofFailed, PROOF, false),
		(Outcome::JobCompleted, COMPLETION, true),
		(Outcome::JobFailed, COMPLETION, false),
		(Outcome::LineageContribution, LINEAGE, true),
		(full_bandwidth(), BANDWIDTH, true),
	];
	for (outcome, moved, rises) in cases {
		test(|| {
			let before = as_array(dimensions(NODE));
			Reputation::report(NODE, outcome);
			let after = dimensions(NODE);
			let mut expected = before;
			// One sample against the prior's 20 at 50%.
			expected[moved] = if rises { 5_238 } else { 4_761 };
			assert_eq!(as_array(after), expected, "{outcome:?}");
			System::assert_last_event(
				Event::ReputationChanged { node: NODE, outcome, score: after.score() }.into(),
			);
		});
	}
}

#[test]
fn uptime_is_kept_heartbeats_over_expected_heartbeats() {
	test(|| {
		report(NODE, Outcome::HeartbeatKept, 60);
		report(NODE, Outcome::HeartbeatMissed, 20);
		// (20 × 50% + 60 × 100% + 20 × 0%) / 100 samples.
		assert_eq!(dimensions(NODE).uptime, 7_000);
	});
}

#[test]
fn bandwidth_is_measured_against_the_reference() {
	// One sample against the prior's 20 at 50%: the rate's share of the reference, capped.
	let cases = [
		(REFERENCE_BANDWIDTH / 2, 1_000, 5_000),
		(REFERENCE_BANDWIDTH, 1_000, 5_238),
		(REFERENCE_BANDWIDTH * 10, 1_000, 5_238),
		(REFERENCE_BANDWIDTH, 0, 5_238),
		(0, 1_000, 4_761),
	];
	for (bytes, millis, expected) in cases {
		test(|| {
			Reputation::report(NODE, Outcome::BandwidthMeasured { bytes, millis });
			assert_eq!(dimensions(NODE).bandwidth, expected, "{bytes} bytes in {millis} ms");
		});
	}
}

#[test]
fn slash_free_epochs_accrue_without_any_report() {
	test(|| {
		Reputation::report(NODE, Outcome::HeartbeatKept);
		// Five epochs, within the decay grace period.
		jump_to_block(1 + 5 * EPOCH);
		// (20 × 50% + 5 × 100%) / 25 samples.
		assert_eq!(dimensions(NODE).slash_free, 6_000);
	});
}

#[test]
fn the_score_weighs_dimensions_as_specified() {
	let only = |set: fn(&mut Dimensions)| {
		let mut dims = all(0);
		set(&mut dims);
		dims.score()
	};
	assert_eq!(only(|d| d.uptime = MAX_BASIS_POINTS), Permill::from_percent(30));
	assert_eq!(only(|d| d.proof_success = MAX_BASIS_POINTS), Permill::from_percent(25));
	assert_eq!(only(|d| d.bandwidth = MAX_BASIS_POINTS), Permill::from_percent(15));
	assert_eq!(only(|d| d.lineage = MAX_BASIS_POINTS), Permill::from_percent(10));
	assert_eq!(only(|d| d.slash_free = MAX_BASIS_POINTS), Permill::from_percent(10));
	assert_eq!(only(|d| d.completion = MAX_BASIS_POINTS), Permill::from_percent(10));
	assert_eq!(all(MAX_BASIS_POINTS).score(), Permill::one());
	assert_eq!(
		Dimensions { violations: 4_000, ..all(MAX_BASIS_POINTS) }.score(),
		Permill::from_percent(60)
	);
	assert_eq!(
		Dimensions { violations: MAX_BASIS_POINTS, ..all(MAX_BASIS_POINTS) }.score(),
		Permill::zero()
	);
}

#[test]
fn tiers_need_both_score_and_history() {
	let tiers = Tiers::get();
	let percent = Permill::from_percent;
	let just_below = |p: u32| Permill::from_parts(p * 10_000 - 1);
	assert_eq!(tiers.tier_of(percent(90), 200), TrustTier::Excellent);
	assert_eq!(tiers.tier_of(just_below(90), 200), TrustTier::Trusted);
	assert_eq!(tiers.tier_of(percent(100), 199), TrustTier::Trusted);
	assert_eq!(tiers.tier_of(percent(75), 100), TrustTier::Trusted);
	assert_eq!(tiers.tier_of(just_below(75), 100), TrustTier::Developing);
	assert_eq!(tiers.tier_of(percent(100), 99), TrustTier::Developing);
	assert_eq!(tiers.tier_of(percent(50), 50), TrustTier::Developing);
	assert_eq!(tiers.tier_of(just_below(50), 50), TrustTier::New);
	assert_eq!(tiers.tier_of(percent(100), 49), TrustTier::New);
}

#[test]
fn good_work_climbs_the_tiers_with_events() {
	test(|| {
		build_up(NODE, 200);
		let view = Reputation::view(NODE).expect("a registered node");
		assert_eq!(view.verified, 200);
		assert!(view.score >= Permill::from_percent(90), "{:?}", view.score);
		assert_eq!(view.tier, TrustTier::Excellent);
		assert_eq!(Reputation::spot_check_rate(NODE), Permill::from_percent(2));
		assert_eq!(Reputation::reward_multiplier(NODE), FixedU128::from_rational(115, 100));
		let climbs: Vec<_> = System::events()
			.into_iter()
			.filter_map(|record| match record.event {
				RuntimeEvent::Reputation(Event::TierChanged { from, to, .. }) => Some((from, to)),
				_ => None,
			})
			.collect();
		assert_eq!(
			climbs,
			vec![
				(TrustTier::New, TrustTier::Developing),
				(TrustTier::Developing, TrustTier::Trusted),
				(TrustTier::Trusted, TrustTier::Excellent),
			]
		);
	});
}

#[test]
fn a_fault_slash_zeroes_the_score_and_drops_the_tier_to_new() {
	for reason in
		[SlashReason::FailedVerification, SlashReason::ForgedResult, SlashReason::TrapFailure]
	{
		test(|| {
			build_up(NODE, 200);
			Reputation::slashed(NODE, reason);
			let view = Reputation::view(NODE).expect("a registered node");
			assert_eq!(view.score, Permill::zero());
			assert_eq!(view.tier, TrustTier::New);
			assert_eq!(view.verified, 200, "the history stays");
			System::assert_has_event(
				Event::TierChanged { node: NODE, from: TrustTier::Excellent, to: TrustTier::New }
					.into(),
			);
			System::assert_has_event(
				Event::SlashRecorded { node: NODE, reason, score: Permill::zero() }.into(),
			);
			// The node climbs back through its counters.
			build_up(NODE, 20);
			assert!(Reputation::score(NODE) > Permill::zero());
		});
	}
}

#[test]
fn a_data_availability_fault_costs_a_tenth_of_the_score() {
	test(|| {
		build_up(NODE, 100);
		let before = Reputation::view(NODE).expect("a registered node");
		Reputation::slashed(NODE, SlashReason::DataUnavailable(Perbill::from_percent(5)));
		let after = Reputation::view(NODE).expect("a registered node");
		assert_eq!(after.dimensions.violations, 2_000);
		// 90% of every positive dimension, then the violation penalty of the slash itself.
		let cut = |value: u16| (u32::from(value) * 9 / 10) as u16;
		let expected = Dimensions {
			uptime: cut(before.dimensions.uptime),
			proof_success: cut(before.dimensions.proof_success),
			bandwidth: cut(before.dimensions.bandwidth),
			lineage: cut(before.dimensions.lineage),
			completion: cut(before.dimensions.completion),
			..after.dimensions
		};
		assert_eq!(after.dimensions, expected);
		let without_penalty = Dimensions { violations: 0, ..after.dimensions }.score();
		let ratio = without_penalty.deconstruct() as f64 / before.score.deconstruct() as f64;
		assert!((ratio - 0.9).abs() < 0.01, "the score fell to {ratio} of itself");
	});
}

#[test]
fn each_slash_in_the_window_costs_a_fifth_of_the_score_up_to_all() {
	test(|| {
		let neutral = Reputation::score(NODE);
		Reputation::slashed(NODE, SlashReason::MissedHeartbeats);
		assert_eq!(dimensions(NODE).violations, 2_000);
		let penalised = Reputation::score(NODE);
		assert!(penalised < neutral);
		for _ in 0..6 {
			Reputation::slashed(NODE, SlashReason::AbandonedJob(Perbill::from_percent(1)));
		}
		assert_eq!(dimensions(NODE).violations, MAX_BASIS_POINTS);
		assert_eq!(Reputation::score(NODE), Permill::zero());
		assert_eq!(ReputationOfNode::<Test>::get(NODE).expect("a record").violations.len(), 5);

		jump_to_block(1 + VIOLATION_WINDOW);
		assert_eq!(dimensions(NODE).violations, 0, "violations expire after the window");
	});
}

#[test]
fn a_slash_breaks_the_slash_free_run() {
	test(|| {
		Reputation::report(NODE, Outcome::HeartbeatKept);
		jump_to_block(1 + 10 * EPOCH);
		let before = dimensions(NODE).slash_free;
		Reputation::slashed(NODE, SlashReason::MissedHeartbeats);
		assert!(dimensions(NODE).slash_free < before);
		let record = ReputationOfNode::<Test>::get(NODE).expect("a record");
		assert_eq!(record.epoch_start, 1 + 10 * EPOCH);
	});
}

#[test]
fn reputation_decays_towards_neutral_after_the_grace_period() {
	test(|| {
		build_up(NODE, 200);
		let fresh = dimensions(NODE).proof_success;
		let distance = u32::from(fresh - NEUTRAL_BASIS_POINTS);

		jump_to_block(1 + GRACE);
		assert_eq!(dimensions(NODE).proof_success, fresh, "no decay within the grace period");

		jump_to_block(1 + GRACE + 3 * DECAY_STEP);
		let decayed = u32::from(dimensions(NODE).proof_success - NEUTRAL_BASIS_POINTS);
		assert_eq!(decayed, distance * 85 / 100, "three steps of 5%");

		jump_to_block(1 + GRACE + 100 * DECAY_STEP);
		let floored = u32::from(dimensions(NODE).proof_success - NEUTRAL_BASIS_POINTS);
		assert_eq!(floored, distance / 2, "decay keeps at least half the distance");
	});
}

#[test]
fn decay_also_lifts_a_low_reputation_towards_neutral() {
	test(|| {
		report(NODE, Outcome::ProofFailed, 80);
		let low = dimensions(NODE).proof_success;
		assert_eq!(low, 1_000);
		jump_to_block(1 + GRACE + 100 * DECAY_STEP);
		assert_eq!(dimensions(NODE).proof_success, 3_000);
	});
}

#[test]
fn heartbeats_do_not_stop_decay_but_work_restarts_its_clock() {
	test(|| {
		build_up(NODE, 200);
		let fresh = dimensions(NODE).proof_success;
		jump_to_block(1 + GRACE + 3 * DECAY_STEP);
		Reputation::report(NODE, Outcome::HeartbeatKept);
		let decayed = dimensions(NODE).proof_success;
		assert!(decayed < fresh);

		Reputation::report(NODE, Outcome::JobCompleted);
		let record = ReputationOfNode::<Test>::get(NODE).expect("a record");
		assert_eq!(record.last_work, 1 + GRACE + 3 * DECAY_STEP);
		assert_eq!(record.proof_success.value(), decayed, "the decay was fixed into the record");
		jump_to_block(1 + 2 * GRACE + 3 * DECAY_STEP);
		assert_eq!(dimensions(NODE).proof_success, decayed, "the clock restarted");
	});
}

#[test]
fn the_spot_check_rate_follows_the_tier() {
	test(|| {
		assert_eq!(Reputation::spot_check_rate(NODE), Permill::from_percent(20));
		report(NODE, Outcome::ProofPassed, 50);
		assert_eq!(Reputation::tier(NODE), TrustTier::Developing);
		assert_eq!(Reputation::spot_check_rate(NODE), Permill::from_percent(10));
		assert_eq!(Reputation::reward_multiplier(NODE), FixedU128::from_u32(1));
	});
}

/// Over 40 000 jobs the observed frequency is within one percentage point of the rate:
/// for the largest rate, 20%, one point is five standard deviations.
#[test]
fn spot_check_draws_hit_each_rate_within_one_point() {
	test(|| {
		const DRAWS: u64 = 40_000;
		for percent in [2, 5, 10, 20] {
			let rate = Permill::from_percent(percent);
			let hits = (0..DRAWS).filter(|job| Reputation::draw(NODE, *job, rate)).count() as f64;
			let observed = hits / DRAWS as f64;
			let expected = f64::from(percent) / 100.0;
			assert!((observed - expected).abs() < 0.01, "rate {expected}: observed {observed}");
		}
	});
}

#[test]
fn spot_check_draws_depend_on_node_job_and_randomness() {
	test(|| {
		let rate = Permill::from_percent(50);
		let draws =
			|node: u32| (0..64).map(|job| Reputation::draw(node, job, rate)).collect::<Vec<_>>();
		let first = draws(NODE);
		assert_eq!(first, draws(NODE), "the same inputs draw the same");
		assert_ne!(first, draws(2));
		Seed::set(H256::repeat_byte(8));
		assert_ne!(first, draws(NODE));
		assert!(!Reputation::draw(NODE, 0, Permill::zero()));
		assert!(Reputation::draw(NODE, 0, Permill::one()));
		assert_eq!(
			Reputation::should_spot_check(NODE, 3),
			Reputation::draw(NODE, 3, Permill::from_percent(20))
		);
	});
}

#[test]
fn the_base_rate_scales_every_tier_and_only_the_force_origin_sets_it() {
	test(|| {
		assert_noop!(
			Reputation::set_spot_check_base(RawOrigin::Signed(1).into(), Permill::zero()),
			DispatchError::BadOrigin
		);
		assert_ok!(Reputation::set_spot_check_base(
			RawOrigin::Root.into(),
			Permill::from_percent(30)
		));
		System::assert_last_event(
			Event::SpotCheckBaseSet { base: Permill::from_percent(30) }.into(),
		);
		assert_eq!(Reputation::spot_check_rate(NODE), Permill::from_percent(60));
		build_up(NODE, 200);
		assert_eq!(Reputation::spot_check_rate(NODE), Permill::from_percent(6));

		assert_ok!(Reputation::set_spot_check_base(
			RawOrigin::Root.into(),
			Permill::from_percent(80)
		));
		assert_eq!(Reputation::spot_check_rate(2), Permill::one(), "at most every result");

		assert_ok!(Reputation::set_spot_check_base(RawOrigin::Root.into(), Permill::zero()));
		assert!((0..1_000).all(|job| !Reputation::should_spot_check(2, job)));
	});
}

#[test]
fn force_reset_returns_a_node_to_neutral() {
	test(|| {
		build_up(NODE, 100);
		Reputation::slashed(NODE, SlashReason::ForgedResult);
		assert_ok!(Reputation::force_reset(RawOrigin::Root.into(), NODE));
		let view = Reputation::view(NODE).expect("a registered node");
		assert_eq!(view.dimensions, all(NEUTRAL_BASIS_POINTS));
		assert_eq!(view.verified, 0);
		System::assert_last_event(Event::ReputationReset { node: NODE }.into());
	});
}

#[test]
fn force_reset_needs_the_force_origin_and_a_registered_node() {
	test(|| {
		assert_noop!(
			Reputation::force_reset(RawOrigin::Signed(1).into(), NODE),
			DispatchError::BadOrigin
		);
		assert_noop!(
			Reputation::force_reset(RawOrigin::Root.into(), 9),
			Error::<Test>::UnknownNode
		);
	});
}

#[test]
fn forget_drops_the_record_of_a_node_that_left() {
	test(|| {
		Reputation::report(NODE, Outcome::ProofPassed);
		Registered::set(vec![2, 3]);
		Reputation::forget(NODE);
		assert!(ReputationOfNode::<Test>::get(NODE).is_none());
		System::assert_last_event(Event::ReputationForgotten { node: NODE }.into());
	});
}

#[test]
fn try_state_catches_a_record_of_an_unregistered_node() {
	new_test_ext().execute_with(|| {
		Reputation::report(NODE, Outcome::ProofPassed);
		Registered::set(vec![2, 3]);
		assert!(Reputation::do_try_state().is_err());
	});
}

#[test]
fn a_mean_holds_at_most_its_memory_and_keeps_its_value_when_folding() {
	let mut mean = Mean::starting_at(NEUTRAL_BASIS_POINTS, PRIOR);
	mean.observe(MAX_BASIS_POINTS, 5 * MEMORY, MEMORY);
	assert_eq!(mean.samples, MEMORY);
	assert_eq!(mean.value(), MAX_BASIS_POINTS);
	mean.observe(0, MEMORY / 2, MEMORY);
	assert_eq!(mean.samples, MEMORY);
	assert_eq!(mean.value(), 5_000);
}

fn arb_dimensions() -> impl Strategy<Value = Dimensions> {
	let bp = || 0..=MAX_BASIS_POINTS;
	(bp(), bp(), bp(), bp(), bp(), bp(), bp()).prop_map(
		|(uptime, proof_success, bandwidth, lineage, slash_free, completion, violations)| {
			Dimensions {
				uptime,
				proof_success,
				bandwidth,
				lineage,
				slash_free,
				completion,
				violations,
			}
		},
	)
}

fn arb_outcome() -> impl Strategy<Value = Outcome> {
	prop_oneof![
		Just(Outcome::HeartbeatKept),
		Just(Outcome::HeartbeatMissed),
		Just(Outcome::JobCompleted),
		Just(Outcome::JobFailed),
		Just(Outcome::ProofPassed),
		Just(Outcome::ProofFailed),
		Just(Outcome::LineageContribution),
		(any::<u64>(), any::<u32>())
			.prop_map(|(bytes, millis)| Outcome::BandwidthMeasured { bytes, millis }),
	]
}

proptest! {
	#[test]
	fn the_score_never_exceeds_one_million_parts(dims in arb_dimensions()) {
		prop_assert!(dims.score().deconstruct() <= 1_000_000);
	}

	#[test]
	fn raising_a_positive_dimension_never_lowers_the_score(
		dims in arb_dimensions(),
		which in 0usize..6,
		raise in 0..=MAX_BASIS_POINTS,
	) {
		let mut raised = dims;
		let field = [
			&mut raised.uptime,
			&mut raised.proof_success,
			&mut raised.bandwidth,
			&mut raised.lineage,
			&mut raised.slash_free,
			&mut raised.completion,
		]
		.into_iter()
		.nth(which)
		.expect("six positive dimensions");
		*field = field.saturating_add(raise).min(MAX_BASIS_POINTS);
		prop_assert!(raised.score() >= dims.score());
	}

	#[test]
	fn more_violations_never_raise_the_score(dims in arb_dimensions(), more in 0..=MAX_BASIS_POINTS) {
		let worse = Dimensions { violations: dims.violations.saturating_add(more).min(MAX_BASIS_POINTS), ..dims };
		prop_assert!(worse.score() <= dims.score());
	}

	#[test]
	fn any_history_of_reports_keeps_the_invariants(
		steps in proptest::collection::vec((arb_outcome(), 0u64..3_000, any::<bool>()), 1..60),
	) {
		new_test_ext().execute_with(|| {
			for (outcome, blocks, slash) in steps {
				jump_to_block(System::block_number() + blocks);
				if slash {
					Reputation::slashed(NODE, SlashReason::DataUnavailable(Perbill::from_percent(1)));
				}
				Reputation::report(NODE, outcome);
				let score = Reputation::score(NODE);
				assert!(score <= Permill::one());
				assert_eq!(Reputation::view(NODE).expect("registered").dimensions.score(), score);
			}
			Reputation::do_try_state().expect("invariants hold");
		});
	}
}
