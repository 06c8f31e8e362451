//! Reference-mode training is a pure function of the job: the same commitments on every run,
//! from a resumed checkpoint, and (by the golden digests) on every machine and CPU level the
//! same build runs on. `scripts/determinism.sh` runs this file built for the baseline
//! x86-64, for the host's own CPU, for x86-64 musl and for aarch64 under `qemu-aarch64`.

use tessera_trainer::{
	backend::Backend,
	data::Builtin,
	model::Architecture,
	optim::{AdamConstants, Optimizer},
	state::StartState,
	store::{self, ContentStore},
	train::{Commitment, HyperParameters, Session},
};

fn hyper(steps: u64) -> HyperParameters {
	HyperParameters {
		learning_rate: 0.1,
		batch_size: 32,
		steps,
		checkpoint_every: 20,
		seed: 7,
		optimizer: Optimizer::Sgd,
	}
}

fn mlp() -> Architecture {
	Architecture::Mlp { hidden: vec![32] }
}

fn train(architecture: Architecture, steps: u64, store: &ContentStore) -> Vec<Commitment> {
	let digits = Builtin::Digits.load();
	let mut session =
		Session::start(architecture, &digits, hyper(steps), Backend::Reference, store).unwrap();
	session.run_until(steps, |_| {}).unwrap()
}

fn store() -> (tempfile::TempDir, ContentStore) {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	(dir, store)
}

#[test]
fn mlp_on_digits_reproduces_its_golden_digests() {
	let (_dir, store) = store();
	let commitments = train(mlp(), 60, &store);
	let steps: Vec<u64> = commitments.iter().map(|c| c.step).collect();
	assert_eq!(steps, vec![20, 40, 60]);
	let last = commitments.last().unwrap();
	assert_eq!(format!("{:?}", last.weights_digest), GOLDEN_MLP_WEIGHTS);
	assert_eq!(format!("{:?}", last.loss_digest), GOLDEN_MLP_LOSSES);
	assert_eq!(last.state_cid, GOLDEN_MLP_STATE);
	assert!(commitments[2].mean_loss < commitments[0].mean_loss, "{commitments:?}");
}

const GOLDEN_MLP_WEIGHTS: &str =
	"0x6df7afaf3271ee02a94e9e6cdaddd8fd4672c45b5ec9cc16d5335a2849787304";
const GOLDEN_MLP_LOSSES: &str =
	"0x3854151e3c43938335d28320286d4646a76dedb64c45c32d63b6297307164db6";
const GOLDEN_MLP_STATE: &str = "bafkreia2p477lgmtzmwh47bq6owbpf4w4oyrhr2g6uzfz6nzhttuxwacvm";

#[test]
fn two_runs_commit_identically_and_share_their_stored_states() {
	let (_dir, store) = store();
	let first = train(mlp(), 40, &store);
	let second = train(mlp(), 40, &store);
	assert_eq!(first, second);
	assert_eq!(store.pins().unwrap().len(), 4, "two states and two gradient sets");
	// Two replicas reveal the same payload; their commitments differ by node and salt only.
	let reveal = |commitment: &Commitment, node| {
		commitment
			.payload(9, 1, node, tessera_primitives::BackendClass::CpuReference, None)
			.unwrap()
	};
	let (mine, theirs) = (reveal(&first[1], 1), reveal(&second[1], 2));
	assert_eq!(mine.weights_digest, theirs.weights_digest);
	assert_eq!(mine.state_cid, theirs.state_cid);
	assert_ne!(
		tessera_primitives::commitment_hash(&mine, 1, &[7; 32]),
		tessera_primitives::commitment_hash(&theirs, 2, &[7; 32])
	);
}

#[test]
fn a_segment_re_executed_from_its_checkpoint_commits_the_same_digests() {
	let (_dir, store) = store();
	let digits = Builtin::Digits.load();
	let original = train(mlp(), 60, &store);
	let mut validator = Session::resume(
		mlp(),
		&digits,
		hyper(60),
		Backend::Reference,
		&store,
		&StartState {
			state_cid: original[0].state_cid.clone(),
			weights_digest: original[0].weights_digest,
		},
		20,
	)
	.unwrap();
	assert_eq!(validator.run_until(40, |_| {}).unwrap(), vec![original[1].clone()]);
}

/// Adam's usual constants, with a weight decay that AdamW and Adam apply differently.
const ADAM: AdamConstants =
	AdamConstants { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 0.01 };

