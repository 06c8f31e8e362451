//! `tessera-trainer`: train, re-execute segments, compute CIDs and report hardware from the
//! command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use tessera_primitives::digest::H256;
use tessera_trainer::{
	aggregate::{fed_avg, RoundShape, Update},
	api,
	backend::Backend,
	data::{Builtin, Dataset, DatasetRef},
	hwinfo::HardwareReport,
	model::Architecture,
	optim::{AdamConstants, Optimizer},
	state::StartState,
	store::{self, ContentStore},
	train::{HyperParameters, Session, StepReport},
};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
	/// Where the content store lives.
	#[arg(long, global = true, default_value = ".tessera-store")]
	store: PathBuf,
	/// Threads for the reference backend's matrix products (default: one per core). They
	/// split the work by output, so the count changes the speed, never a digest.
	#[arg(long, global = true)]
	threads: Option<std::num::NonZeroUsize>,
	/// An IPFS daemon's RPC API (e.g. `http://127.0.0.1:5001`) that backs the store.
	#[cfg(feature = "kubo")]
	#[arg(long, global = true)]
	kubo_api: Option<String>,
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Trains a model and prints its commitments as JSON lines.
	Train {
		#[command(flatten)]
		job: JobArgs,
		/// Writes the loss curve to this SVG file.
		#[arg(long)]
		plot: Option<PathBuf>,
	},
	/// Re-executes steps `from..to` from a committed training state and prints the
	/// commitments, for comparison with a replica's.
	Verify {
		#[command(flatten)]
		job: JobArgs,
		/// The training state committed after `from` steps.
		#[arg(long)]
		state: String,
		/// The weights digest committed for that state (`0x`-prefixed hex); a state whose
		/// weights hash otherwise is refused.
		#[arg(long)]
		digest: H256,
		/// Steps completed in that state.
		#[arg(long)]
		from: u64,
		/// The step to re-execute up to.
		#[arg(long)]
		to: u64,
	},
	/// Prints the CID `ipfs add --cid-version=1 --raw-leaves` gives a file; `--add` also
	/// stores and pins it.
	Cid {
		/// The file.
		file: PathBuf,
		/// Store and pin the file.
		#[arg(long)]
		add: bool,
	},
	/// Averages trained states (FedAvg, weighted by samples) and prints the result.
	Aggregate {
		#[command(flatten)]
		job: JobArgs,
		/// `STATE_CID:SAMPLES` for each contribution.
		#[arg(long = "update", required = true, value_parser = parse_update)]
		updates: Vec<Update>,
	},
	/// Prints the hardware report and its hash (the node's `hw_hash`).
	Hwinfo,
	/// Prints a built-in dataset as a CSV table, which `cid --add` stores for jobs to name.
	Export {
		/// The dataset.
		#[arg(long, value_enum)]
		dataset: Builtin,
	},
	/// Serves the control API the off-chain worker calls and, with `--public-listen`, the
	/// content other trainers fetch.
	Serve {
		/// Where the control API listens (jobs, verification, aggregation, uploads, gc,
		/// fetches). Beyond loopback it needs a token.
		#[arg(long, default_value = "127.0.0.1:7070")]
		listen: std::net::SocketAddr,
		/// Where the public listener serves content by CID and nothing else: the URL to
		/// publish with `nodeRegistry.setEndpoint`, e.g. `0.0.0.0:7071`.
		#[arg(long)]
		public_listen: Option<std::net::SocketAddr>,
		/// The bearer token the control API requires (`Authorization: Bearer …`); required
		/// when `--listen` is not a loopback address. Prefer the environment variable: a
		/// command line is visible to every user of the machine.
		#[arg(long, env = api::access::TOKEN_VARIABLE, hide_env_values = true)]
		control_token: Option<String>,
		/// A host name the control API is reached by, beside IP addresses and `localhost`
		/// (repeatable). Requests naming any other host are refused.
		#[arg(long = "control-host")]
		control_hosts: Vec<String>,
		/// A web origin whose pages may read the control API, e.g. the dashboard's
		/// `http://127.0.0.1:8080` (repeatable). Requests from other pages are refused.
		#[arg(long = "allow-origin")]
		allow_origins: Vec<String>,
		/// The memory, in MiB, that the jobs, re-executions and aggregations admitted at once
		/// may hold by their estimates (a quarter of it kept for re-executions and
		/// aggregations, the chain's duties); more is refused with `503 memory_full` until
		/// some ends. Default: half the machine's memory.
		#[arg(long)]
		memory_budget_mib: Option<u64>,
		/// Reports every commitment with a wrong weights digest, as a cheating node would.
		/// Only for demonstrating and testing verification: the chain slashes such a node.
		#[arg(long)]
		wrong_digests: bool,
	},
}

