//! The engine behind lesson 5's server: transactions per client, money
//! that never appears or vanishes under concurrent transfers, and redis-py's
//! transactions unchanged.

#[path = "../../lesson05-replication/tests/common/tools.rs"]
pub mod tools;

use std::net::SocketAddr;
use std::path::Path;

use lesson05_replication::client::Client;
use lesson05_replication::engine::Engine;
use lesson05_replication::rng::Rng;
use lesson05_replication::{Config, EngineConfig, EngineKind, Frame, Server};
use lesson06_advanced::server::{self, Options, Transactional};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<Result<(), String>>,
    opened: server::Opened,
}

async fn start(dir: &Path) -> Running {
    let options = Options { data_dir: dir.to_path_buf(), page_size: 4096, cache_pages: 256 };
    let opened = server::open(&options).unwrap();
    let engine = Engine::new(Box::new(Transactional::new(opened.db.clone())));
    let config = Config::new(EngineConfig {
        kind: EngineKind::Btree,
        data_dir: dir.to_path_buf(),
        fsync: lesson03_persistence::FsyncPolicy::Always,
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(Server::new(engine, config).serve(listener, async {
        let _ = stopped.await;
    }));
    Running { addr, stop, handle, opened }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.handle.await.unwrap().unwrap();
        drop(self.opened); // the directory's lock
    }
}

fn bulk_number(frame: &Frame) -> i64 {
    match frame {
        Frame::Bulk(bytes) => std::str::from_utf8(bytes).unwrap().parse().unwrap(),
        other => panic!("expected a number, got {other:?}"),
    }
}

async fn ok(client: &mut Client, args: &[&str]) -> Frame {
    let reply = client.call(args).await.unwrap();
    assert!(!matches!(reply, Frame::Error(_)), "{args:?}: {reply:?}");
    reply
}

const ACCOUNTS: u64 = 8;
const START: i64 = 100;

/// One transfer of `amount` from `from` to `to`, retried until it commits;
/// Redis's way (WATCH, read, MULTI, EXEC) or SQL's (BEGIN serializable,
/// read, write, COMMIT). Returns whether it moved the money (the balance
/// may be short) and how many tries failed.
async fn transfer(
    client: &mut Client,
    sql: bool,
    from: &str,
    to: &str,
    amount: i64,
) -> (bool, u32) {
    for retries in 0..200 {
        if sql {
            ok(client, &["BEGIN", "ISOLATION", "serializable"]).await;
        } else {
            ok(client, &["WATCH", from, to]).await;
        }
        let have = bulk_number(&ok(client, &["GET", from]).await);
        let other = bulk_number(&ok(client, &["GET", to]).await);
        if have < amount {
            ok(client, &[if sql { "ROLLBACK" } else { "UNWATCH" }]).await;
            return (false, retries);
        }
        let (new_from, new_to) = ((have - amount).to_string(), (other + amount).to_string());
        if sql {
            ok(client, &["SET", from, &new_from]).await;
            ok(client, &["SET", to, &new_to]).await;
            match client.call(&["COMMIT"]).await.unwrap() {
                Frame::Simple(s) if s == "OK" => return (true, retries),
                Frame::Error(e) if e == "ERR serialization failure, retry" => continue,
                other => panic!("COMMIT: {other:?}"),
            }
        } else {
            ok(client, &["MULTI"]).await;
            ok(client, &["SET", from, &new_from]).await;
            ok(client, &["SET", to, &new_to]).await;
            match client.call(&["EXEC"]).await.unwrap() {
                Frame::Array(replies) if replies.len() == 2 => return (true, retries),
                Frame::NullArray => continue,
                other => panic!("EXEC: {other:?}"),
            }
        }
    }
    panic!("a transfer failed 200 times");
}

async fn balances(client: &mut Client) -> Vec<i64> {
    let mut out = Vec::new();
    for account in 0..ACCOUNTS {
        out.push(bulk_number(&ok(client, &["GET", &format!("acct{account}")]).await));
    }
    out
}

// ANCHOR: bank
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transfers_keep_the_total_and_every_commit_survives_a_restart() {
    const CLIENTS: u64 = 8;
    const TRANSFERS: u64 = 30;
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let mut setup = Client::connect(running.addr).await.unwrap();
    for account in 0..ACCOUNTS {
        ok(&mut setup, &["SET", &format!("acct{account}"), &START.to_string()]).await;
    }
    // Half the clients use WATCH/MULTI/EXEC, half BEGIN/COMMIT.
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let addr = running.addr;
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await.unwrap();
            let mut rng = Rng::new(c);
            let mut moved = vec![0i64; ACCOUNTS as usize];
            let mut retries = 0;
            for _ in 0..TRANSFERS {
                let from = rng.below(ACCOUNTS);
                let to = (from + 1 + rng.below(ACCOUNTS - 1)) % ACCOUNTS;
                let amount = 1 + rng.below(30) as i64;
                let (from_key, to_key) = (format!("acct{from}"), format!("acct{to}"));
                let (done, failed) =
                    transfer(&mut client, c % 2 == 0, &from_key, &to_key, amount).await;
                retries += failed;
                if done {
                    moved[from as usize] -= amount;
                    moved[to as usize] += amount;
                }
            }
            (moved, retries)
        }));
    }
    let mut expected = vec![START; ACCOUNTS as usize];
    let mut retries = 0;
    for task in tasks {
        let (moved, failed) = task.await.unwrap();
        retries += failed;
        for (balance, delta) in expected.iter_mut().zip(moved) {
            *balance += delta;
        }
    }
    eprintln!("{} transfers, {retries} retried after a conflict", CLIENTS * TRANSFERS);
    let now = balances(&mut setup).await;
    assert_eq!(now.iter().sum::<i64>(), START * ACCOUNTS as i64, "money appeared or vanished");
    assert_eq!(now, expected, "each balance is the start plus the committed transfers");
    assert!(now.iter().all(|&b| b >= 0), "an account went negative: {now:?}");
    drop(setup);
    running.stop().await;
    // Every committed transfer is on disk.
    let running = start(dir.path()).await;
    let mut client = Client::connect(running.addr).await.unwrap();
    assert_eq!(balances(&mut client).await, expected);
    drop(client);
    running.stop().await;
}
// ANCHOR_END: bank

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_transaction_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let mut a = Client::connect(running.addr).await.unwrap();
    ok(&mut a, &["BEGIN"]).await;
    ok(&mut a, &["SET", "k", "uncommitted"]).await;
    assert_eq!(running.opened.db.running(), 1);
    drop(a);
    let start_wait = std::time::Instant::now();
    while running.opened.db.running() != 0 {
        assert!(start_wait.elapsed().as_secs() < 10, "the transaction was never rolled back");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let mut b = Client::connect(running.addr).await.unwrap();
    assert_eq!(b.call(&["GET", "k"]).await.unwrap(), Frame::Null);
    // INFO shows the transactions and the page cache.
    let Frame::Bulk(info) = ok(&mut b, &["INFO"]).await else { panic!("INFO is text") };
    let info = String::from_utf8(info).unwrap();
    for field in ["rollbacks:1", "running_transactions:0", "cache_policy:S3-FIFO"] {
        assert!(info.lines().any(|line| line == field), "INFO lacks {field}:\n{info}");
    }
    assert!(info.lines().any(|line| line.starts_with("cache_hits:")), "{info}");
    drop(b);
    running.stop().await;
}

