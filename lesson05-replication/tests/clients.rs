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
use common::tools::{run, tool, venv_python};

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

async fn redis_py(protocol: &str, password: Option<&[u8]>) {
    let python = venv_python();
    let python = python.to_string_lossy();
    let Some(python) = tool(&python, &["-c", "import redis; assert redis.__version__[0] == '8'"])
    else {
        return;
    };
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
    let python = venv_python();
    let python = python.to_string_lossy();
    let Some(python) = tool(&python, &["-c", "import redis; assert redis.__version__[0] == '8'"])
    else {
        return;
    };
    let server = common::start(|_| {}).await;
    let args = vec!["-c".into(), REDIS_PY_SESSION.into(), port(&server)];
    let output = run(&python, args, "").await;
    insta::assert_snapshot!("redis_py_session", stdout(&output));
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
