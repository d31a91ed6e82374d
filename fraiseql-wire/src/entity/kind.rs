//! How each Rust type sits in a JSON document, and which operators it allows.
//!
//! A field's type implements [`FieldType`], whose `Kind` (text, integer, float, boolean, UUID, list) decides the
//! SQL expression and cast, and which capability traits the kind implements decides the operators. Capabilities
//! are traits of the kind parameterised by the field type, so a misuse reads "fields of type `Vec<String>` cannot
//! be ordered" rather than naming an internal marker. [`Kind`] and the capabilities are sealed: the kinds are
//! fraiseql-wire's, only [`FieldType`] is for other types to implement (through `#[derive(Scalar)]`).

use serde_json::Value;

use super::time::TimeFamily;
use crate::sql::Param;

mod sealed {
    /// Implemented by the kinds of this module only.
    pub trait Sealed {}

    /// Implemented by the field shapes that have capabilities of their own (`Option<T>`, `Vec<T>`) only.
    pub trait Shape {}
    impl<T> Shape for Option<T> {}
    impl<T> Shape for Vec<T> {}
    impl<T> Shape for std::collections::HashMap<String, T> {}
    impl<T> Shape for std::collections::BTreeMap<String, T> {}
}
pub(crate) use sealed::Sealed;
pub(crate) use sealed::Shape;

/// A Rust type that can be a field of an [`Entity`](crate::Entity) or [`Document`](crate::Document).
///
/// Implemented for strings, integers, floats, `bool`, `uuid::Uuid` (feature `uuid`), dates and times (features
/// `chrono`, `time` and `jiff`: see [`time`](super::time)), `Option<T>` and `Vec<T>`;
/// `#[derive(Scalar)]` implements it for a unit-variant enum (compared as its JSON string) or a newtype (compared
/// as its inner type).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of an entity or document",
    label = "not a field type",
    note = "derive `fraiseql_wire::Document` for a nested object, `fraiseql_wire::Scalar` for an enum of unit \
            variants or a newtype, or mark the field `#[entity(skip)]`"
)]
pub trait FieldType {
    /// The comparison family.
    type Kind: Kind;

    /// Whether the value may be missing or null (`Option<T>`).
    const NULLABLE: bool = false;

    /// The value as it appears in the JSON document.
    fn to_json(&self) -> Value;
}

/// A comparison family: how values are cast in SQL and written as parameters.
pub trait Kind: Sealed {
    /// The SQL type values are cast to (`None`: compared as text, uncast).
    const SQL_TYPE: Option<&'static str>;

    /// For dates and times, which SQL date type they are: the SQL then depends on how the field is stored.
    #[doc(hidden)]
    const TIME: Option<TimeFamily> = None;

    /// Whether SQL equality on this kind holds exactly when the document contains the value's JSON (strings,
    /// integers, booleans), so an equality can also be written as a `@>` that a GIN index serves.
    #[doc(hidden)]
    const CONTAINMENT_EXACT: bool = false;

    /// The kind of a JSON array of values of this kind (a list of documents for a document).
    #[doc(hidden)]
    type ListKind: Kind;

    /// The parameter for a JSON value of this kind.
    fn param(value: &Value) -> Param {
        match value {
            Value::Null => Param::NULL,
            Value::String(s) => Param::text(s.as_str()),
            other => Param::text(other.to_string()),
        }
    }
}

/// Text: compared as the `->>` text of the value.
#[derive(Debug)]
pub enum Text {}
/// Integers: compared as `numeric`, exactly as PostgreSQL parses them.
#[derive(Debug)]
pub enum Number {}
/// `f64`: compared as `float8`, the type the field decodes as, so a value read from a row compares equal to
/// that row's (even when its JSON text has more digits than an `f64` keeps).
#[derive(Debug)]
pub enum Double {}
/// `f32`: compared as `real` (`float4`), the type the field decodes as.
#[derive(Debug)]
pub enum Real {}
/// Booleans.
#[derive(Debug)]
pub enum Boolean {}
/// UUIDs, compared as the `uuid` type.
#[derive(Debug)]
pub enum Uuid {}
/// Instants (`chrono::DateTime`, `time::OffsetDateTime`, `jiff::Timestamp`): compared as `timestamptz`.
#[derive(Debug)]
pub enum Timestamp {}
/// Dates with a time of day but no offset (`chrono::NaiveDateTime`, `time::PrimitiveDateTime`,
/// `jiff::civil::DateTime`): compared as
/// `timestamp`.
#[derive(Debug)]
pub enum LocalDateTime {}
/// Calendar dates (`chrono::NaiveDate`, `time::Date`, `jiff::civil::Date`): compared as `date`.
#[derive(Debug)]
pub enum Date {}
/// Free JSON (`serde_json::Value`): read through [`path`](super::Field::path) as jsonpath.
#[derive(Debug)]
pub enum Json {}
/// JSON arrays of a kind.
#[derive(Debug)]
pub struct List<K>(std::marker::PhantomData<K>);

