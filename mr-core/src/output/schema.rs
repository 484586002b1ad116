//! The column types of JSON records, inferred from the data: what a columnar
//! output ([`super::parquet`]) needs, since the engine between the steps only
//! sees encoded JSON.
//!
//! Types form a small lattice: `null` fits any column (every column is
//! nullable); an integer and a float make a float; lists merge their items and
//! objects their fields (a field missing from a record is null there). A
//! top-level column of arrays whose items differ in type (a tuple key such as
//! `["course", 1]`, a Rust `(String, u64)`) is a column of JSON text
//! ([`Ty::Json`]: Parquet's JSON logical type). Any other mix (a string in one
//! record and an object in another, a bool and a number, items of an array
//! nested in an object) is a [`Conflict`] naming the column. Field order is the order of
//! first appearance, so a serde struct's columns come in its field order.
//!
//! ```
//! use mr_core::output::schema::RowType;
//! let mut t = RowType::default();
//! t.observe(br#"{"user": "ann", "n": 1, "tags": ["a"]}"#).unwrap();
//! t.observe(br#"{"user": null, "n": 2.5, "extra": {"x": true}}"#).unwrap();
//! let names: Vec<_> = t.arrow_schema().unwrap().fields().iter().map(|f| f.name().clone()).collect();
//! assert_eq!(names, ["user", "n", "tags", "extra"]);
//! let e = t.observe(br#"{"user": {"first": "ann"}}"#).unwrap_err();
//! assert_eq!(e.to_string(), "column `user` is a string in earlier records and an object here");
//! ```

use crate::ColumnType;
use crate::categorical::ValueCounts;
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::sync::Arc;

/// The type of one JSON value seen so far.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Ty {
    /// Only `null` (or nothing) seen yet.
    #[default]
    Null,
    /// `true` / `false`.
    Bool,
    /// Integers that fit an `i64`, some negative (or declared integers).
    Int,
    /// Integers from 0 up to `i64::MAX`.
    Nat,
    /// [`Ty::Int`], some beyond ±2^53, where a double is no longer exact.
    IntBig,
    /// [`Ty::Nat`], some beyond 2^53.
    NatBig,
    /// Integers from 0 up, some above `i64::MAX`: an unsigned column, so
    /// that `18446744073709551615` stays itself (a double would not).
    UInt,
    /// Integers, some negative and some above `i64::MAX`: a decimal of 20
    /// digits holds both exactly.
    Wide,
    /// Other numbers (and integers mixed with them, none beyond ±2^53: a
    /// column mixing those with other numbers is refused, as a double
    /// would round them).
    Float,
    /// Strings.
    Str,
    /// Declared a time ([`ColumnType::Timestamp`]): integers of
    /// milliseconds since the epoch.
    Timestamp,
    /// Arrays, of the merged type of their items.
    List(Box<Ty>),
    /// Objects: fields in order of first appearance.
    Struct(Vec<(String, Ty)>),
    /// Arrays whose items differ in type (tuples), at the top level of a
    /// row: each stored as its JSON text, in a column of Parquet's JSON
    /// logical type (DuckDB's `JSON`; a string to pandas and Polars).
    Json,
}

impl Ty {
    fn of(t: ColumnType) -> Ty {
        match t {
            ColumnType::Bool => Ty::Bool,
            ColumnType::Int => Ty::Int,
            ColumnType::Float => Ty::Float,
            ColumnType::Str => Ty::Str,
            ColumnType::Timestamp => Ty::Timestamp,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Bool => "a bool",
            Ty::Int | Ty::Nat => "an integer",
            Ty::IntBig | Ty::NatBig => {
                "an integer beyond 2^53, which a float column would round (quote such integers \
                 as strings to keep them exact)"
            }
            Ty::UInt => "an integer above 2^63 - 1",
            Ty::Wide => "an integer of 20 digits",
            Ty::Float => "a float",
            Ty::Str => "a string",
            Ty::Timestamp => "a time (milliseconds since the epoch)",
            Ty::List(_) => "a list",
            Ty::Struct(_) => "an object",
            Ty::Json => "an array of items of different types",
        }
    }

    fn is_integer(&self) -> bool {
        matches!(
            self,
            Ty::Int | Ty::Nat | Ty::IntBig | Ty::NatBig | Ty::UInt | Ty::Wide
        )
    }

    /// Whether an integer column holds values beyond ±2^53, which a double
    /// rounds.
    fn beyond_a_double(&self) -> bool {
        matches!(self, Ty::IntBig | Ty::NatBig | Ty::UInt | Ty::Wide)
    }

