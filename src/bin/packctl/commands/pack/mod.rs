//! `packctl pack …`.

pub mod build;
pub mod init;
pub mod inspect;
pub mod ls;
pub mod pull;
pub mod push;
pub mod validate;