macro_rules! kinds {
    ($($kind:ty => $sql_type:expr),* $(,)?) => {$(
        impl Sealed for $kind {}
        impl Kind for $kind {
            const SQL_TYPE: Option<&'static str> = $sql_type;
            type ListKind = List<$kind>;
        }
    )*};
}
kinds!(Double => Some("float8"), Real => Some("float4"), Uuid => Some("uuid"), Json => Some("jsonb"));

macro_rules! exact_kinds {
    ($($kind:ty => $sql_type:expr),* $(,)?) => {$(
        impl Sealed for $kind {}
        impl Kind for $kind {
            const SQL_TYPE: Option<&'static str> = $sql_type;
            const CONTAINMENT_EXACT: bool = true;
            type ListKind = List<$kind>;
        }
    )*};
}
exact_kinds!(Text => None, Number => Some("numeric"), Boolean => Some("boolean"));

macro_rules! time_kinds {
    ($($kind:ty => $sql_type:literal, $family:ident),* $(,)?) => {$(
        impl Sealed for $kind {}
        impl Kind for $kind {
            const SQL_TYPE: Option<&'static str> = Some($sql_type);
            const TIME: Option<TimeFamily> = Some(TimeFamily::$family);
            type ListKind = List<$kind>;
        }
        impl<T: ?Sized> Equality<T> for $kind {}
        impl<T: ?Sized> Ordered<T> for $kind {}
        impl<T: ?Sized> Range<T> for $kind {}
        impl<T: ?Sized> Temporal<T> for $kind {}
    )*};
}
time_kinds!(Timestamp => "timestamptz", Instant, LocalDateTime => "timestamp", Local, Date => "date", Date);

/// JSON objects with keys of the data's choosing: `HashMap<String, T>` and `BTreeMap<String, T>`.
#[derive(Debug)]
pub enum Map {}

impl Sealed for Map {}
impl Kind for Map {
    const SQL_TYPE: Option<&'static str> = Some("jsonb");
    type ListKind = List<Map>;
}

/// Nested documents of type `D` (`#[derive(Document)]`): their handle is the document's struct of handles.
#[derive(Debug)]
pub struct Object<D>(std::marker::PhantomData<D>);

impl<D> Sealed for Object<D> {}
impl<D> Kind for Object<D> {
    const SQL_TYPE: Option<&'static str> = Some("jsonb");
    type ListKind = Documents<D>;
}

/// JSON arrays of nested documents of type `D`.
#[derive(Debug)]
pub struct Documents<D>(std::marker::PhantomData<D>);

impl<D> Sealed for Documents<D> {}
impl<D> Kind for Documents<D> {
    const SQL_TYPE: Option<&'static str> = Some("jsonb");
    type ListKind = List<Documents<D>>;
}

impl<K: Kind> Sealed for List<K> {}
impl<K: Kind> Kind for List<K> {
    const SQL_TYPE: Option<&'static str> = Some("jsonb");
    type ListKind = List<List<K>>;
}

/// Kinds that support `eq`, `ne`, `in_list` and `not_in`.
#[diagnostic::on_unimplemented(
    message = "fields of type `{T}` cannot be compared for equality",
    note = "eq/ne/in_list/not_in apply to text, numbers, booleans, UUIDs, dates and times; use `contains` for lists"
)]
pub trait Equality<T: ?Sized>: Sealed {}
impl<T: ?Sized> Equality<T> for Text {}
impl<T: ?Sized> Equality<T> for Number {}
impl<T: ?Sized> Equality<T> for Double {}
impl<T: ?Sized> Equality<T> for Real {}
impl<T: ?Sized> Equality<T> for Boolean {}
impl<T: ?Sized> Equality<T> for Uuid {}

