//! The property: no sequence of calls panics or breaks an invariant.
//!
//! `TESSERA_FUZZ_CASES` (default [`DEFAULT_CASES`]) sets how many sequences one run tries,
//! `TESSERA_FUZZ_ACTIONS` (default [`DEFAULT_ACTIONS`]) the longest sequence, and
//! `TESSERA_FUZZ_SEED` the generator's seed (a number, or `random`; by default
//! [`DEFAULT_SEED`], so that the run in `cargo test` is the same every time). The default
//! run makes more than [`MIN_CALLS`] calls; `TESSERA_FUZZ_TRACE=1` prints every call and
//! why it failed. A failing sequence is shrunk, and the smallest one that still fails is
//! printed with the invariant it broke or the panic it caused. With `--nocapture` the run
//! prints how each kind of call fared and which events the sequences reached.
//!
//! Conservation: no Tessera pallet mints or burns (slashes, fees, bounties, refunds and
//! forfeited bonds are transfers between accounts or holds, and the existential deposit of
//! 1 leaves no dust to burn), so after every block the total issuance must equal the
//! genesis total exactly, and the sum of every account's free and reserved balance must
//! equal the total issuance.

use crate::{actions::*, runtime::*};
use polkadot_sdk::{frame_system, pallet_balances};
use proptest::{
	prelude::*,
	test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner},
};
use std::{cell::RefCell, collections::BTreeMap};

const DEFAULT_CASES: u32 = 150;
const DEFAULT_ACTIONS: usize = 240;
const MIN_CALLS: u64 = 10_000;
const DEFAULT_SEED: u64 = 26;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
	std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// Every pallet's `try_state`, and the conservation of the total issuance.
fn invariants(genesis_issuance: Balance) -> Result<(), String> {
	let named = |name: &str, result: Result<(), polkadot_sdk::sp_runtime::TryRuntimeError>| {
		result.map_err(|error| format!("{name}: {error:?}"))
	};
	named("node registry", NodeRegistry::do_try_state())?;
	named("reputation", Reputation::do_try_state())?;
	named("did", Did::do_try_state())?;
	named("model registry", ModelRegistry::do_try_state())?;
	named("proof of compute", ProofOfCompute::do_try_state())?;
	named("traps", ProofOfComputeTraps::do_try_state())?;
	let issuance = pallet_balances::TotalIssuance::<Test>::get();
	if issuance != genesis_issuance {
		return Err(format!("total issuance {issuance}, genesis had {genesis_issuance}"));
	}
	let held: Balance = frame_system::Account::<Test>::iter_values()
		.map(|account| account.data.free + account.data.reserved)
		.sum();
	if held != issuance {
		return Err(format!("accounts hold {held}, total issuance is {issuance}"));
	}
	Ok(())
}

/// How the calls of the run went, by kind.
#[derive(Default)]
struct Stats {
	calls: u64,
	blocks: u64,
	outcomes: BTreeMap<String, [u64; 3]>,
	/// Events of the Tessera pallets, by name: how deep the sequences went.
	events: BTreeMap<String, u64>,
}

/// Counts the block's events, by pallet and variant.
fn record_events() {
	STATS.with_borrow_mut(|stats| {
		for record in System::events() {
			let name = format!("{:?}", record.event);
			let mut parts = name.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty());
			let (Some(pallet), Some(mut variant)) = (parts.next(), parts.next()) else { continue };
			if variant == "Event" {
				variant = parts.next().unwrap_or_default();
			}
			if matches!(pallet, "System" | "Balances") {
				continue;
			}
			*stats.events.entry(format!("{pallet}::{variant}")).or_default() += 1;
		}
	});
}

thread_local! {
	static STATS: RefCell<Stats> = RefCell::default();
}

fn record(action: &Action, applied: Applied) {
	let kind = format!("{action:?}");
	let kind = kind.split([' ', '(', '{']).next().unwrap_or_default().to_owned();
	STATS.with_borrow_mut(|stats| {
		let slot = match applied {
			Applied::Block => {
				stats.blocks += 1;
				return;
			}
			Applied::Ok => 0,
			Applied::Failed => 1,
			Applied::Refused => 2,
		};
		stats.calls += 1;
		stats.outcomes.entry(kind).or_default()[slot] += 1;
	});
}

/// Runs `actions` from a fresh genesis; fails at the first block after which an invariant
/// is broken (a panic fails it too: the runner catches it).
fn run(seed: u64, actions: &[Action]) -> Result<(), TestCaseError> {
	new_ext(seed).execute_with(|| {
		let genesis = pallet_balances::TotalIssuance::<Test>::get();
		invariants(genesis).map_err(TestCaseError::fail)?;
		let end = |after: usize| -> Result<(), TestCaseError> {
			end_block();
			record_events();
			invariants(genesis).map_err(|broken| {
				TestCaseError::fail(format!(
					"after action {after}, block {}: {broken}",
					System::block_number()
				))
			})
		};
		for (index, action) in actions.iter().enumerate() {
			if let Action::Advance(blocks) = action {
				for _ in 0..*blocks {
					end(index)?;
					next_block();
					record(action, Applied::Block);
				}
			} else {
				record(action, apply(action));
			}
		}
		end(actions.len())
	})
}

#[test]
fn random_call_sequences_keep_every_invariant() {
	let cases = env_or("TESSERA_FUZZ_CASES", DEFAULT_CASES);
	let longest = env_or("TESSERA_FUZZ_ACTIONS", DEFAULT_ACTIONS).max(1);
	let seed = std::env::var("TESSERA_FUZZ_SEED").unwrap_or_default();
	let rng_seed = match seed.as_str() {
		"random" => RngSeed::Random,
		seed => RngSeed::Fixed(seed.parse().unwrap_or(DEFAULT_SEED)),
	};
	println!("generator seed: {rng_seed:?}");
	let config = Config {
		cases,
		rng_seed,
		// The smallest failing sequence is printed; nothing is written to the source tree.
		failure_persistence: None,
		..Config::default()
	};
	let strategy = (any::<u64>(), prop::collection::vec(action(), 1..=longest));
	let outcome = TestRunner::new(config).run(&strategy, |(seed, actions)| run(seed, &actions));
	if let Err(error) = outcome {
		match error {
			TestError::Fail(reason, (seed, actions)) => panic!(
				"a call sequence broke an invariant: {reason}\nrandomness seed {seed}, smallest \
				 failing sequence ({} actions):\n{actions:#?}",
				actions.len()
			),
			TestError::Abort(reason) => panic!("the fuzzer gave up: {reason}"),
		}
	}
	STATS.with_borrow(|stats| {
		println!(
			"{cases} sequences, {} calls, {} blocks; by call: [succeeded, failed, refused]",
			stats.calls, stats.blocks
		);
		for (kind, counts) in &stats.outcomes {
			println!("  {kind:<26} {counts:?}");
		}
		println!("events:");
		for (event, count) in &stats.events {
			println!("  {event:<50} {count}");
		}
		if cases >= DEFAULT_CASES && longest >= DEFAULT_ACTIONS {
			assert!(stats.calls >= MIN_CALLS, "only {} calls", stats.calls);
		}
	});
}
