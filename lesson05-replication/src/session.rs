//! One client's session: who it is, which protocol it speaks, whether it
//! has authenticated, and the commands about all that.
//!
//! A request reaches the engine only after the session has had its say:
//! a client that must authenticate and has not gets `-NOAUTH`; the commands
//! of [`SERVER_COMMANDS`] are answered here; a name nobody knows gets
//! Redis's error text.

use std::sync::atomic::Ordering;

use lesson02_kv::command::CommandSpec;
use lesson02_kv::glob;

use crate::command::{self, SERVER_COMMANDS, arity, find, is_write, key_positions};
use crate::engine::Durability;
use crate::frame::{Frame, Protocol};
use crate::server::Shared;

/// What a session knows about its client.
#[derive(Debug)]
pub struct Session {
    /// `CLIENT ID`: unique for the server's life.
    pub id: u64,
    name: Option<Vec<u8>>,
    lib: Option<(Vec<u8>, Vec<u8>)>,
    authenticated: bool,
    /// The protocol replies are encoded in.
    pub protocol: Protocol,
    /// Set by `QUIT`: close once the reply is written.
    pub closing: bool,
    /// Set by `READONLY`: reads may be answered by a replica.
    pub readonly: bool,
}

fn bulk(text: impl Into<Vec<u8>>) -> Frame {
    Frame::Bulk(text.into())
}

fn error(text: impl Into<String>) -> Frame {
    Frame::Error(text.into())
}

impl Session {
    /// A new client's session; it must authenticate if the server has a
    /// password.
    pub fn new(id: u64, needs_auth: bool) -> Self {
        Self {
            id,
            name: None,
            lib: None,
            authenticated: !needs_auth,
            protocol: Protocol::Resp2,
            closing: false,
            readonly: false,
        }
    }

    // ANCHOR: handle
    /// Answers one request, from the session or from the engine.
    pub async fn handle(&mut self, args: Vec<Vec<u8>>, shared: &Shared) -> (Frame, Durability) {
        shared.stats.commands.fetch_add(1, Ordering::Relaxed);
        let name = &args[0][..];
        let allowed_before_auth =
            |n: &[u8]| [&b"AUTH"[..], b"HELLO", b"QUIT"].iter().any(|a| a.eq_ignore_ascii_case(n));
        if !self.authenticated && !allowed_before_auth(name) {
            return (error("NOAUTH Authentication required."), Durability::Done);
        }
        if let Some(spec) = find(SERVER_COMMANDS, name) {
            let given = args.len() - 1;
            if given < spec.min_args || spec.max_args.is_some_and(|max| given > max) {
                return (error(command::wrong_arity(&args[0])), Durability::Done);
            }
            return (self.server_command(spec.name, &args[1..], shared), Durability::Done);
        }
        if name.eq_ignore_ascii_case(b"HELP") {
            // The engine's HELP knows only its own commands; the server's
            // knows the server's too.
            let help =
                lesson02_kv::execute::help(all_specs(shared), args.get(1).map(Vec::as_slice));
            return (help.into(), Durability::Done);
        }
        if find(shared.engine.specs().iter().copied(), name).is_none() {
            return (error(command::unknown_command(&args)), Durability::Done);
        }
        if let Some(member) = &shared.cluster {
            return (member.execute(args, self.readonly).await, Durability::Done);
        }
        let (reply, wait) = shared.engine.execute_async(self.id, args).await;
        (reply.into(), wait)
    }
    // ANCHOR_END: handle

    fn server_command(&mut self, name: &str, args: &[Vec<u8>], shared: &Shared) -> Frame {
        match name {
            "HELLO" => self.hello(args, shared),
            "AUTH" => match args {
                [password] => self.auth(b"default", password, shared),
                [user, password] => self.auth(user, password, shared),
                _ => unreachable!("arity checked"),
            },
            "CLIENT" => self.client(args, shared),
            "SELECT" => match &args[0][..] {
                b"0" => Frame::Simple("OK".into()),
                _ => error("ERR DB index is out of range"),
            },
            "COMMAND" => command_info(args, shared),
            "CONFIG" => config(args, shared),
            "INFO" => {
                let text = info(args, shared);
                if self.protocol == Protocol::Resp3 {
                    Frame::Verbatim(text.into_bytes())
                } else {
                    bulk(text)
                }
            }
            "QUIT" => {
                self.closing = true;
                Frame::Simple("OK".into())
            }
            _ if shared.cluster.is_none() => {
                error("ERR This instance has cluster support disabled")
            }
            "CLUSTER" => shared.cluster.as_ref().expect("checked").cluster_command(args),
            "READONLY" | "READWRITE" => {
                self.readonly = name == "READONLY";
                Frame::Simple("OK".into())
            }
            "ASKING" => Frame::Simple("OK".into()),
            _ => unreachable!("every server command has an arm"),
        }
    }

