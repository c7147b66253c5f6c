//! `packctl pack …`.

pub mod init;
pub mod validate;
