//! The real Redis clients, unchanged, against our server: redis-cli
//! (one-shot, piped, and interactive in a terminal), redis-benchmark, and
//! redis-py 8 (its default RESP3, and `protocol=2`).
//!
//! Each test skips, saying why, where its tool is missing; `.ci/run`
//! installs the tools (`.ci/install-clients`) and sets
//! `WORKBOOK_REAL_CLIENTS=required`, which turns a skip into a failure.

mod common;

use std::process::Output;

use common::TestServer;
use common::tools::{self, run, tool, venv_python};

fn port(server: &TestServer) -> String {
    server.addr.port().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_one_shot_and_piped() {
    let Some(cli) = tool("redis-cli", &["--version"]) else { return };
    let server = common::start(|_| {}).await;
    let p = port(&server);
    let one_shot = |args: &[&str]| {
        let mut all = vec!["-p".to_string(), p.clone()];
        all.extend(args.iter().map(ToString::to_string));
        all
    };
    assert_eq!(stdout(&run(&cli, one_shot(&["SET", "greeting", "hello world"]), "").await), "OK\n");
    assert_eq!(stdout(&run(&cli, one_shot(&["GET", "greeting"]), "").await), "hello world\n");
    assert_eq!(stdout(&run(&cli, one_shot(&["INCRBY", "n", "5"]), "").await), "5\n");

    // Piped, redis-cli starts as its interactive mode does (COMMAND DOCS)
    // and sends each line as typed, lower case included.
    let script = "set k v\nget k\nincr n\nkeys *\nget nosuch\nnosuch command\n";
    let output = run(&cli, one_shot(&[]), script).await;
    assert_eq!(
        stdout(&output),
        "OK\nv\n6\ngreeting\nk\nn\n\nERR unknown command 'nosuch', with args beginning with: 'command' \n\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_interactive_in_a_terminal() {
    let Some(cli) = tool("redis-cli", &["--version"]) else { return };
    // `script` gives redis-cli a terminal, so it runs its real interactive
    // mode: prompts, quoted replies, hints from COMMAND DOCS.
    let Some(script) = tool("script", &["--version"]) else { return };
    let server = common::start(|_| {}).await;
    let command = format!("{cli} -p {}", port(&server));
    let args = vec!["-qec".to_string(), command, "/dev/null".to_string()];
    let output = run(&script, args, "set k \"hello world\"\nget k\nexists k nosuch\nquit\n").await;
    let text = stdout(&output);
    assert!(text.contains("\"hello world\""), "{text}");
    assert!(text.contains("(integer) 1"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{}>", port(&server))), "{text}");
}

// ANCHOR: benchmark
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_benchmark_runs_unchanged() {
    let Some(bench) = tool("redis-benchmark", &["--version"]) else { return };
    let server = common::start(|_| {}).await;
    for pipeline in ["1", "16"] {
        let args = ["-p", &port(&server), "-t", "set,get,ping", "-n", "2000", "-r", "1000"]
            .iter()
            .chain(&["-c", "8", "-P", pipeline, "-q"])
            .map(ToString::to_string)
            .collect();
        let text = stdout(&run(&bench, args, "").await);
        for test in ["PING_INLINE", "PING_MBULK", "SET", "GET"] {
            // Progress lines end in '\r'; the results in '\n'.
            let mut lines = text.split(['\r', '\n']).map(str::trim);
            let line =
                lines.find(|l| l.starts_with(&format!("{test}:")) && l.contains("per second"));
            assert!(
                line.is_some_and(|l| l.contains("requests per second")),
                "no {test} result with -P {pipeline}:\n{text}"
            );
        }
    }
    let mut client = server.client().await;
    let keys = client.call(&["DBSIZE"]).await.unwrap();
    assert!(
        matches!(keys, lesson05_replication::Frame::Integer(n) if n > 100 && n <= 1000),
        "redis-benchmark's SETs are in the store: {keys:?}"
    );
}
// ANCHOR_END: benchmark

/// redis-benchmark's default tests (Redis 7.0), in the order it runs them.
const DEFAULT_SUITE: &[&str] = &[
    "PING_INLINE",
    "PING_MBULK",
    "SET",
    "GET",
    "INCR",
    "LPUSH",
    "RPUSH",
    "LPOP",
    "RPOP",
    "SADD",
    "HSET",
    "SPOP",
    "ZADD",
    "ZPOPMIN",
    "LPUSH (needed to benchmark LRANGE)",
    "LRANGE_100 (first 100 elements)",
    "LRANGE_300 (first 300 elements)",
    "LRANGE_500 (first 500 elements)",
    "LRANGE_600 (first 600 elements)",
    "MSET (10 keys)",
];

/// redis-benchmark with no `-t` runs every test of its default list; it
/// stops at the first error reply (and fails), so a run that reports every
/// test is a run without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_benchmark_default_suite_runs_without_errors() {
    let Some(bench) = tool("redis-benchmark", &["--version"]) else { return };
    let server = common::start(|_| {}).await;
    let args = ["-p", &port(&server), "-n", "1000", "-c", "8", "-q"];
    let text = stdout(&run(&bench, args.map(String::from).to_vec(), "").await);
    assert!(!text.contains("Error"), "{text}");
    let results: Vec<&str> = text
        .split(['\r', '\n'])
        .filter(|l| l.contains("requests per second"))
        .filter_map(|l| l.trim().split_once(": "))
        .map(|(test, _)| test)
        .collect();
    assert_eq!(results, DEFAULT_SUITE, "{text}");
    // And the data is there. (SPOP and ZPOPMIN emptied `myset` and
    // `myzset`, whose keys are then gone, as in Redis.)
    let mut client = server.client().await;
    for (key, kind) in [("mylist", "list"), ("myhash", "hash"), ("myset", "none")] {
        let reply = client.call(&["TYPE", key]).await.unwrap();
        assert_eq!(reply, lesson05_replication::Frame::Simple(kind.into()), "{key}");
    }
    let length = client.call(&["LLEN", "mylist"]).await.unwrap();
    assert!(matches!(length, lesson05_replication::Frame::Integer(n) if n >= 600), "{length:?}");
}

/// What the redis-py tests run: every reply type the lesson's commands
/// give, through redis-py's own parsing.
const REDIS_PY: &str = r#"
import sys, redis
port, protocol, password = int(sys.argv[1]), sys.argv[2], sys.argv[3] or None
# "default": redis-py's own choice of protocol (RESP3 in redis-py 8).
options = {} if protocol == "default" else {"protocol": int(protocol)}
r = redis.Redis(port=port, password=password, decode_responses=True, **options)
assert r.connection_pool.get_connection().protocol in (2, 3, "2", "3")
assert r.ping() is True
assert r.set("greeting", "hello") is True
assert r.get("greeting") == "hello"
assert r.get("nosuch") is None
assert r.incr("n") == 1 and r.incrby("n", 9) == 10
assert r.set("temp", "x", ex=100) is True and 99 <= r.ttl("temp") <= 100
assert r.set("greeting", "again", nx=True) is None
assert sorted(r.keys("*")) == ["greeting", "n", "temp"]
assert r.exists("greeting", "nosuch") == 1
assert r.delete("temp", "nosuch") == 1
assert r.dbsize() == 2
assert r.config_get("appendonly") == {"appendonly": "yes"}
assert r.client_setname("py") is True and r.client_getname() == "py"
assert r.info()["redis_version"] == "7.0.0"
assert r.info("keyspace")["db0"]["keys"] == 2
pipe = r.pipeline(transaction=False)
for i in range(100):
    pipe.set(f"p{i}", i)
    pipe.get(f"p{i}")
replies = pipe.execute()
assert replies == [x for i in range(100) for x in (True, str(i))]
try:
    r.execute_command("NOSUCH", "a")
    raise SystemExit("an unknown command must raise")
except redis.ResponseError as e:
    assert str(e).startswith("unknown command 'NOSUCH'"), e
print("redis-py", redis.__version__, "protocol", protocol, "ok")
"#;

/// The virtual environment's Python, if it has redis-py 8 (else a skip, or a
/// failure when the tools are required).
fn redis_py_8() -> Option<String> {
    let python = venv_python();
    tool(&python.to_string_lossy(), &["-c", "import redis; assert redis.__version__[0] == '8'"])
}

async fn redis_py(protocol: &str, password: Option<&[u8]>) {
    let Some(python) = redis_py_8() else { return };
    let server = common::start(|c| c.requirepass = password.map(<[u8]>::to_vec)).await;
    let password = String::from_utf8_lossy(password.unwrap_or_default()).into_owned();
    let args = vec!["-c".into(), REDIS_PY.into(), port(&server), protocol.into(), password];
    let output = run(&python, args, "").await;
    assert!(stdout(&output).contains("ok"), "{}", stdout(&output));
}

// ANCHOR: redis_py_session
/// A session for the book: each statement, then what redis-py returned.
const REDIS_PY_SESSION: &str = r#"
# ANCHOR: redis_py_code
import sys, redis
r = redis.Redis(port=int(sys.argv[1]), decode_responses=True)
for statement in [
    "r.set('greeting', 'hello')",
    "r.get('greeting')",
    "r.incr('visits')",
    "r.set('session', 'alice', ex=60)",
    "r.ttl('session')",
    "r.get('nosuch')",
    "sorted(r.keys('*'))",
    "r.config_get('appendfsync')",
    "r.info('keyspace')",
    "r.connection_pool.get_connection().protocol",
]:
    print(">>>", statement)
    print(repr(eval(statement)))
# ANCHOR_END: redis_py_code
"#;
// ANCHOR_END: redis_py_session

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_session_for_the_book() {
    let Some(python) = redis_py_8() else { return };
    let server = common::start(|_| {}).await;
    let args = vec!["-c".into(), REDIS_PY_SESSION.into(), port(&server)];
    let output = run(&python, args, "").await;
    insta::assert_snapshot!("redis_py_session", stdout(&output));
}

/// redis-py's methods on lists, hashes, sets and sorted sets, each
/// statement followed by what it returned. Sets are sorted: their order is
/// the server's hash table's.
const REDIS_PY_DATA_TYPES: &str = r#"
# ANCHOR: data_types_code
import sys, redis
port, protocol = int(sys.argv[1]), int(sys.argv[2])
r = redis.Redis(port=port, protocol=protocol, decode_responses=True)
r.flushall()
for statement in [
    "r.rpush('queue', 'job1', 'job2')",
    "r.lpush('queue', 'urgent')",
    "r.lrange('queue', 0, -1)",
    "r.lindex('queue', -1)",
    "r.llen('queue')",
    "r.lpop('queue')",
    "r.rpop('queue', 2)",
    "r.exists('queue')",
    "r.hset('user:1', mapping={'name': 'ada', 'born': '1815'})",
    "r.hgetall('user:1')",
    "r.hincrby('user:1', 'visits', 3)",
    "r.hget('user:1', 'visits')",
    "r.hexists('user:1', 'email')",
    "r.hdel('user:1', 'born')",
    "r.hlen('user:1')",
    "r.sadd('tags', 'red', 'green', 'blue')",
    "sorted(r.smembers('tags'))",
    "r.sismember('tags', 'red')",
    "r.scard('tags')",
    "r.sadd('more', 'blue', 'black')",
    "sorted(r.sinter('tags', 'more'))",
    "sorted(r.sunion('tags', 'more'))",
    "r.srem('tags', 'green', 'pink')",
    "r.zadd('board', {'ada': 10, 'grace': 20, 'alan': 15})",
    "r.zrange('board', 0, -1, withscores=True)",
    "r.zrange('board', 0, 1, desc=True)",
    "r.zrange('board', 12, '+inf', byscore=True, withscores=True)",
    "r.zrangebyscore('board', '(10', 20)",
    "r.zscore('board', 'alan')",
    "r.zincrby('board', 7.5, 'ada')",
    "r.zrank('board', 'ada')",
    "r.zcard('board')",
    "r.zadd('board', {'ada': 5}, xx=True, ch=True)",
    "r.zadd('board', {'grace': 1}, gt=True)",
    "r.zrem('board', 'alan')",
    "r.zpopmin('board')",
    "r.zpopmin('board', 5)",
    "r.mset({'a': '1', 'b': '2'})",
    "r.mget('a', 'nosuch', 'b')",
    "r.append('a', '23')",
    "r.strlen('a')",
    "r.getrange('a', 0, 1)",
    "r.setnx('a', 'x')",
    "r.getdel('b')",
    "r.type('user:1'), r.type('tags'), r.type('a'), r.type('nosuch')",
    "r.rename('tags', 'colours')",
    "sorted(r.scan_iter(match='*', count=2))",
]:
    print(">>>", statement)
    try:
        print(repr(eval(statement)))
    except redis.ResponseError as e:
        print("ResponseError:", e)
print(">>> r.lpush('a', 'x')")
try:
    r.lpush('a', 'x')
except redis.ResponseError as e:
    print("ResponseError:", e)
# ANCHOR_END: data_types_code
"#;

// ANCHOR: data_types_agree
/// The script above, under RESP3 and RESP2, against our server and a real
/// redis-server: redis-py must see the same values from both. Under RESP3,
/// `ZRANGE … WITHSCORES` is pairs of a member and a double, `HGETALL` a
/// map, `SMEMBERS` a set; under RESP2 flat arrays and strings that
/// redis-py converts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_sees_the_data_types_as_redis_server_gives_them() {
    let Some(python) = redis_py_8() else { return };
    let Some(redis) = tools::RedisServer::start(&[]) else { return };
    let ours = common::start(|_| {}).await;
    for protocol in ["3", "2"] {
        let session = |port: String| {
            let args = vec!["-c".into(), REDIS_PY_DATA_TYPES.into(), port, protocol.into()];
            run(&python, args, "")
        };
        let theirs = stdout(&session(redis.port.to_string()).await);
        let mine = stdout(&session(port(&ours)).await);
        assert!(theirs.contains("WRONGTYPE"), "the script ran to the end:\n{theirs}");
        assert_eq!(mine, theirs, "RESP{protocol}: our replies are not redis-server's");
        if protocol == "3" {
            insta::assert_snapshot!("redis_py_data_types", mine);
        }
    }
}
// ANCHOR_END: data_types_agree

/// Lesson 2's transcripts of the data types, command by command, against a
/// real redis-server through redis-cli: every reply must be the one lesson
/// 2's REPL printed. Where Redis's answer depends on its hash table (the
/// order of `SMEMBERS`, `SINTER`, `SUNION`) the lines are compared sorted;
/// the replies to `SPOP` (random picks) and `SCAN` (Redis's own cursors)
/// are not compared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lesson_2_data_type_transcripts_agree_with_redis_server() {
    let Some(cli) = tool("redis-cli", &["--version"]) else { return };
    let Some(redis) = tools::RedisServer::start(&[]) else { return };
    let port = redis.port.to_string();
    let snapshots = concat!(env!("CARGO_MANIFEST_DIR"), "/../lesson02-kv/tests/snapshots");
    let unordered = |text: &str| {
        let mut items: Vec<&str> =
            text.lines().map(|l| l.trim_start().split_once(") ").map_or(l, |(_, v)| v)).collect();
        items.sort_unstable();
        items.join("\n")
    };
    let mut compared = 0;
    for name in ["strings", "keyspace", "lists", "hashes", "sets", "sorted_sets"] {
        let snapshot = std::fs::read_to_string(format!("{snapshots}/transcripts__{name}.snap"));
        let snapshot = snapshot.expect("lesson 2's transcript");
        let body = snapshot.splitn(3, "---\n").nth(2).expect("a snapshot header");
        run(&cli, vec!["-p".into(), port.clone(), "FLUSHALL".into()], "").await;
        for block in body.split("kv> ").skip(1) {
            let (command, printed) = block.split_once('\n').expect("a reply");
            let ours: Vec<&str> = printed.lines().filter(|l| !l.starts_with('#')).collect();
            let ours = ours.join("\n");
            let args = vec!["-p".into(), port.clone(), "--no-raw".into()];
            let theirs = stdout(&run(&cli, args, &format!("{command}\n")).await);
            let theirs = theirs.trim_end();
            match command.split(' ').next().unwrap_or_default().to_ascii_uppercase().as_str() {
                "SPOP" | "SCAN" => continue,
                "SMEMBERS" | "SINTER" | "SUNION" => {
                    assert_eq!(unordered(&ours), unordered(theirs), "{name}: {command}");
                }
                _ => assert_eq!(ours, theirs, "{name}: {command}"),
            }
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} replies compared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_with_its_defaults_speaks_resp3() {
    redis_py("default", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_with_resp2() {
    redis_py("2", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_authenticates_with_hello() {
    redis_py("default", Some(b"s3cret")).await;
    redis_py("2", Some(b"s3cret")).await;
}