    /// `AUTH`: Redis 6's users, of which we have one, `default`.
    fn auth(&mut self, user: &[u8], password: &[u8], shared: &Shared) -> Frame {
        match &shared.config.requirepass {
            None => error(
                "ERR AUTH <password> called without any password configured for the default \
                 user. Are you sure your configuration is correct?",
            ),
            Some(expected) if user == b"default" && password == expected.as_slice() => {
                self.authenticated = true;
                Frame::Simple("OK".into())
            }
            Some(_) => error("WRONGPASS invalid username-password pair or user is disabled."),
        }
    }

    // ANCHOR: hello
    /// `HELLO [protover [AUTH user pass] [SETNAME name]]`: switches the
    /// protocol and answers with a map about the server, which RESP3 clients
    /// read first.
    fn hello(&mut self, args: &[Vec<u8>], shared: &Shared) -> Frame {
        let mut protocol = self.protocol;
        if let Some(version) = args.first() {
            protocol = match &version[..] {
                b"2" => Protocol::Resp2,
                b"3" => Protocol::Resp3,
                _ if lesson02_kv::integer::parse(version).is_some() => {
                    return error("NOPROTO unsupported protocol version");
                }
                _ => return error("ERR Protocol version is not an integer or out of range"),
            };
        }
        let mut options = args.iter().skip(1);
        let mut name = None;
        while let Some(option) = options.next() {
            if option.eq_ignore_ascii_case(b"AUTH") {
                let (Some(user), Some(password)) = (options.next(), options.next()) else {
                    return error("ERR Syntax error in HELLO option 'auth'");
                };
                if let Frame::Error(e) = self.auth(user, password, shared) {
                    return Frame::Error(e);
                }
            } else if option.eq_ignore_ascii_case(b"SETNAME") {
                let Some(value) = options.next() else {
                    return error("ERR Syntax error in HELLO option 'setname'");
                };
                name = Some(value.clone());
            } else {
                return error(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(option)
                ));
            }
        }
        if !self.authenticated {
            return error(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise \
                 the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the \
                 client and select the RESP protocol version at the same time",
            );
        }
        if name.is_some() {
            self.name = name;
        }
        self.protocol = protocol;
        Frame::Map(vec![
            (bulk("server"), bulk("redis")),
            (bulk("version"), bulk(REDIS_VERSION)),
            (bulk("proto"), Frame::Integer(if protocol == Protocol::Resp3 { 3 } else { 2 })),
            (bulk("id"), Frame::Integer(self.id as i64)),
            (bulk("mode"), bulk(if shared.cluster.is_some() { "cluster" } else { "standalone" })),
            (
                bulk("role"),
                bulk(match &shared.cluster {
                    Some(member) if member.role() != crate::replica::Role::Leader => "replica",
                    _ => "master",
                }),
            ),
            (bulk("modules"), Frame::Array(vec![])),
        ])
    }
    // ANCHOR_END: hello

    /// `CLIENT ID|GETNAME|SETNAME|SETINFO|LIST`.
    fn client(&mut self, args: &[Vec<u8>], shared: &Shared) -> Frame {
        let sub = args[0].to_ascii_uppercase();
        match (&sub[..], &args[1..]) {
            (b"ID", []) => Frame::Integer(self.id as i64),
            (b"GETNAME", []) => self.name.clone().map_or(Frame::Null, Frame::Bulk),
            (b"SETNAME", [name]) => {
                if name.iter().any(|&b| b <= b' ' || b > b'~') {
                    return error(
                        "ERR Client names cannot contain spaces, newlines or special characters.",
                    );
                }
                self.name = (!name.is_empty()).then(|| name.clone());
                Frame::Simple("OK".into())
            }
            (b"SETINFO", [attribute, value]) => {
                let lib = self.lib.get_or_insert_with(Default::default);
                if attribute.eq_ignore_ascii_case(b"LIB-NAME") {
                    lib.0 = value.clone();
                } else if attribute.eq_ignore_ascii_case(b"LIB-VER") {
                    lib.1 = value.clone();
                } else {
                    return error(format!(
                        "ERR Unrecognized option '{}'",
                        String::from_utf8_lossy(attribute)
                    ));
                }
                Frame::Simple("OK".into())
            }
            (b"LIST", []) => bulk(format!(
                "id={} name={} lib-name={} lib-ver={} resp={} connected={}\n",
                self.id,
                String::from_utf8_lossy(self.name.as_deref().unwrap_or_default()),
                String::from_utf8_lossy(self.lib.as_ref().map_or(&[][..], |l| &l.0)),
                String::from_utf8_lossy(self.lib.as_ref().map_or(&[][..], |l| &l.1)),
                if self.protocol == Protocol::Resp3 { 3 } else { 2 },
                shared.stats.connected.load(Ordering::Relaxed),
            )),
            (b"ID" | b"GETNAME" | b"SETNAME" | b"SETINFO" | b"LIST", _) => {
                error(command::wrong_arity(
                    format!("client|{}", sub.to_ascii_lowercase().escape_ascii()).as_bytes(),
                ))
            }
            _ => error(format!(
                "ERR unknown subcommand '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&args[0])
            )),
        }
    }
}