    /// The narrowest integer column holding the integers of both.
    fn joined(&self, other: &Ty) -> Ty {
        let negative = |t: &Ty| matches!(t, Ty::Int | Ty::IntBig | Ty::Wide);
        let above_i64 = |t: &Ty| matches!(t, Ty::UInt | Ty::Wide);
        let big = self.beyond_a_double() || other.beyond_a_double();
        match (
            negative(self) || negative(other),
            above_i64(self) || above_i64(other),
        ) {
            (true, true) => Ty::Wide,
            (false, true) => Ty::UInt,
            (true, false) if big => Ty::IntBig,
            (true, false) => Ty::Int,
            (false, false) if big => Ty::NatBig,
            (false, false) => Ty::Nat,
        }
    }

    /// Merges `other` into `self`; `path` names the column for a conflict.
    fn merge(&mut self, other: Ty, path: &str) -> Result<(), Conflict> {
        match (&mut *self, other) {
            (_, Ty::Null) => Ok(()),
            (Ty::Null, o) => {
                *self = o;
                Ok(())
            }
            // Integers: the narrowest column that holds them all exactly.
            (a, b) if a.is_integer() && b.is_integer() => {
                *self = a.joined(&b);
                Ok(())
            }
            // With other numbers, a float column (as DuckDB and Spark infer
            // it), unless an integer there would be rounded: refused then,
            // as an integer beyond 64 bits is (chaining through Parquet
            // turned 2^53 + 1 into 2^53, exit 0: probe
            // /tmp/probe20-downstream repro 02).
            (a, Ty::Float) if a.is_integer() && !a.beyond_a_double() => {
                *self = Ty::Float;
                Ok(())
            }
            (Ty::Float, b) if b.is_integer() && !b.beyond_a_double() => Ok(()),
            (Ty::Timestamp, Ty::Int | Ty::Nat | Ty::IntBig | Ty::NatBig) => Ok(()),
            (Ty::List(a), Ty::List(b)) => a.merge(*b, &format!("{path}[]")),
            (Ty::Json, Ty::List(_) | Ty::Json) => Ok(()),
            (Ty::List(_), Ty::Json) => {
                *self = Ty::Json;
                Ok(())
            }
            (Ty::Struct(a), Ty::Struct(b)) => {
                for (name, t) in b {
                    let sub = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    match a.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, mine)) => mine.merge(t, &sub)?,
                        None => a.push((name, t)),
                    }
                }
                Ok(())
            }
            (a, b) if std::mem::discriminant(a) == std::mem::discriminant(&b) => Ok(()),
            (a, b) => Err(Conflict {
                column: path.to_string(),
                before: a.name(),
                here: b.name(),
            }),
        }
    }

    fn arrow(&self, path: &str) -> Result<DataType, Conflict> {
        Ok(match self {
            // A column never seen with a value: strings of nulls (every
            // reader knows them; Arrow's Null type is not portable).
            Ty::Null | Ty::Str | Ty::Json => DataType::Utf8,
            Ty::Bool => DataType::Boolean,
            Ty::Int | Ty::Nat | Ty::IntBig | Ty::NatBig => DataType::Int64,
            Ty::UInt => DataType::UInt64,
            Ty::Wide => DataType::Decimal128(20, 0),
            Ty::Float => DataType::Float64,
            Ty::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into())),
            Ty::List(t) => DataType::List(Arc::new(Field::new(
                "item",
                t.arrow(&format!("{path}[]"))?,
                true,
            ))),
            Ty::Struct(fields) => {
                if fields.is_empty() {
                    return Err(Conflict {
                        column: path.to_string(),
                        before: "an empty object",
                        here: "an empty object",
                    });
                }
                DataType::Struct(struct_fields(fields, &format!("{path}."))?)
            }
        })
    }
}

fn struct_fields(fields: &[(String, Ty)], prefix: &str) -> Result<Fields, Conflict> {
    fields
        .iter()
        .map(|(n, t)| {
            let f = Field::new(n, t.arrow(&format!("{prefix}{n}"))?, true);
            Ok(match t {
                Ty::Json => f.with_extension_type(arrow_schema::extension::Json::default()),
                _ => f,
            })
        })
        .collect::<Result<Vec<_>, Conflict>>()
        .map(Fields::from)
}

/// The top-level column of `columns` whose arrays hold the conflict `c`
/// (`key[]`, `key[][]`, `key[].a`: items that differ in type), if any and
/// not already JSON text.
fn tuple_column(columns: &[(String, Ty)], c: &Conflict) -> Option<usize> {
    columns.iter().position(|(name, ty)| {
        matches!(ty, Ty::List(_))
            && c.column
                .strip_prefix(name.as_str())
                .is_some_and(|rest| rest.starts_with("[]"))
    })
}