fn parse_update(text: &str) -> Result<Update, String> {
	let (state_cid, samples) = text.split_once(':').ok_or("expected STATE_CID:SAMPLES")?;
	let samples = samples.parse().map_err(|_| format!("{samples:?} is not a sample count"))?;
	Ok(Update { state_cid: state_cid.to_owned(), samples })
}

#[derive(clap::Args)]
struct JobArgs {
	/// A built-in dataset.
	#[arg(long, value_enum, default_value = "digits", conflicts_with = "dataset_cid")]
	dataset: Builtin,
	/// Content in the store: a CSV table, or UTF-8 text for a transformer.
	#[arg(long)]
	dataset_cid: Option<String>,
	/// `mlp`, `cnn` or `transformer` (a character-level transformer).
	#[arg(long, default_value = "mlp")]
	model: String,
	/// Hidden layer widths of an MLP, the two channel counts of a CNN, or a transformer's
	/// context, width and layers.
	#[arg(long, value_delimiter = ',', default_value = "64")]
	widths: Vec<usize>,
	#[arg(long, default_value_t = 0.1)]
	learning_rate: f64,
	#[arg(long, default_value_t = 32)]
	batch_size: usize,
	#[arg(long, default_value_t = 500)]
	steps: u64,
	/// Steps between commitments.
	#[arg(long, default_value_t = 100)]
	checkpoint_every: u64,
	#[arg(long, default_value_t = 0)]
	seed: u64,
	#[arg(long, value_enum, default_value = "reference")]
	backend: Backend,
	/// How the weights follow their gradients.
	#[arg(long, value_enum, default_value = "sgd")]
	optimizer: OptimizerKind,
	/// Adam's β₁.
	#[arg(long, default_value_t = 0.9)]
	beta1: f64,
	/// Adam's β₂.
	#[arg(long, default_value_t = 0.999)]
	beta2: f64,
	/// Adam's ε.
	#[arg(long, default_value_t = 1e-8)]
	epsilon: f64,
	/// Adam's weight decay λ: added to the gradient (adam) or applied to the weights (adamw).
	#[arg(long, default_value_t = 0.0)]
	weight_decay: f64,
}

/// The optimisers a job may name (`tessera_trainer::optim`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum OptimizerKind {
	Sgd,
	Adam,
	Adamw,
}

impl JobArgs {
	fn architecture(&self) -> anyhow::Result<Architecture> {
		match (self.model.as_str(), self.widths.as_slice()) {
			("mlp", hidden) => Ok(Architecture::Mlp { hidden: hidden.to_vec() }),
			("cnn", [first, second]) => Ok(Architecture::Cnn { channels: [*first, *second] }),
			("cnn", _) => anyhow::bail!("a CNN takes two channel counts, e.g. --widths 8,16"),
			("transformer", [context, width, layers]) => Ok(Architecture::CharTransformer {
				context: *context,
				width: *width,
				layers: *layers,
			}),
			("transformer", _) => anyhow::bail!(
				"a transformer takes context, width and layers, e.g. --widths 32,64,2"
			),
			(other, _) => anyhow::bail!("unknown model {other:?}: use mlp, cnn or transformer"),
		}
	}

