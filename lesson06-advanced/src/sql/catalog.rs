//! The catalog and the rows: tables as keys in the transactional store.
//!
//! ```text
//!   00 "sql" 00 "table" 00 name              → the table's schema, as JSON
//!   00 "sql" 00 "row" 00 name 00 key-encoding → a row's values
//!   00 "sql" 00 "index" 00 name 00 index 00 value-encoding key-encoding → the key
//!   00 "sql" 00 "stats" 00 name              → what ANALYZE found, as JSON
//! ```
//!
//! A secondary index's entry is a key: the indexed value's encoding, then
//! the row's primary key's, so that equal values sort by key and every
//! entry is unique; its value is the primary key again, to read back. Finding the rows with a value is a scan of the entries that
//! start with it, then a lookup of each row by its key.
//!
//! A row's key ends with its primary key in lesson 4's order-preserving
//! encoding, so a table's rows sit together in the B+tree, in primary-key
//! order: a scan of the table is a scan of one key range. Everything goes
//! through a [`Transaction`], so `CREATE TABLE` and `DROP TABLE` are
//! transactional too, as in PostgreSQL. The keys are visible to the
//! key-value commands: `SCAN "" ""` shows how SQL's rows are stored.

use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use hashbrown::HashMap;
use lesson01_intro::KeyRange;
use lesson04_indexing::btree::PageStore;

use super::error::{Error, Result, code};
use super::stats::TableStats;
use super::value::{DataType, Value, decode_row, encode_key, encode_row};
use crate::mvcc::Transaction;

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// Whether it is the primary key.
    pub primary_key: bool,
    /// Whether it may be `NULL`.
    pub nullable: bool,
}

/// A table's schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Its secondary indexes.
    #[serde(default)]
    pub indexes: Vec<Index>,
}

/// A secondary index on one column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// The column's index in the table.
    pub column: usize,
}

impl Table {
    /// The primary key's column index.
    pub fn primary_key(&self) -> usize {
        self.columns.iter().position(|c| c.primary_key).expect("checked at CREATE TABLE")
    }

    /// The index of the column called `name`.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c.name == name).ok_or_else(|| {
            Error::new(
                code::UNDEFINED_COLUMN,
                format!("column \"{name}\" of relation \"{}\" does not exist", self.name),
            )
        })
    }

    /// Checks a schema before it is created: one primary key, distinct
    /// column names.
    fn validate(&self) -> Result<()> {
        if self.name.contains('\0') || self.columns.iter().any(|c| c.name.contains('\0')) {
            return Err(Error::new(code::SYNTAX, "names cannot contain a zero byte"));
        }
        for (i, column) in self.columns.iter().enumerate() {
            if self.columns[..i].iter().any(|c| c.name == column.name) {
                return Err(Error::new(
                    "42701",
                    format!("column \"{}\" specified more than once", column.name),
                ));
            }
        }
        match self.columns.iter().filter(|c| c.primary_key).count() {
            1 => Ok(()),
            0 => Err(Error::new(
                code::UNSUPPORTED,
                format!("table \"{}\" needs a PRIMARY KEY column", self.name),
            )),
            _ => Err(Error::new(
                "42P16",
                format!("multiple primary keys for table \"{}\" are not allowed", self.name),
            )),
        }
    }
}

const TABLES: &[u8] = b"\0sql\0table\0";
const ROWS: &[u8] = b"\0sql\0row\0";
const INDEXES: &[u8] = b"\0sql\0index\0";
const STATS: &[u8] = b"\0sql\0stats\0";

/// The prefix of every entry of index `index` on table `table`.
pub fn index_prefix(table: &str, index: &str) -> Vec<u8> {
    [INDEXES, table.as_bytes(), b"\0", index.as_bytes(), b"\0"].concat()
}

// ANCHOR: index_key
/// The entry of index `index` for a row with `value` in the indexed column
/// and primary key `key`.
pub fn index_key(table: &str, index: &str, value: &Value, key: &Value) -> Vec<u8> {
    let mut out = index_prefix(table, index);
    encode_key(value, &mut out);
    encode_key(key, &mut out);
    out
}
// ANCHOR_END: index_key

/// The statistics of table `name`, if it was analyzed.
pub fn stats<S: PageStore>(
    txn: &mut Transaction<S>,
    name: &str,
) -> Result<Option<Arc<TableStats>>> {
    let Some(json) = txn.get(&[STATS, name.as_bytes()].concat())? else { return Ok(None) };
    if let Some(stats) = decoded().stats.get(&json) {
        return Ok(Some(stats.clone()));
    }
    let stats: Arc<TableStats> = Arc::new(
        serde_json::from_slice(&json)
            .map_err(|e| Error::new(code::INTERNAL, format!("statistics do not decode: {e}")))?,
    );
    remember(|d| &mut d.stats, json, stats.clone());
    Ok(Some(stats))
}

