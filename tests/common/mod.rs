//! Shared test plumbing: run the built binary in a clean environment, and start
//! real services (mosquitto, moto, kinesalite, the doubles) on free loopback
//! ports, stopped on drop.
//!
//! `scripts/test` installs the services and exports where they are:
//! `IOTPIPE_TEST_MOSQUITTO` (the broker binary), `IOTPIPE_TEST_VENV` (a venv
//! with moto, boto3 and duckdb) and `IOTPIPE_TEST_KINESALITE`. A missing
//! service fails the test loudly.

#![allow(dead_code)]

mod aws;
mod bin;
mod http;
mod mqtt;
mod python;
mod service;

pub use aws::*;
pub use bin::*;
pub use http::*;
pub use mqtt::*;
pub use python::*;
pub use service::*;
