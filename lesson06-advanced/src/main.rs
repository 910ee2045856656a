//! `cargo run -p lesson06-advanced [-- --data-dir DIR]`: the engine in a SQL
//! REPL (`--kv` for the key-value commands); `… -- --serve`: on the
//! network, for Redis clients on `--resp-port` and PostgreSQL clients on
//! `--pg-port`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lesson02_kv::repl;
use lesson05_replication::engine::Engine;
use lesson05_replication::server::shutdown_signal;
use lesson05_replication::{Config, EngineConfig, EngineKind, Server};
use lesson06_advanced::pgwire;
use lesson06_advanced::server::{self, Options, Transactional};
use lesson06_advanced::session::Session;

/// Lesson 4's B+tree, with a page cache and MVCC transactions: BEGIN,
/// COMMIT, ROLLBACK, and Redis's MULTI, EXEC and WATCH. The open report
/// goes to standard error, so that in a pipe standard output holds exactly
/// one reply per command.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Where the store's file and its lock file live.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// Bytes per page, a power of two from 64 to 32768 (a file keeps the
    /// page size it was made with).
    #[arg(long, default_value_t = 4096)]
    page_size: usize,
    /// Pages the page cache holds (S3-FIFO).
    #[arg(long, default_value_t = 4096)]
    cache_pages: usize,
    /// Speak the key-value commands in the REPL (GET, SET, MULTI, …)
    /// instead of SQL.
    #[arg(long)]
    kv: bool,
    /// Serve over the network instead of starting a REPL.
    #[arg(long)]
    serve: bool,
    /// With --serve: the port for Redis clients (RESP); 0 picks a free one.
    #[arg(long, default_value_t = 6380)]
    resp_port: u16,
    /// With --serve: the port for PostgreSQL clients (psql); 0 picks a
    /// free one. (PostgreSQL's own is 5432.)
    #[arg(long, default_value_t = 5433)]
    pg_port: u16,
    /// With --serve: a password PostgreSQL clients must send.
    #[arg(long)]
    pg_password: Option<String>,
    /// With --serve: the address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
}

const NAME: &str = "lesson06-advanced";

fn main() -> ExitCode {
    let args = Args::parse();
    if !(64..=32768).contains(&args.page_size) || !args.page_size.is_power_of_two() {
        eprintln!("{NAME}: --page-size must be a power of two from 64 to 32768");
        return ExitCode::from(2);
    }
    let options = Options {
        data_dir: args.data_dir.clone(),
        page_size: args.page_size,
        cache_pages: args.cache_pages.max(1),
    };
    let opened = match server::open(&options) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("{NAME}: cannot open {}: {e}", args.data_dir.display());
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{}", opened.report);
    if args.kv && !args.serve {
        let mut session = Session::new(opened.db.clone());
        return repl::run(&mut session, NAME, BANNER);
    }
    if !args.serve {
        let mut session = lesson06_advanced::sql::Session::new(opened.db.clone());
        return repl::run(&mut session, NAME, SQL_BANNER);
    }
    serve(&args, opened)
}

const BANNER: &str = "lesson06-advanced: a B+tree with a page cache and MVCC transactions. \
                      Type HELP for commands, QUIT to leave.";

const SQL_BANNER: &str = "lesson06-advanced: SQL over MVCC transactions. End each statement with ';'. \
                          \\bookshop loads a sample dataset, \\d lists the tables, \\d NAME \
                          describes one, \\q quits.";

async fn listen(bind: &str, port: u16) -> Result<tokio::net::TcpListener, String> {
    let address = format!("{bind}:{port}");
    tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))
}

fn serve(args: &Args, opened: server::Opened) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{NAME}: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Lesson 5's settings; its engine settings only name the directory in
    // INFO, since the engine is ours.
    let config = Config::new(EngineConfig {
        kind: EngineKind::Btree,
        data_dir: args.data_dir.clone(),
        fsync: lesson03_persistence::FsyncPolicy::Always,
    });
    let engine = Engine::new(Box::new(Transactional::new(opened.db.clone())));
    let pg_config =
        pgwire::Config { password: args.pg_password.clone(), ..pgwire::Config::default() };
    let result = runtime.block_on(async {
        let resp = listen(&args.bind, args.resp_port).await?;
        let pg = listen(&args.bind, args.pg_port).await?;
        eprintln!(
            "ready: Redis clients on {}, PostgreSQL clients on {}; Ctrl-C to stop",
            resp.local_addr().map_err(|e| e.to_string())?,
            pg.local_addr().map_err(|e| e.to_string())?,
        );
        // One signal stops both servers.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let until = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let (resp, pg) = tokio::join!(
            Server::new(engine, config).serve(resp, until(stopped.clone())),
            pgwire::serve(pg, opened.db.clone(), pg_config, until(stopped)),
        );
        resp.and(pg)
    });
    match result {
        Ok(()) => {
            eprintln!("stopped: every committed transaction is on disk");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{NAME}: {e}");
            ExitCode::FAILURE
        }
    }
}
