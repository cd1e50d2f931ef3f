//! Integration tests: the built `iotpipe` binary against real services.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// A test tells what it is waiting for on stderr.
#![allow(clippy::print_stderr, clippy::print_stdout)]

#[path = "../common/mod.rs"]
mod common;

mod arm64;
mod assets;
mod athena_rules;
mod aws;
mod bad_input;
mod broker;
mod chaos;
mod cli;
mod compact;
mod config;
mod device;
mod doctor;
mod examples;
mod harness;
mod iot_policy;
mod lambda;
mod mqtt;
mod operate;
mod quicksight;
mod sense;
mod sink;
mod streams;
mod tls;
mod up;