// ANCHOR: decoded
/// Schemas and statistics already decoded, by their bytes. The same bytes
/// always decode to the same value, so an entry is never stale, whatever
/// transaction or snapshot read the bytes: a cache keyed by content needs
/// no invalidation. It saves decoding the JSON of each table a query
/// names, and of its statistics, histograms and all: most of the time of
/// a lookup by key, before.
#[derive(Default)]
struct Decoded {
    tables: HashMap<Vec<u8>, Table>,
    stats: HashMap<Vec<u8>, Arc<TableStats>>,
}

/// Entries kept of each kind; past that, the cache starts afresh.
const DECODED: usize = 256;

fn decoded() -> MutexGuard<'static, Decoded> {
    static CACHE: LazyLock<Mutex<Decoded>> = LazyLock::new(Mutex::default);
    // A panic elsewhere cannot leave an entry half made: take it anyway.
    CACHE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn remember<T>(map: impl Fn(&mut Decoded) -> &mut HashMap<Vec<u8>, T>, bytes: Vec<u8>, value: T) {
    let mut cache = decoded();
    let map = map(&mut cache);
    if map.len() >= DECODED {
        map.clear();
    }
    map.insert(bytes, value);
}
// ANCHOR_END: decoded

/// Stores what ANALYZE found for table `name`.
pub fn set_stats<S: PageStore>(txn: &mut Transaction<S>, name: &str, stats: &TableStats) {
    let json = serde_json::to_vec(stats).expect("statistics serialize");
    txn.set([STATS, name.as_bytes()].concat(), json);
}

/// Makes the transaction fail at commit if table `name`'s schema changes
/// meanwhile: a statement that writes rows must not commit beside a
/// `CREATE INDEX` that could not see them (snapshot isolation alone checks
/// only the keys both write).
pub fn guard_schema<S: PageStore>(txn: &mut Transaction<S>, name: &str) {
    let since = txn.snapshot();
    txn.watch(table_key(name), since);
}

/// Makes the transaction fail at commit if any row of table `name`
/// changes meanwhile: for `CREATE INDEX` and `DROP TABLE`, which read every
/// row.
fn guard_rows<S: PageStore>(txn: &mut Transaction<S>, name: &str) {
    let since = txn.snapshot();
    txn.watch_range(KeyRange::prefix(&rows_prefix(name)), since);
}

