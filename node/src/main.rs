//! `hiss-node --listen 127.0.0.1:9000 --data DIR`: the node's own command
//! (`hissc node` takes the same arguments); [`hiss_node::serve`] does the work.

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "hiss-node",
    version,
    about = "An S3-compatible HISS buffer node that runs kernels on the data as it arrives"
)]
struct Cli {
    #[command(flatten)]
    serve: hiss_node::serve::ServeArgs,
}

fn main() -> ExitCode {
    hiss_node::serve::main(Cli::parse().serve)
}