/// Two records disagree on a column's type (or a column cannot be stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The column: `a`, `a.b` for a field of an object, `a[]` for list items.
    pub column: String,
    /// What the column was before.
    pub before: &'static str,
    /// What the record at hand has.
    pub here: &'static str,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.before == self.here {
            write!(
                f,
                "column `{}` is only ever {}, which Parquet cannot store",
                self.column, self.before
            )
        } else {
            write!(
                f,
                "column `{}` is {} in earlier records and {} here",
                self.column, self.before, self.here
            )
        }
    }
}

impl std::error::Error for Conflict {}

/// The type of rows (JSON objects) seen so far: the table's columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowType {
    columns: Vec<(String, Ty)>,
}

impl RowType {
    /// The columns a job declares (see [`crate::Job::columns`]), in order:
    /// the rows' own types are merged into them.
    ///
    /// ```
    /// use mr_core::output::schema::RowType;
    /// use mr_core::ColumnType;
    /// let mut t = RowType::declared(&[("n".into(), ColumnType::Int)]);
    /// t.observe(br#"{"user": "ann", "n": null}"#).unwrap();
    /// let s = t.arrow_schema().unwrap();
    /// assert_eq!(s.field(0).name(), "n");
    /// assert_eq!(s.field(0).data_type(), &arrow_schema::DataType::Int64);
    /// assert!(t.observe(br#"{"n": "seven"}"#).is_err());
    /// ```
    pub fn declared(columns: &[(String, ColumnType)]) -> RowType {
        RowType {
            columns: columns
                .iter()
                .map(|(n, t)| (n.clone(), Ty::of(*t)))
                .collect(),
        }
    }

    /// Gives each top-level column that only held nulls the type
    /// `type_of(name)` says, if any (else it stays a string column).
    ///
    /// ```
    /// use mr_core::output::schema::RowType;
    /// use mr_core::ColumnType;
    /// let mut t = RowType::default();
    /// t.observe(br#"{"score": null, "note": null}"#).unwrap();
    /// t.type_null_columns(&|n: &str| (n == "score").then_some(ColumnType::Float));
    /// let s = t.arrow_schema().unwrap();
    /// assert_eq!(s.field(0).data_type(), &arrow_schema::DataType::Float64);
    /// assert_eq!(s.field(1).data_type(), &arrow_schema::DataType::Utf8);
    /// ```
    pub fn type_null_columns(&mut self, type_of: &dyn Fn(&str) -> Option<ColumnType>) {
        for (name, ty) in &mut self.columns {
            if *ty == Ty::Null
                && let Some(t) = type_of(name)
            {
                *ty = Ty::of(t);
            }
        }
    }

    /// Folds one row (a JSON object's text) into the column types. A
    /// top-level column whose arrays' items differ in type becomes a column
    /// of JSON text ([`Ty::Json`]).
    ///
    /// ```
    /// use mr_core::output::schema::RowType;
    /// let mut t = RowType::default();
    /// t.observe(br#"{"key": ["course", 1], "value": 3}"#).unwrap();
    /// t.observe(br#"{"key": ["course", 2], "value": 1}"#).unwrap();
    /// assert_eq!(t.json_columns(), ["key"]);
    /// assert!(t.observe(br#"{"key": "course"}"#).is_err());
    /// ```
    pub fn observe(&mut self, row: &[u8]) -> Result<(), ObserveError> {
        self.observe_with(row, None)
    }

    /// The names of the columns of JSON text ([`Ty::Json`]), in order.
    pub fn json_columns(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|(_, t)| *t == Ty::Json)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// [`observe`](Self::observe), also counting in `scan` the strings of
    /// its categorical columns (top-level fields), which are typed as the
    /// ids they become: an integer column where a string was, null where
    /// any other value was (counted in [`ValueCounts::not_a_string`]). So
    /// the row type is the one the rows with ids give.
    ///
    /// ```
    /// use mr_core::output::schema::{CategoricalScan, RowType};
    /// let mut t = RowType::default();
    /// let mut scan = CategoricalScan::new(&["user".to_string()]);
    /// t.observe_categorical(br#"{"user": "ann", "n": 1}"#, &mut scan).unwrap();
    /// t.observe_categorical(br#"{"user": {"first": "ann"}, "n": 2}"#, &mut scan).unwrap();
    /// let s = t.arrow_schema().unwrap();
    /// assert_eq!(s.field(0).data_type(), &arrow_schema::DataType::Int64);
    /// let counts = scan.into_counts();
    /// assert_eq!(counts.not_a_string, 1);
    /// assert_eq!(counts.into_dictionary().columns["user"].to_vec(), [("ann".into(), 1)]);
    /// ```
    pub fn observe_categorical(
        &mut self,
        row: &[u8],
        scan: &mut CategoricalScan,
    ) -> Result<(), ObserveError> {
        self.observe_with(row, Some(scan))
    }