const REDIS_PY: &str = r#"
# ANCHOR: redis_py_code
import sys, redis
port = int(sys.argv[1])
r = redis.Redis(port=port, decode_responses=True)
other = redis.Redis(port=port, decode_responses=True)
r.set("a", 10)
r.set("b", 0)

# pipeline(transaction=True): MULTI, the commands, EXEC, in one round trip.
with r.pipeline(transaction=True) as p:
    p.decrby("a", 3).incrby("b", 3).get("a")
    assert p.execute() == [7, 3, "7"]

# The WATCH recipe from redis-py's README, with a conflict forced on the
# first try: the other client changes "a" between WATCH and EXEC.
tries = 0
def move_one(pipe):
    global tries
    tries += 1
    a, b = int(pipe.get("a")), int(pipe.get("b"))
    if tries == 1:
        other.incr("a")
    pipe.multi()
    pipe.set("a", a - 1)
    pipe.set("b", b + 1)
r.transaction(move_one, "a", "b")
assert tries == 2, tries
assert (r.get("a"), r.get("b")) == ("7", "4"), (r.get("a"), r.get("b"))

# A WatchError, raised by hand.
with r.pipeline() as p:
    p.watch("a")
    p.multi()
    other.set("a", 100)
    p.set("a", 0)
    try:
        p.execute()
        raise AssertionError("EXEC ran though a watched key changed")
    except redis.WatchError:
        pass
