//! # tessera-trainer
//!
//! The off-chain trainer that Tessera's off-chain workers hand training work to.