/// The Redis version we tell clients we are: they pick features by it, and
/// ours are Redis 7.0's (the commands we have behave as 7.0's do).
pub const REDIS_VERSION: &str = "7.0.0";

/// Every command: the engine's and the server's. Where both have one
/// (`INFO`, `QUIT`), the server answers, so the server's is listed.
fn all_specs(shared: &Shared) -> impl Iterator<Item = &'static CommandSpec> + '_ {
    let shadowed = |spec: &&CommandSpec| find(SERVER_COMMANDS, spec.name.as_bytes()).is_none();
    shared.engine.specs().iter().copied().filter(shadowed).chain(SERVER_COMMANDS)
}

// ANCHOR: command_info
/// One command as `COMMAND` describes it: name, arity, flags, first key,
/// last key, step, ACL categories, tips, key specs, subcommands. Cluster
/// clients read the key positions to know which node a command goes to.
fn describe(spec: &CommandSpec) -> Frame {
    let (first, last, step) = key_positions(spec);
    let write = is_write(spec);
    let flags = if write { ["write", "denyoom"] } else { ["readonly", "fast"] };
    let category = if write { "@write" } else { "@read" };
    Frame::Array(vec![
        bulk(spec.name.to_ascii_lowercase()),
        Frame::Integer(arity(spec)),
        Frame::Set(flags.iter().map(|f| Frame::Simple((*f).into())).collect()),
        Frame::Integer(first),
        Frame::Integer(last),
        Frame::Integer(step),
        Frame::Set(vec![Frame::Simple(category.into())]),
        Frame::Array(vec![]),
        Frame::Array(vec![]),
        Frame::Array(vec![]),
    ])
}
// ANCHOR_END: command_info

/// `COMMAND`, `COMMAND COUNT`, `COMMAND INFO name…`, `COMMAND DOCS [name…]`.
fn command_info(args: &[Vec<u8>], shared: &Shared) -> Frame {
    let Some(sub) = args.first() else {
        return Frame::Array(all_specs(shared).map(describe).collect());
    };
    let named = |names: &[Vec<u8>]| -> Vec<&'static CommandSpec> {
        if names.is_empty() {
            all_specs(shared).collect()
        } else {
            names.iter().filter_map(|n| find(all_specs(shared), n)).collect()
        }
    };
    match &sub.to_ascii_uppercase()[..] {
        b"COUNT" => Frame::Integer(all_specs(shared).count() as i64),
        b"INFO" => Frame::Array(
            args[1..]
                .iter()
                .map(|n| find(all_specs(shared), n).map_or(Frame::Null, describe))
                .collect(),
        ),
        b"DOCS" => Frame::Map(
            named(&args[1..])
                .into_iter()
                .map(|spec| {
                    let docs = vec![
                        (bulk("summary"), bulk(spec.summary)),
                        (bulk("since"), bulk("1.0.0")),
                        (
                            bulk("group"),
                            bulk(if spec.args.starts_with("key") { "string" } else { "server" }),
                        ),
                    ];
                    (bulk(spec.name.to_ascii_lowercase()), Frame::Map(docs))
                })
                .collect(),
        ),
        _ => error(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(sub)
        )),
    }
}

