//! The catalog and the rows: tables as keys in the transactional store.
//!
//! ```text
//!   00 "sql" 00 "table" 00 name              → the table's schema, as JSON
//!   00 "sql" 00 "row" 00 name 00 key-encoding → a row's values
//! ```
//!
//! A row's key ends with its primary key in lesson 4's order-preserving
//! encoding, so a table's rows sit together in the B+tree, in primary-key
//! order: a scan of the table is a scan of one key range. Everything goes
//! through a [`Transaction`], so `CREATE TABLE` and `DROP TABLE` are
//! transactional too, as in PostgreSQL. The keys are visible to the
//! key-value commands: `SCAN "" ""` shows how SQL's rows are stored.

use lesson01_intro::KeyRange;
use lesson04_indexing::btree::PageStore;

use super::error::{Error, Result, code};
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
    txn.scan(KeyRange::prefix(TABLES))?.into_iter().map(|(_, json)| decode_table(&json)).collect()
}

fn decode_table(json: &[u8]) -> Result<Table> {
    serde_json::from_slice(json)
        .map_err(|e| Error::new(code::INTERNAL, format!("a table's schema does not decode: {e}")))
}

/// The table called `name`, or `None`.
pub fn find<S: PageStore>(txn: &mut Transaction<S>, name: &str) -> Result<Option<Table>> {
    txn.get(&table_key(name))?.map(|json| decode_table(&json)).transpose()
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
    if find(txn, &table.name)?.is_some() {
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
    for (key, _) in txn.scan(KeyRange::prefix(&rows_prefix(name)))? {
        txn.delete(&key)?;
    }
    txn.delete(&table_key(name))?;
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
    Ok(())
}

/// Deletes the row whose primary key is `key`.
pub fn delete<S: PageStore>(txn: &mut Transaction<S>, table: &Table, key: &Value) -> Result<()> {
    txn.delete(&row_key(&table.name, key))?;
    Ok(())
}