	fn dataset(&self, store: &ContentStore) -> anyhow::Result<Dataset> {
		let reference = match &self.dataset_cid {
			None => DatasetRef::Builtin(self.dataset),
			Some(cid) => DatasetRef::Cid(cid.clone()),
		};
		Ok(reference.load(&self.architecture()?, store)?)
	}

	fn hyper_parameters(&self) -> HyperParameters {
		HyperParameters {
			learning_rate: self.learning_rate,
			batch_size: self.batch_size,
			steps: self.steps,
			checkpoint_every: self.checkpoint_every,
			seed: self.seed,
			optimizer: self.optimizer(),
		}
	}

	fn optimizer(&self) -> Optimizer {
		let constants = AdamConstants {
			beta1: self.beta1,
			beta2: self.beta2,
			epsilon: self.epsilon,
			weight_decay: self.weight_decay,
		};
		match self.optimizer {
			OptimizerKind::Sgd => Optimizer::Sgd,
			OptimizerKind::Adam => Optimizer::Adam(constants),
			OptimizerKind::Adamw => Optimizer::AdamW(constants),
		}
	}
}

impl Cli {
	fn open_store(&self) -> anyhow::Result<ContentStore> {
		let store = ContentStore::open(&self.store)?;
		#[cfg(feature = "kubo")]
		let store = match &self.kubo_api {
			Some(api) => store.with_kubo(tessera_trainer::store::kubo::Kubo::new(api.clone())),
			None => store,
		};
		Ok(store)
	}
}

/// Training frees and allocates the same large activation buffers every step. glibc's malloc
/// serves blocks above 128 KiB with fresh `mmap`s and gives freed memory back to the kernel, so
/// every step paid page faults and zeroing for memory it had just returned: more than half the
/// time of a small CNN's step. Raising both thresholds keeps that memory in the process.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
	// SAFETY: `mallopt` only sets two allocator parameters, before any other thread starts.
	unsafe {
		libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
		libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
	}
}

fn main() -> anyhow::Result<()> {
	#[cfg(all(target_os = "linux", target_env = "gnu"))]
	keep_freed_memory();
	let cli = Cli::parse();
	if let Some(threads) = cli.threads {
		rayon::ThreadPoolBuilder::new()
			.num_threads(threads.get())
			.build_global()
			.context("starting the kernel threads")?;
	}
	match &cli.command {
		Command::Train { job, plot } => {
			let store = cli.open_store()?;
			let dataset = job.dataset(&store)?;
			let mut session = Session::start(
				job.architecture()?,
				&dataset,
				job.hyper_parameters(),
				job.backend,
				&store,
			)?;
			let (losses, commitments) = run(&mut session, job.steps)?;
			print_commitments(&commitments)?;
			if let Some(path) = plot {
				plot_losses(&losses, &path)?;
				eprintln!("loss curve written to {}", path.display());
			}
		}
		Command::Verify { job, state, digest, from, to } => {
			let store = cli.open_store()?;
			let dataset = job.dataset(&store)?;
			let mut session = Session::resume(
				job.architecture()?,
				&dataset,
				job.hyper_parameters(),
				job.backend,
				&store,
				&StartState { state_cid: state.clone(), weights_digest: *digest },
				*from,
			)?;
			print_commitments(&run(&mut session, *to)?.1)?;
		}
		Command::Cid { file, add } => {
			let content =
				std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
			let cid = if *add { cli.open_store()?.put(&content)? } else { store::cid_of(&content) };
			println!("{cid}");
		}
		Command::Aggregate { job, updates } => {
			let store = cli.open_store()?;
			let dataset = job.dataset(&store)?;
			let architecture = job.architecture()?;
			let shape = RoundShape {
				architecture: &architecture,
				inputs: dataset.num_features,
				image: dataset.image,
				classes: dataset.num_classes,
			};
			let aggregate = fed_avg(&shape, &store, None, &updates, None)?;
			println!("{}", serde_json::to_string(&aggregate)?);
		}
		Command::Export { dataset } => {
			let table = dataset.load().to_csv().context("only tables export as CSV")?;
			print!("{table}");
		}
		Command::Serve {
			listen,
			public_listen,
			control_token,
			control_hosts,
			allow_origins,
			memory_budget_mib,
			wrong_digests,
		} => {
			let access = api::ControlAccess::for_listener(*listen, control_token.clone())?
				.allowing_hosts(control_hosts.iter().cloned())
				.allowing_origins(allow_origins)?;
			let store = cli.open_store()?;
			let conduct = if *wrong_digests {
				eprintln!("reporting wrong weights digests, as asked (--wrong-digests)");
				api::Conduct::WrongDigests
			} else {
				api::Conduct::Honest
			};
			eprintln!("serving the control API on http://{listen}/v1");
			if let Some(public) = public_listen {
				eprintln!("serving content by CID on http://{public}/v1/blobs");
			}
			let budget = memory_budget_mib.map_or_else(api::MemoryBudget::of_this_machine, |mib| {
				api::MemoryBudget::new(mib.saturating_mul(1 << 20))
			});
			eprintln!(
				"memory budget: {} MiB, {} MiB of it kept for the chain's duties",
				budget.total >> 20,
				budget.for_duties >> 20
			);
			let service = api::Service::new(store, conduct).with_memory(budget);
			let listen = api::Listeners { control: *listen, public: *public_listen };
			tokio::runtime::Runtime::new()?.block_on(api::serve(service, access, listen))?;
		}
		Command::Hwinfo => {
			let report = HardwareReport::detect();
			println!("{}", serde_json::to_string_pretty(&report)?);
			println!("hw_hash: {:?}", report.hash());
		}
	}
	Ok(())
}

