//! Tests of the command line's parts (zoo-cli's library has no unit tests of its own: a
//! unit-test build of it would instantiate the toolkit for every model and backend a second
//! time, minutes of CI; these link the one build).

mod bench_epoch_table;
mod bench_infer_table;
mod bench_table;
mod compare_table;
mod configs_doc;
mod download;
mod plots;
mod readme_commands;
mod registry;
mod report;