assert r.get("a") == "100"
print("redis-py", redis.__version__, "transactions ok")
# ANCHOR_END: redis_py_code
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_pipelines_and_the_watch_recipe_work_unchanged() {
    let python = tools::venv_python();
    let python = python.to_string_lossy();
    let probe = ["-c", "import redis; assert redis.__version__[0] == '8'"];
    let Some(python) = tools::tool(&python, &probe) else { return };
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path()).await;
    let args = vec!["-c".into(), REDIS_PY.into(), running.addr.port().to_string()];
    let output = tools::run(&python, args, "").await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("transactions ok"), "{stdout}");
    running.stop().await;
}

/// Transfers per second and retries through the server, with fsync per
/// commit, at low and high contention. A measurement, not a check;
/// `cargo x measure --set lesson06-transactions` runs it for the book:
///
/// ```console
/// $ cargo test --release -p lesson06-advanced --test server -- --ignored --nocapture
/// ```
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run it with --ignored --nocapture"]
async fn transfer_throughput_by_contention() {
    const CLIENTS: u64 = 8;
    const TRANSFERS: u64 = 100;
    for accounts in [10_000u64, 4] {
        for sql in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let running = start(dir.path()).await;
            let mut setup = Client::connect(running.addr).await.unwrap();
            ok(&mut setup, &["MULTI"]).await;
            for account in 0..accounts {
                ok(&mut setup, &["SET", &format!("acct{account}"), "1000"]).await;
            }
            ok(&mut setup, &["EXEC"]).await;
            let started = std::time::Instant::now();
            let tasks: Vec<_> = (0..CLIENTS)
                .map(|c| {
                    let addr = running.addr;
                    tokio::spawn(async move {
                        let mut client = Client::connect(addr).await.unwrap();
                        let mut rng = Rng::new(c);
                        let mut retries = 0;
                        for _ in 0..TRANSFERS {
                            let from = rng.below(accounts);
                            let to = (from + 1 + rng.below(accounts - 1)) % accounts;
                            let (from, to) = (format!("acct{from}"), format!("acct{to}"));
                            retries += transfer(&mut client, sql, &from, &to, 1).await.1;
                        }
                        retries
                    })
                })
                .collect();
            let mut retries = 0;
            for task in tasks {
                retries += task.await.unwrap();
            }
            let elapsed = started.elapsed().as_secs_f64();
            let done = (CLIENTS * TRANSFERS) as f64;
            // `cargo x measure` reads these lines into the book's table.
            let style = if sql { "sql" } else { "watch" };
            println!(
                "measure: server/{accounts}/{style}/transfers per second = {:.0}",
                done / elapsed
            );
            let retries = f64::from(retries) / done;
            println!("measure: server/{accounts}/{style}/retries per transfer = {retries:.2}");
            drop(setup);
            running.stop().await;
        }
    }
}