    /// [`observe`](Self::observe), counting in `cat` when given: a row read
    /// again (a tuple column found mid-row made JSON text) counts once, a
    /// row that fails not at all.
    fn observe_with(
        &mut self,
        row: &[u8],
        mut cat: Option<&mut CategoricalScan>,
    ) -> Result<(), ObserveError> {
        loop {
            if let Some(cat) = cat.as_deref_mut() {
                cat.forget_row();
            }
            match self.observe_once(row, cat.as_deref_mut()) {
                Err(ObserveError::Conflict(c)) => match tuple_column(&self.columns, &c) {
                    Some(i) => self.columns[i].1 = Ty::Json,
                    None => return Err(ObserveError::Conflict(c)),
                },
                r => {
                    if let (Ok(()), Some(cat)) = (&r, cat) {
                        cat.commit();
                    }
                    return r;
                }
            }
        }
    }

    fn observe_once(
        &mut self,
        row: &[u8],
        cat: Option<&mut CategoricalScan>,
    ) -> Result<(), ObserveError> {
        let mut ctx = Ctx {
            path: String::new(),
            conflict: None,
            cat,
        };
        let mut root = Ty::Struct(std::mem::take(&mut self.columns));
        let mut de = serde_json::Deserializer::from_slice(row);
        let r = Seed {
            ty: &mut root,
            ctx: &mut ctx,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if let Ty::Struct(c) = root {
            self.columns = c;
        }
        match (r, ctx.conflict) {
            (_, Some(c)) => Err(ObserveError::Conflict(c)),
            (Err(e), None) => Err(ObserveError::Json(e.to_string())),
            (Ok(()), None) => Ok(()),
        }
    }

    /// Merges the columns another part saw (same rules as [`Self::observe`]).
    pub fn merge(&mut self, mut other: RowType) -> Result<(), Conflict> {
        loop {
            let mut root = Ty::Struct(self.columns.clone());
            match root.merge(Ty::Struct(other.columns.clone()), "") {
                Ok(()) => {
                    if let Ty::Struct(c) = root {
                        self.columns = c;
                    }
                    return Ok(());
                }
                Err(c) => {
                    // Arrays of one type in a part, of another in the
                    // other: JSON text in both.
                    let name = match tuple_column(&self.columns, &c) {
                        Some(i) => self.columns[i].0.clone(),
                        None => match tuple_column(&other.columns, &c) {
                            Some(i) => other.columns[i].0.clone(),
                            None => return Err(c),
                        },
                    };
                    for (n, t) in self.columns.iter_mut().chain(other.columns.iter_mut()) {
                        if *n == name && matches!(t, Ty::List(_)) {
                            *t = Ty::Json;
                        }
                    }
                }
            }
        }
    }

    /// True when no row had any field.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The Arrow schema: one nullable column a field.
    pub fn arrow_schema(&self) -> Result<Schema, Conflict> {
        Ok(Schema::new(struct_fields(&self.columns, "")?))
    }
}

/// `schema` with the columns whose names equal another column's but for
/// case renamed `NAME_2`, `NAME_3`... (a name no other column has, without
/// case), and the renames made, `(old, new)`. Spark refuses a table with
/// such columns and DuckDB renames them as it reads, each reader its own
/// way: a table keeps them apart under names every reader agrees on. The
/// columns' order and types stay; only top-level names change.
///
/// Which name of such a group stays is the same whatever order the columns
/// came in (the order of the events of the day): the one in lower case,
/// else the first in byte order; the others take their numbers in byte
/// order. So `user_id` stays `user_id` on a day an event also has `user_ID`
/// (before, the first seen stayed: a day whose first such event had
/// `user_ID` wrote the `user_id` column as `user_id_2`, and DuckDB's
/// `union_by_name` read it apart from the other days' `user_id`: probe
/// /tmp/probe9-table repro 02).
///
/// ```
/// use arrow_schema::{DataType, Field, Schema};
/// use mr_core::output::schema::apart_by_case;
/// let f = |n: &str| Field::new(n, DataType::Utf8, true);
/// let s = Schema::new(vec![f("Score"), f("score_2"), f("score"), f("SCORE"), f("Été"), f("été")]);
/// let (apart, renamed) = apart_by_case(&s);
/// let names: Vec<_> = apart.fields().iter().map(|f| f.name().as_str()).collect();
/// assert_eq!(names, ["Score_4", "score_2", "score", "SCORE_3", "Été_2", "été"]);
/// assert_eq!(renamed[0], ("SCORE".to_string(), "SCORE_3".to_string()));
/// ```
pub fn apart_by_case(schema: &Schema) -> (Schema, Vec<(String, String)>) {
    let fold = |n: &str| n.to_lowercase();
    // The names, folded, in the order they choose: the one that stays
    // first (a table can have thousands of columns: each folded once).
    let mut order: Vec<(String, &String)> = schema
        .fields()
        .iter()
        .map(|f| (fold(f.name()), f.name()))
        .collect();
    order.sort_by(|(fa, a), (fb, b)| (fa, *a != fa, a).cmp(&(fb, *b != fb, b)));
    let mut taken: std::collections::HashSet<String> =
        order.iter().map(|(folded, _)| folded.clone()).collect();
    let mut new_names = std::collections::HashMap::new();
    let mut renamed = Vec::new();
    for pair in order.windows(2) {
        let ((folded_before, _), (folded, name)) = (&pair[0], &pair[1]);
        if folded_before != folded || new_names.contains_key(*name) {
            continue;
        }
        let new = (2..)
            .map(|i| format!("{name}_{i}"))
            .find(|n| taken.insert(fold(n)))
            .unwrap_or_default();
        renamed.push(((*name).clone(), new.clone()));
        new_names.insert((*name).clone(), new);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match new_names.get(f.name()) {
            Some(new) => f.as_ref().clone().with_name(new),
            None => f.as_ref().clone(),
        })
        .collect();
    (Schema::new(fields), renamed)
}

/// Why a row could not be observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObserveError {
    /// A type conflict.
    Conflict(Conflict),
    /// Not JSON (or not a single value).
    Json(String),
}