/// Creates index `name` on `column` of `table`, with an entry for every row.
pub fn create_index<S: PageStore>(
    txn: &mut Transaction<S>,
    table: &mut Table,
    name: &str,
    column: &str,
) -> Result<()> {
    let column = table.column(column)?;
    for other in tables(txn)? {
        // Tables, indexes and each table's primary key (`books_pkey`)
        // share one namespace, as relations do in PostgreSQL.
        let pkey = format!("{}_pkey", other.name);
        if other.name == name || pkey == name || other.indexes.iter().any(|i| i.name == name) {
            return Err(Error::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
    }
    if name.contains('\0') {
        return Err(Error::new(code::SYNTAX, "names cannot contain a zero byte"));
    }
    let key = table.primary_key();
    guard_rows(txn, &table.name);
    for row in scan(txn, table)? {
        txn.set(index_key(&table.name, name, &row[column], &row[key]), encode_row(&row[key..=key]));
    }
    table.indexes.push(Index { name: name.to_string(), column });
    txn.set(table_key(&table.name), serde_json::to_vec(&*table).expect("a schema serializes"));
    Ok(())
}

fn table_key(name: &str) -> Vec<u8> {
    [TABLES, name.as_bytes()].concat()
}

/// The prefix of every row key of table `name`.
pub fn rows_prefix(name: &str) -> Vec<u8> {
    [ROWS, name.as_bytes(), b"\0"].concat()
}

// ANCHOR: row_key
/// The key of the row whose primary key is `key`.
pub fn row_key(table: &str, key: &Value) -> Vec<u8> {
    let mut out = rows_prefix(table);
    encode_key(key, &mut out);
    out
}
// ANCHOR_END: row_key

/// The tables, by name.
pub fn tables<S: PageStore>(txn: &mut Transaction<S>) -> Result<Vec<Table>> {
    txn.scan(KeyRange::prefix(TABLES))?.into_iter().map(|(_, json)| decode_table(json)).collect()
}

fn decode_table(json: Vec<u8>) -> Result<Table> {
    if let Some(table) = decoded().tables.get(&json) {
        return Ok(table.clone());
    }
    let table: Table = serde_json::from_slice(&json).map_err(|e| {
        Error::new(code::INTERNAL, format!("a table's schema does not decode: {e}"))
    })?;
    remember(|d| &mut d.tables, json, table.clone());
    Ok(table)
}

/// The table called `name`, or `None`.
pub fn find<S: PageStore>(txn: &mut Transaction<S>, name: &str) -> Result<Option<Table>> {
    txn.get(&table_key(name))?.map(decode_table).transpose()
}

/// The table called `name`.
pub fn table<S: PageStore>(txn: &mut Transaction<S>, name: &str) -> Result<Table> {
    find(txn, name)?.ok_or_else(|| {
        Error::new(code::UNDEFINED_TABLE, format!("relation \"{name}\" does not exist"))
    })
}

/// Creates `table`.
pub fn create<S: PageStore>(txn: &mut Transaction<S>, table: &Table) -> Result<()> {
    table.validate()?;
    let taken = tables(txn)?.iter().any(|t| {
        t.indexes.iter().any(|i| i.name == table.name) || format!("{}_pkey", t.name) == table.name
    });
    if taken || find(txn, &table.name)?.is_some() {
        return Err(Error::new(
            code::DUPLICATE_TABLE,
            format!("relation \"{}\" already exists", table.name),
        ));
    }
    let json = serde_json::to_vec(table).expect("a schema serializes");
    txn.set(table_key(&table.name), json);
    Ok(())
}

/// Drops the table called `name` and its rows; `false` if there was none.
pub fn drop<S: PageStore>(txn: &mut Transaction<S>, name: &str) -> Result<bool> {
    if find(txn, name)?.is_none() {
        return Ok(false);
    }
    guard_rows(txn, name);
    let prefixes = [rows_prefix(name), [INDEXES, name.as_bytes(), b"\0"].concat()];
    for prefix in prefixes {
        for (key, _) in txn.scan(KeyRange::prefix(&prefix))? {
            txn.delete(&key)?;
        }
    }
    txn.delete(&table_key(name))?;
    txn.delete(&[STATS, name.as_bytes()].concat())?;
    Ok(true)
}

/// Every row of `table`, in primary-key order.
pub fn scan<S: PageStore>(txn: &mut Transaction<S>, table: &Table) -> Result<Vec<Vec<Value>>> {
    let pairs = txn.scan(KeyRange::prefix(&rows_prefix(&table.name)))?;
    pairs.into_iter().map(|(_, bytes)| decode_row(&bytes, table.columns.len())).collect()
}

/// Checks a row against the table's constraints: types (after converting
/// integers for float columns) and `NOT NULL`.
pub fn conform(table: &Table, row: Vec<Value>) -> Result<Vec<Value>> {
    row.into_iter()
        .zip(&table.columns)
        .map(|(value, column)| {
            let value = value.cast_for(column.data_type, &column.name)?;
            if value == Value::Null && !column.nullable {
                return Err(Error::new(
                    code::NOT_NULL,
                    format!(
                        "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                        column.name, table.name
                    ),
                ));
            }
            Ok(value)
        })
        .collect()
}

/// Inserts `row` (already conformed); an error if its primary key exists.
pub fn insert<S: PageStore>(txn: &mut Transaction<S>, table: &Table, row: &[Value]) -> Result<()> {
    let key = row_key(&table.name, &row[table.primary_key()]);
    if txn.get(&key)?.is_some() {
        return Err(Error::new(
            code::UNIQUE,
            format!(
                "duplicate key value violates unique constraint \"{}_pkey\": ({})=({})",
                table.name,
                table.columns[table.primary_key()].name,
                row[table.primary_key()].to_text()
            ),
        ));
    }
    txn.set(key, encode_row(row));
    let pk = &row[table.primary_key()];
    for index in &table.indexes {
        let entry = index_key(&table.name, &index.name, &row[index.column], pk);
        txn.set(entry, encode_row(std::slice::from_ref(pk)));
    }
    Ok(())
}

/// Deletes `row`, and its index entries.
pub fn delete<S: PageStore>(txn: &mut Transaction<S>, table: &Table, row: &[Value]) -> Result<()> {
    let pk = &row[table.primary_key()];
    txn.delete(&row_key(&table.name, pk))?;
    for index in &table.indexes {
        txn.delete(&index_key(&table.name, &index.name, &row[index.column], pk))?;
    }
    Ok(())
}

/// The row whose primary key is `key`, if there is one.
pub fn get<S: PageStore>(
    txn: &mut Transaction<S>,
    table: &Table,
    key: &Value,
) -> Result<Option<Vec<Value>>> {
    txn.get(&row_key(&table.name, key))?
        .map(|bytes| decode_row(&bytes, table.columns.len()))
        .transpose()
}

/// The rows whose primary keys lie in `range` (of encoded keys under the
/// table's prefix), in key order.
pub fn scan_keys<S: PageStore>(
    txn: &mut Transaction<S>,
    table: &Table,
    range: KeyRange,
) -> Result<Vec<Vec<Value>>> {
    let pairs = txn.scan(range)?;
    pairs.into_iter().map(|(_, bytes)| decode_row(&bytes, table.columns.len())).collect()
}