/// `CONFIG GET pattern…`: the settings a client may ask about, as Redis
/// names them. `CONFIG SET` is refused: the configuration is the command
/// line's.
fn config(args: &[Vec<u8>], shared: &Shared) -> Frame {
    let sub = args[0].to_ascii_uppercase();
    if sub != b"GET" {
        return error(format!(
            "ERR unknown subcommand '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(&args[0])
        ));
    }
    if args.len() < 2 {
        return error(command::wrong_arity(b"config|get"));
    }
    let config = &shared.config;
    let durable = shared.engine.name() == "durable";
    let settings = [
        ("save", String::new()),
        ("appendonly", if durable { "yes" } else { "no" }.into()),
        ("appendfsync", config.engine.fsync.to_string()),
        ("maxclients", config.max_clients.to_string()),
        ("timeout", config.idle_timeout.map_or(0, |t| t.as_secs()).to_string()),
        ("proto-max-bulk-len", config.limits.max_bulk.to_string()),
        ("client-query-buffer-limit", config.query_buffer_limit.to_string()),
        ("databases", "1".into()),
    ];
    let pairs: Vec<(Frame, Frame)> = settings
        .into_iter()
        .filter(|(name, _)| {
            args[1..].iter().any(|p| glob::matches(&p.to_ascii_lowercase(), name.as_bytes()))
        })
        .map(|(name, value)| (bulk(name), bulk(value)))
        .collect();
    // RESP3 clients expect a map; RESP2 ones the same pairs, flattened, which
    // is what encoding a map under RESP2 does.
    Frame::Map(pairs)
}

// ANCHOR: info
/// `INFO [section…]`: `name:value` lines under `# Section` headings, as
/// Redis writes them; clients such as redis-py parse this text.
fn info(args: &[Vec<u8>], shared: &Shared) -> String {
    let stats = &shared.stats;
    let (engine_info, (keys, expires)) = shared.engine.info();
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed).to_string();
    let mut commit = vec![];
    if let Some(synced) = shared.engine.synced() {
        commit.push(("group_commit_fsyncs".to_string(), synced.fsyncs.to_string()));
    }
    let sections: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "Server",
            vec![
                ("redis_version".into(), REDIS_VERSION.into()),
                (
                    "redis_mode".into(),
                    if shared.cluster.is_some() { "cluster" } else { "standalone" }.into(),
                ),
                ("server_name".into(), "lesson05-replication".into()),
                ("engine".into(), shared.engine.name().into()),
                ("process_id".into(), std::process::id().to_string()),
                ("tcp_port".into(), shared.port.to_string()),
                ("uptime_in_seconds".into(), shared.started.elapsed().as_secs().to_string()),
            ],
        ),
        (
            "Clients",
            vec![
                ("connected_clients".into(), load(&stats.connected)),
                ("maxclients".into(), shared.config.max_clients.to_string()),
            ],
        ),
        ("Persistence", engine_info.into_iter().chain(commit).collect()),
        (
            "Stats",
            vec![
                ("total_connections_received".into(), load(&stats.connections)),
                ("total_commands_processed".into(), load(&stats.commands)),
                ("rejected_connections".into(), load(&stats.rejected)),
                ("protocol_errors".into(), load(&stats.protocol_errors)),
                ("clients_closed_for_limits".into(), load(&stats.closed_for_limits)),
            ],
        ),
        (
            "Cluster",
            vec![("cluster_enabled".into(), u8::from(shared.cluster.is_some()).to_string())],
        ),
        (
            "Keyspace",
            if keys > 0 {
                vec![("db0".into(), format!("keys={keys},expires={expires},avg_ttl=0"))]
            } else {
                vec![]
            },
        ),
    ];
    let wanted = |section: &str| {
        args.is_empty()
            || args.iter().any(|a| {
                a.eq_ignore_ascii_case(section.as_bytes())
                    || [&b"all"[..], b"everything", b"default"]
                        .iter()
                        .any(|all| a.eq_ignore_ascii_case(all))
            })
    };
    let mut text = String::new();
    for (section, fields) in sections.into_iter().filter(|(s, _)| wanted(s)) {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        text.push_str(&format!("# {section}\r\n"));
        for (name, value) in fields {
            // Lesson 3 and 4 name their statistics with spaces; INFO's
            // format has none.
            text.push_str(&format!("{}:{value}\r\n", name.replace(' ', "_")));
        }
    }
    text
}
// ANCHOR_END: info
