//! # tessera-trainer
//!
//! The off-chain trainer that Tessera's off-chain workers hand training work to: it trains
//! deterministically on burn ([`train`], with the optimisers of [`optim`]), averages updates ([`aggregate`]), keeps
//! checkpoints, states and datasets in an IPFS-compatible content store ([`store`]),
//! reports the hardware a node attests ([`hwinfo`]), and serves all of it over HTTP
//! ([`api`]) within bounds on what one request may cost ([`limits`]).
//!
//! It trains three kinds of network ([`model`]): an MLP, a small CNN (two 3×3 convolutions
//! with max-pooling) and a byte-level causal transformer (pre-norm blocks, single-head
//! attention); on the digits, iris and breast-cancer sets compiled in from `smartcore`, CSV
//! tables and UTF-8 text by CID, or a job's inline texts ([`data`]). What each backend
//! promises is in [`backend`]; what a training run commits to, in [`train`].

pub mod aggregate;
pub mod api;
pub mod backend;
pub mod data;
pub mod hwinfo;
pub mod limits;
pub mod model;
pub mod optim;
pub mod state;
pub mod store;
pub mod train;
