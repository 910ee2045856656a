//! `cargo run -p lesson05-replication -- server --port 6380 --data-dir DIR`:
//! the store on the network, for redis-cli and friends; `… -- cluster
//! --shards 3 --replicas 2`: a replicated cluster of them on this machine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// The server's allocator. A reply of many elements (`LRANGE` of 600) is
/// as many small allocations and frees, and glibc's malloc spent a quarter
/// of the server's time on them. Redis links jemalloc for the same reason;
/// mimalloc is its like, and builds with nothing but a C compiler.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use lesson03_persistence::FsyncPolicy;
use lesson05_replication::cluster::local::LocalCluster;
use lesson05_replication::replica::WriteQuorum;
use lesson05_replication::server::shutdown_signal;
use lesson05_replication::{Config, EngineConfig, EngineKind};

/// Lessons 2–4's stores, spoken to over RESP like Redis.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve one store until Ctrl-C or SIGTERM.
    Server(ServerArgs),
    /// Run a cluster on 127.0.0.1, every shard replicated, until Ctrl-C or
    /// SIGTERM.
    Cluster(ClusterArgs),
}

#[derive(clap::Args)]
struct ClusterArgs {
    /// Shards: the 16,384 slots are split evenly among them.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
    shards: u16,
    /// Replicas of each shard besides its leader (Redis's
    /// `--cluster-replicas`).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=8))]
    replicas: u16,
    /// The first node's client port; the others follow, and each node's
    /// bus port is its client port plus 10000.
    #[arg(long, default_value_t = 7000)]
    port: u16,
    /// Where the nodes keep their journals (one directory each).
    #[arg(long, default_value = "./cluster-data")]
    data_dir: PathBuf,
    /// When writes are acknowledged: `majority` or `1` (the leader alone).
    #[arg(long, value_enum, default_value_t = WriteQuorum::Majority)]
    quorum: WriteQuorum,
}

#[derive(clap::Args)]
struct ServerArgs {
    /// The address to listen on: only this machine, unless you say otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// The port (Redis's is 6379; 0 picks a free one).
    #[arg(long, default_value_t = 6380)]
    port: u16,
    /// Which store to serve.
    #[arg(long, value_enum, default_value_t = EngineKind::Durable)]
    engine: EngineKind,
    /// Where the store keeps its files.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// When the durable store fsyncs its log.
    #[arg(long, value_enum, default_value_t = FsyncPolicy::EverySec)]
    fsync: FsyncPolicy,
    /// Connections served at once.
    #[arg(long, default_value_t = 10_000)]
    maxclients: usize,
    /// Close a client idle for this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    timeout: u64,
    /// Require `AUTH <password>` first.
    #[arg(long)]
    requirepass: Option<String>,
    /// Threads that run connections. 1 (the default) runs them all on one
    /// thread, as Redis does: measured faster on a small machine, see the
    /// book. The syncer and the durable store's flusher have threads of
    /// their own either way.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
}

fn main() -> ExitCode {
    let args = match Args::parse().command {
        Command::Server(args) => args,
        Command::Cluster(args) => return cluster(args),
    };
    let engine = EngineConfig { kind: args.engine, data_dir: args.data_dir, fsync: args.fsync };
    let mut config = Config::new(engine);
    config.max_clients = args.maxclients;
    config.idle_timeout = (args.timeout > 0).then(|| Duration::from_secs(args.timeout));
    config.requirepass = args.requirepass.map(String::into_bytes);

    // ANCHOR: runtime
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(args.threads))
            .enable_all()
            .build()
    };
    // ANCHOR_END: runtime
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lesson05-replication: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let address = format!("{}:{}", args.bind, args.port);
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("ready: listening on {local}; Ctrl-C to stop");
        lesson05_replication::run(listener, config, shutdown_signal()).await
    });
    match result {
        Ok(()) => {
            eprintln!("stopped: every acknowledged write is on disk");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lesson05-replication: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The `cluster` subcommand: start the nodes, print the layout once every
/// shard has a leader, stop them all on Ctrl-C.
fn cluster(args: ClusterArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("lesson05-replication: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let per_shard = usize::from(args.replicas) + 1;
        let shards = usize::from(args.shards);
        let cluster =
            LocalCluster::start(shards, per_shard, args.port, args.data_dir, args.quorum).await?;
        let start = std::time::Instant::now();
        while !cluster.settled() && start.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        print!("{}", cluster.describe());
        eprintln!(
            "ready: {} nodes; try redis-cli -c -p {}; Ctrl-C to stop",
            cluster.len(),
            cluster.address(0).port()
        );
        shutdown_signal().await;
        cluster.stop().await
    });
    match result {
        Ok(()) => {
            eprintln!("stopped: every acknowledged write is in its shard's journals");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lesson05-replication: {e}");
            ExitCode::FAILURE
        }
    }
}