impl fmt::Display for ObserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObserveError::Conflict(c) => c.fmt(f),
            ObserveError::Json(e) => write!(f, "invalid JSON: {e}"),
        }
    }
}

impl std::error::Error for ObserveError {}

/// The largest magnitude below which every integer is exact in a double.
const EXACT_IN_A_DOUBLE: u64 = 1 << 53;

struct Ctx<'s> {
    /// The column being read, for conflicts (`a.b[]`).
    path: String,
    conflict: Option<Conflict>,
    /// The row's categorical values, when a scan counts them.
    cat: Option<&'s mut CategoricalScan>,
}

/// Reads one value straight from the parser into its type (no `Value` tree).
struct Seed<'t, 'c, 's> {
    ty: &'t mut Ty,
    ctx: &'c mut Ctx<'s>,
}

impl Seed<'_, '_, '_> {
    fn scalar<E: de::Error>(self, t: Ty) -> Result<(), E> {
        let path = if self.ctx.path.is_empty() {
            "(the row)"
        } else {
            self.ctx.path.trim_start_matches('.')
        };
        match self.ty.merge(t, path) {
            Ok(()) => Ok(()),
            Err(c) => {
                self.ctx.conflict = Some(c);
                Err(E::custom("type conflict"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar(Ty::Bool)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(match (v < 0, v.unsigned_abs() > EXACT_IN_A_DOUBLE) {
            (true, false) => Ty::Int,
            (true, true) => Ty::IntBig,
            (false, false) => Ty::Nat,
            (false, true) => Ty::NatBig,
        })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(if i64::try_from(v).is_err() {
            Ty::UInt
        } else if v > EXACT_IN_A_DOUBLE {
            Ty::NatBig
        } else {
            Ty::Nat
        })
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar(Ty::Float)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar(Ty::Str)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if *self.ty == Ty::Json {
            while seq.next_element::<de::IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        if !matches!(self.ty, Ty::List(_)) {
            // Checks the kinds (and records a conflict) before reading items.
            Seed {
                ty: &mut *self.ty,
                ctx: &mut *self.ctx,
            }
            .scalar::<A::Error>(Ty::List(Box::new(Ty::Null)))?;
        }
        let Ty::List(item) = self.ty else {
            return Ok(());
        };
        let len = self.ctx.path.len();
        self.ctx.path.push_str("[]");
        while seq
            .next_element_seed(Seed {
                ty: item,
                ctx: &mut *self.ctx,
            })?
            .is_some()
        {}
        self.ctx.path.truncate(len);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if !matches!(self.ty, Ty::Struct(_)) {
            Seed {
                ty: &mut *self.ty,
                ctx: &mut *self.ctx,
            }
            .scalar::<A::Error>(Ty::Struct(Vec::new()))?;
        }
        let Ty::Struct(fields) = self.ty else {
            return Ok(());
        };
        let root = self.ctx.path.is_empty();
        let mut i = 0;
        while let Some(idx) = map.next_key_seed(FieldSeed {
            fields: &mut *fields,
            hint: i,
        })? {
            i = idx + 1;
            let len = self.ctx.path.len();
            self.ctx.path.push('.');
            self.ctx.path.push_str(&fields[idx].0);
            let column = match (root, &mut self.ctx.cat) {
                (true, Some(cat)) => cat.column_of(idx, &fields[idx].0),
                _ => None,
            };
            if let Some(column) = column {
                // A categorical column: its strings are counted, and
                // become ids (integers); any other value, null.
                let is_string = match map.next_value::<CatValue<'de>>()? {
                    CatValue::Str(v) => {
                        if let Some(cat) = &mut self.ctx.cat {
                            cat.text.push_str(&v);
                            cat.found.push((column, cat.text.len()));
                        }
                        true
                    }
                    CatValue::Null => false,
                    CatValue::Other => {
                        if let Some(cat) = &mut self.ctx.cat {
                            cat.not_strings += 1;
                        }
                        false
                    }
                };
                if is_string {
                    Seed {
                        ty: &mut fields[idx].1,
                        ctx: &mut *self.ctx,
                    }
                    .scalar::<A::Error>(Ty::Nat)?;
                }
                self.ctx.path.truncate(len);
                continue;
            }
            map.next_value_seed(Seed {
                ty: &mut fields[idx].1,
                ctx: &mut *self.ctx,
            })?;
            self.ctx.path.truncate(len);
        }
        Ok(())
    }
}

/// The categorical columns of a table's scan ([`RowType::observe_categorical`]):
/// their strings counted, row by row.
pub struct CategoricalScan {
    counts: ValueCounts,
    /// Per top-level field of the row type (by its index there): its
    /// column in `counts`, if categorical; as far as the fields were seen.
    slots: Vec<Option<usize>>,
    /// The row at hand's strings, one after the other, and each one's
    /// column and end in `text`: counted once the row is read whole (a
    /// row read again, its tuple column made JSON text, counts once).
    text: String,
    found: Vec<(usize, usize)>,
    /// The row at hand's values that were not strings (nor null).
    not_strings: u64,
}

impl CategoricalScan {
    /// A scan counting the strings of `columns`. One scan goes with one
    /// [`RowType`] (it knows the fields by their index in it).
    pub fn new(columns: &[String]) -> CategoricalScan {
        CategoricalScan {
            counts: ValueCounts::new(columns),
            slots: Vec::new(),
            text: String::new(),
            found: Vec::new(),
            not_strings: 0,
        }
    }

    /// The counts so far.
    pub fn into_counts(self) -> ValueCounts {
        self.counts
    }

    /// The categorical column of top-level field `idx`, named `name`.
    fn column_of(&mut self, idx: usize, name: &str) -> Option<usize> {
        if let Some(slot) = self.slots.get(idx) {
            return *slot;
        }
        let column = self.counts.column(name);
        if self.slots.len() == idx {
            self.slots.push(column);
        }
        column
    }

    /// Forgets what the row at hand found (it is read again).
    fn forget_row(&mut self) {
        self.text.clear();
        self.found.clear();
        self.not_strings = 0;
    }

    /// Counts the row just read.
    fn commit(&mut self) {
        let mut start = 0;
        for &(column, end) in &self.found {
            self.counts.add(column, &self.text[start..end]);
            start = end;
        }
        self.counts.not_a_string += self.not_strings;
        self.forget_row();
    }
}

/// A value of a categorical column: a string (borrowed unless escaped),
/// null, or anything else (read past).
enum CatValue<'a> {
    Str(std::borrow::Cow<'a, str>),
    Null,
    Other,
}

impl<'de> de::Deserialize<'de> for CatValue<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CatValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CatValue::Str(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CatValue::Str(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CatValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CatValue::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(CatValue::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(CatValue::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(CatValue::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(CatValue::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(CatValue::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(CatValue::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// Finds (or adds) a field by name; records usually list their fields in the
/// same order, so the field after the previous one is tried first.
struct FieldSeed<'f> {
    fields: &'f mut Vec<(String, Ty)>,
    hint: usize,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = usize;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        if self.fields.get(self.hint).is_some_and(|(n, _)| n == name) {
            return Ok(self.hint);
        }
        if let Some(i) = self.fields.iter().position(|(n, _)| n == name) {
            return Ok(i);
        }
        self.fields.push((name.to_string(), Ty::Null));
        Ok(self.fields.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row read twice (its tuple column found mid-row, then made JSON
    /// text) counts its categorical strings once; nested fields of the
    /// column's name are not categorical; a value that is not a string is
    /// counted and typed as null (no conflict with the ids).
    #[test]
    fn a_row_read_again_counts_its_categorical_values_once() {
        let mut t = RowType::default();
        let mut scan = CategoricalScan::new(&["u".to_string()]);
        t.observe_categorical(br#"{"key": ["a", "b"], "u": "ann"}"#, &mut scan)
            .unwrap();
        t.observe_categorical(br#"{"u": "ann", "key": ["c", 1]}"#, &mut scan)
            .unwrap();
        t.observe_categorical(br#"{"u": [1], "o": {"u": "x"}}"#, &mut scan)
            .unwrap();
        assert!(
            t.observe_categorical(br#"{"u": "bob", "o": 3}"#, &mut scan)
                .is_err()
        );
        assert_eq!(t.json_columns(), ["key"]);
        let s = t.arrow_schema().unwrap();
        assert_eq!(s.field(1).data_type(), &DataType::Int64);
        let counts = scan.into_counts();
        assert_eq!(counts.not_a_string, 1);
        let d = counts.into_dictionary();
        // A row that failed counts nothing.
        assert_eq!(d.columns["u"].to_vec(), [("ann".to_string(), 2)]);
    }

    /// The names a column gets apart from others equal but for case do not
    /// depend on the order the columns came in (probe /tmp/probe9-table
    /// repro 02: the first seen kept its name).
    #[test]
    fn names_apart_by_case_whatever_the_order() {
        use arrow_schema::DataType;
        let names = ["user_ID", "user_id", "USER_ID", "x", "User_Id"];
        let apart = |order: &[usize]| {
            let fields: Vec<Field> = order
                .iter()
                .map(|&i| Field::new(names[i], DataType::Utf8, true))
                .collect();
            let (schema, _) = apart_by_case(&Schema::new(fields));
            let mut got: Vec<(String, String)> = order
                .iter()
                .zip(schema.fields())
                .map(|(&i, f)| (names[i].to_string(), f.name().clone()))
                .collect();
            got.sort();
            got
        };
        let first = apart(&[0, 1, 2, 3, 4]);
        for order in [[1, 0, 2, 3, 4], [4, 3, 2, 1, 0], [2, 4, 0, 3, 1]] {
            assert_eq!(apart(&order), first);
        }
        assert!(
            first.contains(&("user_id".into(), "user_id".into())),
            "{first:?}"
        );
        assert!(first.contains(&("x".into(), "x".into())), "{first:?}");
    }

    fn schema(rows: &[&str]) -> Result<Schema, String> {
        let mut t = RowType::default();
        for r in rows {
            t.observe(r.as_bytes()).map_err(|e| e.to_string())?;
        }
        t.arrow_schema().map_err(|e| e.to_string())
    }

    #[test]
    fn types_merge_and_nulls_fit_anything() {
        let s = schema(&[
            r#"{"i": 1, "f": 1, "s": null, "l": [], "o": {"a": 1}}"#,
            r#"{"i": null, "f": 2.5, "s": "x", "l": [1, null], "o": {"b": "y"}, "b": true}"#,
        ])
        .unwrap();
        let t = |n: &str| s.field_with_name(n).unwrap().data_type().clone();
        assert_eq!(t("i"), DataType::Int64);
        assert_eq!(t("f"), DataType::Float64);
        assert_eq!(t("s"), DataType::Utf8);
        assert_eq!(t("b"), DataType::Boolean);
        assert!(matches!(t("l"), DataType::List(f) if f.data_type() == &DataType::Int64));
        let DataType::Struct(o) = t("o") else {
            panic!()
        };
        assert_eq!(o.len(), 2);
        assert!(s.fields().iter().all(|f| f.is_nullable()));
    }

    /// Integers mixed with other numbers make a float column while a
    /// double holds each exactly; one beyond ±2^53 there is refused, in
    /// either order, where it was rounded (probe /tmp/probe20-downstream
    /// repro 02: 9007199254740993 came back 9007199254740992.0). Alone,
    /// such integers keep their integer columns.
    #[test]
    fn integers_a_double_would_round_are_not_mixed_with_floats() {
        let t = |rows: &[&str]| {
            schema(rows).map(|s| s.field_with_name("v").unwrap().data_type().clone())
        };
        let big = r#"{"v": 9007199254740993}"#;
        assert_eq!(
            t(&[r#"{"v": 1.5}"#, r#"{"v": 9007199254740992}"#]).unwrap(),
            DataType::Float64
        );
        assert_eq!(
            t(&[r#"{"v": -9007199254740992}"#, r#"{"v": 0.5}"#]).unwrap(),
            DataType::Float64
        );
        for rows in [
            [r#"{"v": 1.5}"#, big],
            [big, r#"{"v": 1.5}"#],
            [r#"{"v": -9007199254740993}"#, r#"{"v": 1.5}"#],
            [r#"{"v": 18446744073709551615}"#, r#"{"v": 1e3}"#],
        ] {
            let e = t(&rows).unwrap_err();
            assert!(
                e.contains("beyond 2^53") || e.contains("above 2^63"),
                "{rows:?}: {e}"
            );
        }
        assert_eq!(t(&[big, r#"{"v": 1}"#]).unwrap(), DataType::Int64);
        assert_eq!(t(&[r#"{"v": -1}"#, big]).unwrap(), DataType::Int64);
        assert_eq!(
            t(&[big, r#"{"v": 18446744073709551615}"#]).unwrap(),
            DataType::UInt64
        );
        assert_eq!(
            t(&[r#"{"v": -1}"#, big, r#"{"v": 18446744073709551615}"#]).unwrap(),
            DataType::Decimal128(20, 0)
        );
    }

    /// A declared time takes integers (milliseconds) and nulls, is a UTC
    /// TIMESTAMP of milliseconds, and refuses anything else by name.
    #[test]
    fn a_declared_time_is_a_timestamp_of_integers() {
        let mut t = RowType::declared(&[("time".into(), ColumnType::Timestamp)]);
        t.observe(br#"{"time": 1380830400123}"#).unwrap();
        t.observe(br#"{"time": null}"#).unwrap();
        let s = t.arrow_schema().unwrap();
        assert_eq!(
            s.field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()))
        );
        let e = t.observe(br#"{"time": "2013-10-03"}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column `time` is a time (milliseconds since the epoch) in earlier records and a \
             string here"
        );
        // Typed so when a run saw only nulls in it.
        let mut t = RowType::default();
        t.observe(br#"{"time": null}"#).unwrap();
        t.type_null_columns(&|n: &str| (n == "time").then_some(ColumnType::Timestamp));
        assert!(matches!(
            t.arrow_schema().unwrap().field(0).data_type(),
            DataType::Timestamp(TimeUnit::Millisecond, _)
        ));
    }

    #[test]
    fn conflicts_name_the_column() {
        let e = schema(&[r#"{"a": {"b": [1]}}"#, r#"{"a": {"b": ["x"]}}"#]).unwrap_err();
        assert_eq!(
            e,
            "column `a.b[]` is an integer in earlier records and a string here"
        );
        let e = schema(&[r#"{"a": true}"#, r#"{"a": 1}"#]).unwrap_err();
        assert!(e.contains("`a` is a bool"), "{e}");
        let e = schema(&[r#"{"a": {}}"#]).unwrap_err();
        assert!(e.contains("only ever an empty object"), "{e}");
        assert!(schema(&["{\"a\": 1"]).unwrap_err().contains("invalid JSON"));
    }

    #[test]
    fn parts_merge_like_rows() {
        let mut a = RowType::default();
        a.observe(br#"{"x": 1}"#).unwrap();
        let mut b = RowType::default();
        b.observe(br#"{"y": "s", "x": 2.0}"#).unwrap();
        a.merge(b).unwrap();
        let s = a.arrow_schema().unwrap();
        assert_eq!(s.field(0).data_type(), &DataType::Float64);
        assert_eq!(s.field(1).name(), "y");
        let mut c = RowType::default();
        c.observe(br#"{"y": [1]}"#).unwrap();
        assert!(a.merge(c).is_err());
    }

    /// A top-level column of tuples (items of different types) is JSON
    /// text, whether the items differ within one array, from record to
    /// record, or from part to part; nested, it is still a conflict
    /// (pipeline probe /tmp/probe-pipeline repro 04).
    #[test]
    fn tuples_at_the_top_level_are_json_text() {
        let s = schema(&[r#"{"key": ["c", 1], "value": 2}"#, r#"{"key": null}"#]).unwrap();
        let key = s.field(0);
        assert_eq!(key.data_type(), &DataType::Utf8);
        assert_eq!(key.extension_type_name(), Some("arrow.json"));
        assert_eq!(s.field(1).data_type(), &DataType::Int64);
        let s = schema(&[r#"{"t": [1, 2]}"#, r#"{"t": ["a"]}"#, r#"{"t": [[1]]}"#]).unwrap();
        assert_eq!(s.field(0).extension_type_name(), Some("arrow.json"));
        let mut a = RowType::default();
        a.observe(br#"{"k": [1]}"#).unwrap();
        let mut b = RowType::default();
        b.observe(br#"{"k": ["x"], "n": 1}"#).unwrap();
        a.merge(b).unwrap();
        assert_eq!(a.json_columns(), ["k"]);
        let mut c = RowType::default();
        c.observe(br#"{"k": "x"}"#).unwrap();
        let e = a.merge(c).unwrap_err().to_string();
        assert!(
            e.contains("`k` is an array of items of different types"),
            "{e}"
        );
        let e = schema(&[r#"{"a": {"b": [1, "x"]}}"#]).unwrap_err();
        assert_eq!(
            e,
            "column `a.b[]` is an integer in earlier records and a string here"
        );
    }
}
