//! `packctl pack …`.

pub mod airgap;
pub mod build;
pub mod copy;
pub mod delete;
pub mod init;
pub mod inspect;
pub mod ls;
pub mod pull;
pub mod push;
pub mod referrers;
pub mod sign;
pub mod tag;
pub mod validate;