/// Kinds that support `lt`, `lte`, `gt`, `gte` and ordering.
#[diagnostic::on_unimplemented(
    message = "fields of type `{T}` cannot be ordered",
    note = "lt/lte/gt/gte/asc/desc apply to text, numbers, UUIDs, dates and times, not to booleans, lists or \
            documents"
)]
pub trait Ordered<T: ?Sized>: Sealed {}
impl<T: ?Sized> Ordered<T> for Text {}
impl<T: ?Sized> Ordered<T> for Number {}
impl<T: ?Sized> Ordered<T> for Double {}
impl<T: ?Sized> Ordered<T> for Real {}
impl<T: ?Sized> Ordered<T> for Uuid {}

/// Kinds that support `between`.
#[diagnostic::on_unimplemented(
    message = "`between` needs a number, date or time field, but this field has type `{T}`",
    note = "use gte/lte for text"
)]
pub trait Range<T: ?Sized>: Sealed {}
impl<T: ?Sized> Range<T> for Number {}
impl<T: ?Sized> Range<T> for Double {}
impl<T: ?Sized> Range<T> for Real {}

/// Kinds that support `starts_with`, `ends_with`, `like` and `ilike` (and `contains` as a substring test).
#[diagnostic::on_unimplemented(
    message = "`{T}` is not a text field",
    note = "starts_with/ends_with/like/ilike apply to text fields (String, text newtypes, unit-variant enums)"
)]
pub trait Textual<T: ?Sized>: Sealed {}
impl<T: ?Sized> Textual<T> for Text {}

/// Kinds stored in one of the ways `#[entity(time = "…")]` names: dates and times.
#[diagnostic::on_unimplemented(
    message = "`time = …` applies to date and time fields, but this field has type `{T}`",
    note = "dates and times are `chrono::DateTime`, `NaiveDateTime`, `NaiveDate`, `time::OffsetDateTime`, \
            `PrimitiveDateTime`, `Date` and jiff's `Timestamp`, `civil::DateTime`, `civil::Date` (with their crate's feature), an `Option` of one or \
            a `Scalar` newtype over one; remove `time` from this field"
)]
pub trait Temporal<T: ?Sized>: Sealed {}

macro_rules! field_types {
    ($kind:ty => $($t:ty),*) => {$(
        impl FieldType for $t {
            type Kind = $kind;
            fn to_json(&self) -> Value {
                Value::from(self.clone())
            }
        }
    )*};
}
field_types!(Text => String);
field_types!(Number => i8, i16, i32, i64, u8, u16, u32, u64);
field_types!(Double => f64);
field_types!(Real => f32);
field_types!(Boolean => bool);

impl FieldType for char {
    type Kind = Text;
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl FieldType for Box<str> {
    type Kind = Text;
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

#[cfg(feature = "uuid")]
impl FieldType for uuid::Uuid {
    type Kind = Uuid;
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl<T: FieldType> FieldType for Option<T> {
    type Kind = T::Kind;
    const NULLABLE: bool = true;
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, FieldType::to_json)
    }
}

impl<T: Element> FieldType for Vec<T> {
    type Kind = T::ListKind;
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(Element::element_json).collect())
    }
}

/// What a `Vec` field can hold: a field type (a list of scalars) or a [`Document`](crate::Document) (a list of
/// documents, implemented by `#[derive(Document)]`).
#[diagnostic::on_unimplemented(
    message = "`Vec<{Self}>` cannot be a field of an entity or document",
    label = "not a list element type",
    note = "a list holds field types (strings, numbers, dates, `Scalar`s) or documents (`#[derive(Document)]`)"
)]
pub trait Element {
    /// The kind of a list of this element.
    type ListKind: Kind;

    /// The element as JSON, when a list of it is compared as a whole (`null` for documents, which never are).
    #[doc(hidden)]
    fn element_json(&self) -> Value;
}

impl<T: FieldType> Element for T {
    type ListKind = <T::Kind as Kind>::ListKind;
    fn element_json(&self) -> Value {
        self.to_json()
    }
}