#[test]
fn adam_and_adamw_reproduce_their_golden_digests_and_re_execute_from_their_saved_moments() {
	let (_dir, store) = store();
	let digits = Builtin::Digits.load();
	let mut finals = Vec::new();
	for (optimizer, golden) in [
		(Optimizer::Adam(ADAM), GOLDEN_ADAM_WEIGHTS),
		(Optimizer::AdamW(ADAM), GOLDEN_ADAMW_WEIGHTS),
	] {
		let hyper = HyperParameters { learning_rate: 0.01, optimizer, ..hyper(60) };
		let start = || Session::start(mlp(), &digits, hyper.clone(), Backend::Reference, &store);
		let original = start().unwrap().run_until(60, |_| {}).unwrap();
		assert_eq!(original, start().unwrap().run_until(60, |_| {}).unwrap());
		assert!(original[2].mean_loss < original[0].mean_loss, "{optimizer:?}: {original:?}");
		assert_eq!(format!("{:?}", original[2].weights_digest), golden, "{optimizer:?}");
		// The state names the moments too: a validator re-executing from it agrees.
		let state = store.get(&store::parse_cid(&original[0].state_cid).unwrap()).unwrap();
		assert!(state.starts_with(tessera_trainer::state::ADAM_STATE_TAG));
		let checkpoint = StartState {
			state_cid: original[0].state_cid.clone(),
			weights_digest: original[0].weights_digest,
		};
		let mut validator = Session::resume(
			mlp(),
			&digits,
			hyper.clone(),
			Backend::Reference,
			&store,
			&checkpoint,
			20,
		)
		.unwrap();
		assert_eq!(validator.run_until(40, |_| {}).unwrap(), vec![original[1].clone()]);
		finals.push(original[2].weights_digest);
	}
	assert_ne!(finals[0], finals[1], "AdamW decays apart from the gradient, Adam through it");
}

const GOLDEN_ADAM_WEIGHTS: &str =
	"0xd090d8bfe9f6d4598f382e25fe81086a5918b8a27f18e6a669bb6a983183d7a7";
const GOLDEN_ADAMW_WEIGHTS: &str =
	"0xf5dfdb6070015fc6e6ea962496a781e087ccf06d4cd14da7f6dd52b634b0cf80";

#[test]
fn one_two_and_three_threads_commit_identically() {
	let (_dir, store) = store();
	let digits = Builtin::Digits.load();
	// Products of 256 × 64 × 256 and more: large enough that the kernel splits them.
	let wide = HyperParameters { batch_size: 256, ..hyper(4) };
	let run = |threads| {
		rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
			Session::start(
				Architecture::Mlp { hidden: vec![256] },
				&digits,
				HyperParameters { checkpoint_every: 2, ..wide.clone() },
				Backend::Reference,
				&store,
			)
			.unwrap()
			.run_until(4, |_| {})
			.unwrap()
		})
	};
	let one = run(1);
	assert_eq!(one, run(2));
	assert_eq!(one, run(3));
}

#[test]
fn cnn_on_digits_trains_deterministically() {
	let (_dir, store) = store();
	let cnn = Architecture::Cnn { channels: [4, 8] };
	let first = train(cnn.clone(), 20, &store);
	assert_eq!(first, train(cnn, 20, &store));
	assert_eq!(format!("{:?}", first[0].weights_digest), GOLDEN_CNN_WEIGHTS);
}

const GOLDEN_CNN_WEIGHTS: &str =
	"0x8ecbda41dff8fa79dddf44fd1f6f9d826b0a1d7e3a580eefd5e705eeeab4f8be";

#[test]
fn char_transformer_learns_its_text_deterministically() {
	let (_dir, store) = store();
	let text = "the chain keeps the commitments; the trainer keeps the weights. ".repeat(8);
	let corpus = tessera_trainer::data::from_texts([text.as_bytes()], 16).unwrap();
	let architecture = Architecture::CharTransformer { context: 16, width: 32, layers: 1 };
	let hyper = HyperParameters {
		learning_rate: 0.05,
		batch_size: 8,
		steps: 40,
		checkpoint_every: 20,
		seed: 3,
		optimizer: Optimizer::Sgd,
	};
	let run = || {
		Session::start(architecture.clone(), &corpus, hyper.clone(), Backend::Reference, &store)
			.unwrap()
			.run_until(40, |_| {})
			.unwrap()
	};
	let first = run();
	assert_eq!(first, run());
	assert!(first[1].mean_loss < first[0].mean_loss, "{first:?}");
	assert_eq!(format!("{:?}", first[1].weights_digest), GOLDEN_TRANSFORMER_WEIGHTS);
}

const GOLDEN_TRANSFORMER_WEIGHTS: &str =
	"0x794cc740dbdc1fe11ad3bc282bc439bdd745978eb9a37e66be14fc8df6b5a871";