fn run(
	session: &mut Session,
	until: u64,
) -> anyhow::Result<(Vec<f32>, Vec<tessera_trainer::train::Commitment>)> {
	let bar = ProgressBar::new(until.saturating_sub(session.step()));
	bar.set_style(
		ProgressStyle::with_template("{bar:40} {pos}/{len} steps, {per_sec}, loss {msg}")
			.expect("the template is valid"),
	);
	let mut losses = Vec::new();
	let started = std::time::Instant::now();
	let commitments = session.run_until(until, |StepReport { loss, .. }| {
		losses.push(loss);
		bar.set_message(format!("{loss:.4}"));
		bar.inc(1);
	})?;
	bar.finish();
	let seconds = started.elapsed().as_secs_f64();
	let samples: u64 = commitments.iter().map(|commitment| commitment.samples).sum();
	if let Some(last) = commitments.last() {
		eprintln!(
			"trained {samples} samples in {seconds:.3} s: {:.0} samples/s, last segment's mean loss {:.6}",
			samples as f64 / seconds,
			last.mean_loss
		);
	}
	Ok((losses, commitments))
}

fn print_commitments(commitments: &[tessera_trainer::train::Commitment]) -> anyhow::Result<()> {
	for commitment in commitments {
		println!("{}", serde_json::to_string(commitment)?);
	}
	Ok(())
}

fn plot_losses(losses: &[f32], path: &PathBuf) -> anyhow::Result<()> {
	use plotters::prelude::*;
	let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
	root.fill(&WHITE)?;
	let top = losses.iter().copied().fold(0.0f32, f32::max) * 1.05;
	let mut chart = ChartBuilder::on(&root)
		.margin(20)
		.x_label_area_size(30)
		.y_label_area_size(50)
		.build_cartesian_2d(0..losses.len(), 0.0f32..top.max(f32::EPSILON))?;
	chart.configure_mesh().x_desc("step").y_desc("loss").draw()?;
	chart.draw_series(LineSeries::new(
		losses.iter().enumerate().map(|(step, loss)| (step, *loss)),
		&BLUE,
	))?;
	root.present()?;
	Ok(())
}