/// A value that may be compared with a field of type `T`.
///
/// A field accepts values of its own type, of its inner type when it is an `Option`, and `&str` for text fields.
#[diagnostic::on_unimplemented(
    message = "cannot compare a field of type `{T}` with a value of type `{Self}`",
    label = "expected a value of type `{T}`",
    note = "a field takes a value of its own type (of its inner type for an `Option`, or a `&str` for text)"
)]
pub trait Operand<T: ?Sized> {
    /// The value as JSON.
    fn to_json(&self) -> Value;
}

impl<T: FieldType> Operand<T> for T {
    fn to_json(&self) -> Value {
        FieldType::to_json(self)
    }
}

impl<T: FieldType> Operand<Option<T>> for T {
    fn to_json(&self) -> Value {
        FieldType::to_json(self)
    }
}

macro_rules! text_operands {
    ($($t:ty),*) => {$(
        impl Operand<$t> for &str {
            fn to_json(&self) -> Value {
                Value::String((*self).to_owned())
            }
        }
        impl Operand<$t> for &String {
            fn to_json(&self) -> Value {
                Value::String((*self).clone())
            }
        }
    )*};
}
text_operands!(String, Option<String>, Box<str>, Option<Box<str>>);

/// What `contains` means for a field: a substring for text, an element for a list.
#[diagnostic::on_unimplemented(
    message = "`contains` cannot take a value of type `{V}` for a field of type `{T}`",
    note = "on text it takes a `&str` substring; on a `Vec<T>` it takes one element of type `T`; on a list of \
            documents, a reference to any serializable value shaped like part of one element"
)]
pub trait Containing<T: ?Sized, V>: Sealed {
    #[doc(hidden)]
    fn containment(value: &V) -> Containment;
}

#[doc(hidden)]
pub enum Containment {
    Substring(String),
    Element(Value),
    /// The value could not be made into JSON.
    Invalid(String),
}

impl<T: ?Sized, D, P: serde::Serialize> Containing<T, &P> for Documents<D> {
    fn containment(value: &&P) -> Containment {
        match serde_json::to_value(*value) {
            Ok(partial) => Containment::Element(partial),
            Err(error) => Containment::Invalid(format!("the value for `contains` cannot be serialized: {error}")),
        }
    }
}

impl<T: ?Sized, V: AsRef<str>> Containing<T, V> for Text {
    fn containment(value: &V) -> Containment {
        Containment::Substring(value.as_ref().to_owned())
    }
}

impl<T, K, V> Containing<T, V> for List<K>
where
    K: Kind,
    T: ListField + ?Sized,
    V: Operand<T::Element>,
{
    fn containment(value: &V) -> Containment {
        Containment::Element(value.to_json())
    }
}

/// Fields that hold a JSON array: `Vec<T>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list field",
    note = "contains_all/contains_any/is_empty/len_* apply to `Vec<T>` fields"
)]
pub trait ListField: Shape {
    /// The element type.
    type Element: FieldType;
}

impl<T: FieldType> ListField for Vec<T> {
    type Element = T;
}

impl<T: FieldType> ListField for Option<Vec<T>> {
    type Element = T;
}

/// Fields that hold a JSON array of anything: `Vec<T>` of field types or documents.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list field",
    note = "is_empty/len_*/at apply to `Vec<T>` fields"
)]
pub trait Sequence: Shape {
    /// The element type.
    type Item: 'static;

    /// The element at `index`, if there is one.
    #[doc(hidden)]
    fn item(&self, index: usize) -> Option<&Self::Item>;
}

impl<T: Element + 'static> Sequence for Vec<T> {
    type Item = T;
    fn item(&self, index: usize) -> Option<&T> {
        self.get(index)
    }
}

impl<T: Element + 'static> Sequence for Option<Vec<T>> {
    type Item = T;
    fn item(&self, index: usize) -> Option<&T> {
        self.as_ref().and_then(|list| list.get(index))
    }
}

/// Fields that may be missing or JSON `null`: `Option<T>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an `Option`, so it is never null",
    note = "is_null/is_not_null apply to `Option<T>` fields"
)]
pub trait Nullable: Shape {}

impl<T> Nullable for Option<T> {}
